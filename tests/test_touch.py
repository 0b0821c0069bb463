"""On a touch screen a finger dragging over a chart scrolls the page: every 2-D figure the page sends
has plotly's drag gesture off (``dragmode: false``, plotly.js#2844); the 3D view keeps its orbit."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.test_app import APP, all_specs


def test_every_figure_leaves_the_drag_to_the_page():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.session_state["cube3d"] = True
    at.run()
    specs = all_specs(at)
    scenes = [spec["layout"]["scene"] for spec in specs if "scene" in spec["layout"]]
    assert scenes and all(scene.get("dragmode") == "orbit" for scene in scenes)  # the 3D view turns with a drag
    flat = [spec["layout"].get("dragmode") for spec in specs if "scene" not in spec["layout"]]
    assert len(flat) > 10 and all(mode is False for mode in flat), flat
