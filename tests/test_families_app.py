"""Every view of the page with DeiT (CLS + DIST, two heads), DINOv2 and DINOv2 with registers,
loaded by hub id from an offline cache (``save_pretrained`` copies of the real configs, depth 2),
in English and Japanese.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, JAPANESE, VIEWS, choose_hub, open_view, shown, specs

huggingface_hub = pytest.importorskip("huggingface_hub")
pytest.importorskip("transformers")

from tests.test_families import FAMILIES, fill_cache  # noqa: E402

DEIT, DINO, DINO_REG = list(FAMILIES)


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).run()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    for seed, repo_id in enumerate(FAMILIES):
        fill_cache(folder, repo_id, seed)
    return folder


def load(at, repo_id: str, cache, monkeypatch, lang: str = "en"):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    at.radio(key="w_lang").set_value(lang).run()
    at.selectbox(key="w_weights").set_value("pretrained").run()
    choose_hub(at, repo_id)
    at.button(key="load_hub").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def query_widget(at):
    """The query chooser: a radio for CLS / DIST / patch, a selectbox with registers."""
    radios = [r for r in at.radio if r.key == "w_q_kind"]
    return radios[0] if radios else at.selectbox(key="w_q_kind")


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("repo_id", [DEIT, DINO, DINO_REG])
def test_every_view_renders_with_each_family(at, cache, monkeypatch, repo_id, lang):
    load(at, repo_id, cache, monkeypatch, lang)
    for view in VIEWS:
        open_view(at, view)
        assert not at.exception and not at.error, (view, [e.value for e in at.error])
        if lang == "ja":
            assert JAPANESE.search(" ".join(m.value for m in at.markdown)), view
    open_view(at, "attention")
    for toggle in ("w_head_step", "w_encoder"):
        at.toggle(key=toggle).set_value(True).run()
        assert not at.exception and not at.error, toggle
    names = {DEIT: ["cls", "dist", "patch"], DINO: ["cls", "patch"],
             DINO_REG: ["cls", "reg1", "reg2", "reg3", "reg4", "patch"]}[repo_id]  # fmt: skip
    labels = {
        "en": {"cls": "CLS token", "dist": "DIST token", "patch": "A patch", "reg1": "Register 1 (REG1)"},
        "ja": {"cls": "CLS トークン", "dist": "DIST トークン", "patch": "パッチ", "reg1": "レジスタ 1（REG1）"},
    }
    options = list(query_widget(at).options)
    assert len(options) == len(names) and all(options[names.index(n)] == v for n, v in labels[lang].items()
                                              if n in names)  # fmt: skip
    for name in names[1:]:
        query_widget(at).set_value(name).run()
        assert not at.exception and not at.error, name
        name_shown = {"patch": "(0, 0)"}.get(name, name.upper())  # the map's sentence names the query
        assert any(name_shown in m.value for m in at.markdown), name
    at.radio(key="w_mode").set_value("lesson").run()
    for k in range(1, 8):
        assert not at.exception and not at.error, k
        if k < 7:
            at.button(key="lesson_next").click().run()


def test_registers_and_dist_are_named_where_the_user_sees_tokens(at, cache, monkeypatch):
    load(at, DINO_REG, cache, monkeypatch)
    open_view(at, "embedding")
    texts = " ".join(shown(m.value) for m in at.markdown)
    assert "CLS, REG1, REG2, REG3, REG4" in texts and "4 registers" in texts
    (sequence,) = [s for s in specs(at) if any("+ prefix tokens" in str(a.get("text")) for a in s["layout"].get(
        "annotations", []))]  # fmt: skip
    pos = next(tr for tr in sequence["data"] if tr.get("coloraxis") == "coloraxis2")
    z = np.asarray(decode(pos["z"]), dtype=float)
    assert np.isnan(z[1:5]).all() and not np.isnan(z[0]).any() and not np.isnan(z[5:]).any()  # registers: none
    open_view(at, "attention")
    query_widget(at).set_value("reg2").run()
    assert any("Showing where **REG2** looks." in m.value for m in at.markdown)
    at.toggle(key="w_encoder").set_value(True).run()
    (norms,) = [s for s in specs(at) if any(tr.get("name") == "REG4" for tr in s["data"])]
    assert [tr["name"] for tr in norms["data"][:5]] == ["CLS", "REG1", "REG2", "REG3", "REG4"]
    assert json.dumps(at.session_state["q_kind"]) == '"reg2"'


def test_a_register_query_falls_back_to_cls_on_a_model_without_registers(at, cache, monkeypatch):
    load(at, DINO_REG, cache, monkeypatch)
    open_view(at, "attention")
    query_widget(at).set_value("reg3").run()
    choose_hub(at, DEIT)
    at.button(key="load_hub").click().run()
    assert not at.exception and not at.error
    assert at.session_state["q_kind"] == "cls"
    assert any("Showing where **CLS** looks." in m.value for m in at.markdown)


def decode(z):
    """A plotly 6+ typed array ``{"dtype", "bdata", "shape"}`` or a nested list, as numbers."""
    if isinstance(z, dict):
        import base64

        data = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        return data.reshape([int(n) for n in str(z["shape"]).split(",")])
    return np.asarray([[np.nan if v is None else v for v in row] for row in z], dtype=float)
