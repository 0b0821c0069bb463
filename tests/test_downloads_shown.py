"""A download holds what is on the screen, also after a control that reruns only its fragment.

AppTest reruns the whole script on every widget change, which rebuilds the downloads too and so
cannot show the fault. ``fragment_run`` makes its next run a fragment's own rerun, as a browser's
click inside an ``st.fragment`` does: only that function runs, the download buttons keep the
callables of the last full run, and the test calls the one a click would call.
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile

import numpy as np
import pytest
import streamlit.testing.v1.local_script_runner as local_script_runner
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def served(monkeypatch) -> dict:
    """{file name: the callable its download button would call when clicked}, latest registration wins."""
    deferred = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        deferred[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return deferred


def fragment_id(at: AppTest, module: str, name: str) -> str:
    """The id under which the page registered fragment ``module.name`` (AppTest keeps no public map)."""
    for fid, wrapped in at._fragment_storage._fragments.items():
        for cell in wrapped.__closure__ or ():
            func = getattr(cell.cell_contents, "func", cell.cell_contents)  # a partial of the decorated function
            func = getattr(func, "__wrapped__", func)
            if getattr(func, "__module__", "") == module and getattr(func, "__name__", "") == name:
                return fid
    raise AssertionError(f"no fragment {module}.{name} was registered")


def fragment_run(at: AppTest, fid: str, monkeypatch) -> None:
    """Run ``at`` once as fragment ``fid``'s own rerun (what a click inside it does in a browser)."""
    with monkeypatch.context() as m:
        rerun = functools.partial(local_script_runner.RerunData, fragment_id_queue=[fid], is_fragment_scoped_rerun=True)
        m.setattr(local_script_runner, "RerunData", rerun)
        at.run()


def titles(html: bytes) -> list[str]:
    """The titles in a figure's offline HTML."""
    return re.findall(r'"title":\{"text":"([^"]*)"', html.decode())


def deferred(at: AppTest) -> bool:
    """Whether every download button of the last full run builds its file when clicked (a fragment's
    rerun sends none: the browser keeps the buttons it has)."""
    buttons = at.get("download_button")
    return bool(buttons) and all(b.proto.deferred_file_id for b in buttons)


def test_the_html_download_holds_the_head_on_the_screen(served, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["view"] = "attention"
    at.session_state["dl_figure"] = "query_picker"
    at.run()
    assert not at.exception and deferred(at)
    assert titles(served["query_picker.html"]()) == ["block 4, mean of heads"]
    callables = dict(served)
    at.selectbox(key="w_head").set_value(1)
    fragment_run(at, fragment_id(at, "views.attention", "draw"), monkeypatch)
    assert not at.exception and served == callables  # the downloads did not rerun: the buttons keep their callables
    on_screen = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text") for c in at.get("plotly_chart")]
    assert "block 4, head 2" in on_screen
    assert titles(served["query_picker.html"]()) == ["block 4, head 2"]  # what a click serves now


def test_the_tensors_download_holds_the_query_row_on_the_screen(served, monkeypatch):
    # P = 2: 40 × 40 = 1,600 patches, past FULL_ATTENTION_MAX: a trace keeps CLS's row and the query's
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"P": "2", "view": "attention", "q": "0,0"})
    at.run()
    assert not at.exception and not at.error and deferred(at)
    at.number_input(key="w_q_r").set_value(5)
    fragment_run(at, fragment_id(at, "views.attention", "draw"), monkeypatch)
    assert not at.exception and at.session_state["q_r"] == 5
    with zipfile.ZipFile(io.BytesIO(served["vit_tensors.zip"]())) as z:
        rows = np.load(io.BytesIO(z.read("attention_row_ids.npy")))
    assert rows.tolist() == [0, 1 + 5 * 40]  # CLS and patch (5, 0), the query on the screen
