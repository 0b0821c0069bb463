"""A share link opens exactly the view it was copied from: every choice travels in it, or the page
says why it cannot. A choice added to ``page.state.CHOICES`` without a place in the link (or a
reason in ``LOCAL``) fails here."""

from __future__ import annotations

import ast
import json

import pytest
from streamlit.testing.v1 import AppTest

from page import state as S
from page import urlstate
from tests.conftest import ROOT
from vizlib import weights as weights_lib
from vizlib.i18n import LANGUAGES, Translator

APP = str(ROOT / "app.py")
PAGE_FILES = [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py")), *sorted((ROOT / "page").glob("*.py"))]
# Travelling choices the round trips below leave to other tests: a hub id travels only with
# pretrained weights (tests/test_hub_offline.py), an upload's "src=upload" only with no picture
# (tests/test_app.py, test_an_upload_the_server_no_longer_holds_is_said_and_the_rest_kept).
ELSEWHERE = {"hub_id", "source"}


def test_every_choice_travels_or_the_page_says_why_not():
    for name in S.CHOICES:
        assert (name in urlstate.CARRIED) != (name in S.LOCAL), f"{name}: in the link, or in LOCAL with a reason"
    assert urlstate.CARRIED <= set(S.CHOICES) and set(S.LOCAL) <= set(S.CHOICES)
    assert all(len(reason) > 20 for reason in S.LOCAL.values())
    assert set(S.BRIEF) <= urlstate.CARRIED  # left out at their defaults only
    words = {"en": ("upload", "device"), "ja": ("アップロード", "デバイス")}
    for lang in LANGUAGES:  # the sidebar's share caption names what stays behind, in the page's language
        caption = Translator(lang)("share_caption")
        assert all(word in caption for word in words[lang]), caption


def bound_choices() -> set[str]:
    """Every choice a widget of the page shows: ``bind("name")``, ``bind_number("name")``,
    ``ui.number_input(where, label, "name", …)``."""
    found = set(S.NUMBER_RANGES)  # the sidebar's number helper takes its names from here
    for path in PAGE_FILES:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", getattr(call.func, "id", ""))
            if name == "number_input" and getattr(call.func, "value", None) and call.func.value.id != "ui":
                continue  # Streamlit's own: its third argument is a bound
            index = {"bind": 0, "bind_number": 0, "number_input": 2}.get(name)
            if index is not None and len(call.args) > index and isinstance(call.args[index], ast.Constant):
                found.add(call.args[index].value)
    return found


def test_every_widget_shows_a_choice_of_the_page_state():
    assert {"tok_r", "cube3d", "tp_cut", "gae_class", "dl_figure"} <= bound_choices()  # the scan finds them
    assert bound_choices() - set(S.CHOICES) <= set(S.DERIVED), "a widget's choice missing from CHOICES"


def link(at: AppTest) -> dict[str, str]:
    return at.query_params.to_dict() if hasattr(at.query_params, "to_dict") else dict(at.query_params)


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    return at.run()


def specs(at: AppTest) -> str:
    return json.dumps([json.loads(chart.proto.spec) for chart in at.get("plotly_chart")], ensure_ascii=False)


def round_trip(choices: dict, then=None) -> tuple[AppTest, AppTest]:
    """Set ``choices`` (each away from its default) on a page, copy its link, open the link fresh."""
    for name, value in choices.items():
        assert value != S.CHOICES[name], f"{name}: pick a value that is not the default"
    at = AppTest.from_file(APP, default_timeout=120).run()
    for name, value in choices.items():
        at.session_state[name] = value
    at.run()
    if then is not None:
        then(at)
    assert not at.exception and not at.error
    copied = AppTest.from_file(APP, default_timeout=120)
    copied.query_params.update(link(at))
    copied.run()
    assert not copied.exception and not copied.error and not copied.warning  # no notice: every value fitted
    for name in choices:
        assert copied.session_state[name] == at.session_state[name], name
    return at, copied


# The explore view with a 10 × 8 grid of 9-px patches, every view detail away from its default.
EXPLORE = {
    "lang": "ja", "presenter": True, "view": "attention", "preset": "custom", "img_h": 90, "img_w": 72,
    "patch_size": 9, "embed_dim": 64, "depth": 3, "num_heads": 2, "seed": 7, "fit_policy": "stretch", "snap": "pad",
    "sample": "coffee", "layer": 2, "head": 1, "q_kind": "patch", "q_r": 3, "q_c": 5, "step": 17, "cube3d": True,
    "tok_r": 4, "tok_c": 7, "opacity": 0.35, "fusion": "max", "discard": 0.25, "head_step": True, "encoder": True,
    "norm_block": 1, "gae_on": True, "deletion": True, "tp_block": 2, "tp_hide": True, "tp_cut": 0.5,
    "tp_flip": True, "dl_figure": "rollout",
}  # fmt: skip


def second_class(at: AppTest) -> None:
    """The class GAE explains: the second of the top five (the page offers only those)."""
    at.selectbox(key="w_gae_class").select_index(1).run()


def test_every_view_detail_survives_the_trip_through_a_link():
    at, copied = round_trip(EXPLORE, second_class)
    assert copied.session_state["gae_class"] == at.session_state["gae_class"] != S.CHOICES["gae_class"]
    sent = link(at)
    assert sent["tok"] == "4,7" and sent["k"] == "17" and sent["opacity"] == "0.35" and sent["fusion"] == "max"
    assert sent["discard"] == "0.25" and sent["tp_cut"] == "0.5" and sent["fig"] == "rollout"
    shown = specs(copied)
    assert "ブロック 2・ヘッド 2" in shown  # the attention view drawn for block 2, head 2, in Japanese
    copied.session_state["view"] = "embedding"
    copied.run()
    assert any("(4, 7)" in m.value for m in copied.markdown)  # the token chosen, not (0, 0)
    copied.session_state["view"] = "patches"
    copied.run()
    assert copied.slider(key="w_step").value == 17 and copied.toggle(key="w_cube3d").value


def test_defaults_stay_out_of_the_link_and_local_choices_never_enter_it():
    at = AppTest.from_file(APP, default_timeout=120).run()
    sent = link(at)
    assert not {"k", "tok", "opacity", "fusion", "discard", "cube", "fig", "tp_cut"} & set(sent)  # a short address
    assert sent["P"] == "27" and sent["view"] == "patches"
    carried = {name for name, (key, _) in urlstate.FIELDS.items()}
    assert set(sent) <= carried and not any(local in sent for local in S.LOCAL)


@pytest.mark.skipif(not (S.SHAPES_DIR / "config.json").exists(), reason="the shapes checkpoint is not shipped")
def test_the_lesson_step_and_the_training_snapshot_travel():
    steps = weights_lib.snapshot_steps(S.SHAPES_DIR)
    if not steps:
        pytest.skip("the shapes checkpoint has no snapshots")

    def shapes(at: AppTest) -> None:  # as a user picks them: the checkpoint brings its numbers
        at.selectbox(key="w_weights").set_value("shapes").run()

    at, copied = round_trip({"mode": "lesson", "lesson_step": 5, "snapshot": steps[0]}, shapes)
    assert copied.session_state["weights"] == "shapes" and link(at)["snapshot"] == str(steps[0])


def test_every_travelling_choice_is_in_a_round_trip():
    covered = set(EXPLORE) | {"mode", "lesson_step", "weights", "snapshot", "gae_class"} | ELSEWHERE
    assert urlstate.CARRIED <= covered, urlstate.CARRIED - covered


def test_a_link_value_the_model_cannot_show_is_named():
    at = open_link({"view": "embedding", "tok": "5,9", "k": "99"})  # a 3 × 3 grid: 9 windows
    assert not at.exception
    (notice,) = at.warning
    assert "`tok=5,9`" in notice.value and "`2,2`" in notice.value and "`k=99`" in notice.value
    assert (at.session_state["tok_r"], at.session_state["tok_c"], at.session_state["step"]) == (2, 2, 9)
    assert link(at)["tok"] == "2,2"  # the link says what is shown


def test_the_link_names_the_pages_presets_and_weights():
    """The link's lists are the page's: a preset or a kind of weights added on one side only fails here."""
    assert (*S.PRESETS, S.CUSTOM) == urlstate.PRESETS
    assert (S.RANDOM, S.SHAPES, S.REAL, S.PRETRAINED) == urlstate.WEIGHTS
