"""A number typed into an input is taken as typed, or refused with the reason: the field, the link
and the page always show the number in use. (How a browser reads "1e1" or 99999 in a bounded field
is tested in tests/browser/test_number_inputs.py; here the server's side.)"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from page import state as S
from page import ui
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120).run()


def frames(at: AppTest) -> int:
    (fig,) = [s for s in map(json.loads, (c.proto.spec for c in at.get("plotly_chart"))) if s.get("frames")]
    return len(fig["frames"])


def refusal(at: AppTest) -> str:
    (error,) = at.error
    return error.value.replace("\\", "")  # as a reader sees it (``ui.plain`` escapes punctuation)


@pytest.mark.parametrize("typed, shown", [(99999, "99999"), (-0.0, "-0"), (0, "0"), (2.5, "2.5"), (1e20, "1e+20")])
def test_a_patch_size_out_of_range_is_refused_and_the_field_keeps_the_one_in_use(at, typed, shown):
    at.number_input(key="w_patch_size").set_value(typed).run()
    assert not at.exception
    said = refusal(at)
    assert said == f"Patch size P = {shown} was not taken, and stays 27: it must be a whole number from 1 to 4,096."
    assert at.number_input(key="w_patch_size").value == 27 and at.query_params["P"] == "27"
    assert frames(at) == 9  # the page still runs P = 27
    at.run()
    assert not at.error  # said once


def test_numbers_that_cannot_build_a_vit_are_refused_with_the_reason(at):
    at.number_input(key="w_embed_dim").set_value(130).run()
    assert "Dim D = 130 was not taken, and stays 128: embedding dim 130 must be divisible by the number of heads 4" in (
        refusal(at)
    )
    assert at.number_input(key="w_embed_dim").value == 128 and at.query_params["D"] == "128"
    at.number_input(key="w_patch_size").set_value(9).run()  # a number that fits is taken at once
    assert not at.error and at.query_params["P"] == "9" and frames(at) == 81


def test_a_seed_is_a_whole_number_and_minus_zero_is_zero(at):
    at.number_input(key="w_seed").set_value(10.0).run()  # what a browser sends for "1e1" in a decimal field
    assert not at.error and at.session_state["seed"] == 10 and at.query_params["seed"] == "10"
    at.number_input(key="w_seed").set_value(2.5).run()
    assert "Seed = 2.5 was not taken, and stays 10" in refusal(at)
    assert at.number_input(key="w_seed").value == 10
    at.number_input(key="w_seed").set_value(-0.0).run()
    assert not at.error and at.session_state["seed"] == 0 and at.query_params["seed"] == "0"


def test_a_token_outside_the_grid_is_refused_in_the_page_language(at):
    at.radio(key="w_lang").set_value("ja").run()
    at.session_state["view"] = "embedding"
    at.run()
    at.number_input(key="w_tok_r").set_value(99).run()
    assert not at.exception and "99 は使えないため、0 のままです：0 から 2 までの整数にしてください" in refusal(at)
    assert at.number_input(key="w_tok_r").value == 0 and "tok" not in at.query_params
    at.number_input(key="w_tok_r").set_value(2).run()
    assert not at.error and at.query_params["tok"] == "2,0"


def test_typed_numbers_are_shown_as_typed():
    assert [ui.typed_number(v) for v in (99999.0, -0.0, 2.5, 1e20, 4096.0, None)] == [
        "99999", "-0", "2.5", "1e+20", "4096", "—"]  # fmt: skip
    assert S.number_problem(27.0, 1, 4096) is None and S.number_problem(-0.0, 0, 9) is None
    assert S.number_problem(-0.0, 1, 9)[0] == S.number_problem(float("nan"), 1, 9)[0] == "number_range"
