"""Share links: every setting survives the trip through a URL; garbage falls back with a reason."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from page import urlstate
from page.urlstate import Problem

SAMPLES = ("chelsea", "coffee")
FULL = {
    "lang": "ja", "mode": "lesson", "view": "paper", "lesson_step": 5, "presenter": True, "source": "upload",
    "preset": "custom", "img_h": 120, "img_w": 96, "patch_size": 12, "embed_dim": 64, "depth": 2, "num_heads": 4,
    "seed": 7, "fit_policy": "letterbox", "snap": "pad", "weights": "pretrained", "hub_id": "facebook/dino-vits8",
    "sample": "coffee", "layer": 2, "head": 3, "q_kind": "patch", "q_r": 4, "q_c": 1, "snapshot": 200, "step": 17,
    "cube3d": True, "tok_r": 4, "tok_c": 7, "opacity": 0.35, "fusion": "max", "discard": 0.25, "head_step": True,
    "encoder": True, "norm_block": 0, "gae_on": True, "gae_class": 3, "deletion": False, "tp_block": 2,
    "tp_hide": True, "tp_cut": -0.5, "tp_flip": True, "dl_figure": "rollout",
}  # fmt: skip
DEFAULTS = {"img_h": 81, "img_w": 81, "patch_size": 27, "embed_dim": 128, "depth": 4, "num_heads": 4}


def test_a_whole_state_survives_the_round_trip():
    assert set(FULL) == urlstate.CARRIED  # every choice a link carries is in this state
    params = urlstate.encode(FULL)
    assert params["P"] == "12" and params["q"] == "4,1" and params["head"] == "4" and params["presenter"] == "1"
    assert params["tok"] == "4,7" and params["k"] == "17" and params["opacity"] == "0.35" and params["tp_cut"] == "-0.5"
    assert params["cube"] == "1" and params["deletion"] == "0" and params["norms"] == "0" and params["fig"] == "rollout"
    state, problems = urlstate.parse(params, SAMPLES)
    assert problems == [] and state == FULL
    assert urlstate.encode(state) == params


def test_mean_head_and_cls_query():
    params = urlstate.encode({"head": "mean", "q_kind": "cls", "q_r": 3, "q_c": 3})
    assert params == {"head": "mean", "q": "cls"}
    assert urlstate.parse(params)[0] == {"head": "mean", "q_kind": "cls", "q_r": 0, "q_c": 0}


def test_prefix_token_queries_travel_by_name():
    for kind in ("dist", "reg1", "reg4", "reg64"):
        params = urlstate.encode({"q_kind": kind, "q_r": 2, "q_c": 2})
        assert params == {"q": kind}
        assert urlstate.parse(params)[0] == {"q_kind": kind, "q_r": 0, "q_c": 0}
    for bad in ("reg0", "reg65", "REG1", "reg", "dist1"):
        state, problems = urlstate.parse({"q": bad})
        assert "q_kind" not in state and [p.name for p in problems] == ["q"], bad


def test_garbage_is_dropped_with_a_reason_and_the_rest_is_kept():
    params = {"P": "9", "D": "lots", "heads": "0", "lang": "fr", "fit": "zoom", "sample": "../../etc/passwd",
              "hub": "http://evil/x", "q": "1;2", "presenter": "yes", "colour": "red", "step": "8"}  # fmt: skip
    state, problems = urlstate.parse(params, SAMPLES)
    assert state == {"patch_size": 9}
    reasons = {p.name: p.reason for p in problems}
    assert reasons.pop("colour") == "unknown"
    assert set(reasons.values()) == {"invalid"} and len(reasons) == 9


def test_view_details_refuse_what_their_controls_cannot_show():
    params = {"opacity": "0.33", "discard": "0.96", "tp_cut": "nan", "fusion": "median", "tok": "4", "k": "0",
              "cube": "true", "fig": "secrets", "snapshot": "-1", "class": "x", "tp": "65", "norms": "-1"}  # fmt: skip
    state, problems = urlstate.parse(params)
    assert state == {} and sorted(p.name for p in problems) == sorted(params)
    assert urlstate.parse({"opacity": "0.30000000000000004", "tp_cut": "-2"})[0] == {"opacity": 0.3, "tp_cut": -2.0}


def test_a_repeated_name_keeps_the_last_value():
    assert urlstate.parse({"P": ["9", "16"]})[0] == {"patch_size": 16}


def test_numbers_that_cannot_build_a_vit_fall_back_together():
    state = {"embed_dim": 130, "seed": 3}  # 130 is not divisible by the default 4 heads
    problem = urlstate.check_numbers(state, DEFAULTS)
    assert problem is not None and problem.reason == "no_vit" and "divisible" in problem.value
    assert state == {"seed": 3}
    past_cap = {"img_h": 4096, "img_w": 4096, "patch_size": 1}
    assert urlstate.check_numbers(past_cap, DEFAULTS).reason == "no_vit" and past_cap == {}
    fine = {"patch_size": 9}
    assert urlstate.check_numbers(fine, DEFAULTS) is None and fine == {"patch_size": 9}


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=8))
def test_any_query_string_parses_without_raising(params):
    state, problems = urlstate.parse(params, SAMPLES)
    assert all(isinstance(p, Problem) for p in problems)
    assert len(problems) + len({k for k in params if k in urlstate.FIELDS}) >= len(params)
    urlstate.check_numbers(state, DEFAULTS)  # never raises either
