"""Real hub models one pick away, and no network said at once (issue 24).

The hub list (``page.serving.hub_choices``): the suggested real models the server allows, each with
what it shows, and "another hub id…" where a typed name can load; share links select their entry.
No network (``vizlib.weights.require_hub``): the hub's reachability is checked before any
huggingface_hub request, so the page says so in its language without the library's retries, and
points to the offline real model; a model already in the cache loads without the network.

The hub's endpoint is pointed at loopback ports these tests open or close, or at a name that never
resolves (``.invalid``): nothing leaves the machine.
"""

from __future__ import annotations

import http.server
import re
import socket
import threading
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from page import compute, serving
from tests.test_app import APP, JAPANESE, app_with_url, choose_hub, offline_hub, shown
from vizlib import weights as weights_lib

huggingface_hub = pytest.importorskip("huggingface_hub")
hf_constants = pytest.importorskip("huggingface_hub.constants")

EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Enabled)\b")  # LocalEntryNotFoundError, OfflineModeIsEnabled


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The hub at a closed loopback port, an empty cache, no answer remembered, no model in memory.
    ``hub.point(url)`` moves it; ``hub.connects`` lists every TCP connection tried, ``hub.requests``
    every huggingface_hub call."""
    hub = SimpleNamespace(connects=[], requests=[])
    hub.point = lambda url: monkeypatch.setattr(hf_constants, "ENDPOINT", url)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("VIT_EXPLORER_MODELS_DIR", "VIT_EXPLORER_HUB_ALLOW", "VIT_EXPLORER_PRETRAINED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(weights_lib, "_probed", {})
    compute.clear()  # no model in memory from an earlier test: each must come from the hub or the cache
    connect = socket.create_connection

    def counted(address, *args, **kwargs):
        hub.connects.append(address)
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counted)
    for name in ("hf_hub_download", "get_safetensors_metadata", "snapshot_download"):
        real = getattr(huggingface_hub, name)

        def recorded(*args, _name=name, _real=real, **kwargs):
            hub.requests.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(huggingface_hub, name, recorded)
    hub.point(f"http://127.0.0.1:{closed_port()}")
    return hub


# ---------------------------------------------------------------- the library: no network said at once


@pytest.mark.parametrize("url", ["closed loopback port", "http://hub.invalid"])
def test_no_network_is_said_before_any_hub_request_and_checked_once(hub, url):
    if url.startswith("http"):
        hub.point(url)
    for _ in range(3):  # three students pressing Load
        with pytest.raises(weights_lib.HubError) as err:
            weights_lib.fetch_hub("facebook/dino-vits8")
        assert err.value.code == "hub_unreachable" and err.value.fields["repo_id"] == "facebook/dino-vits8"
    assert err.value.fields["host"] == hf_constants.ENDPOINT.split("//")[1]
    assert "offline, only models already in the Hugging Face cache can be loaded" in str(err.value)
    assert hub.requests == []  # huggingface_hub was never asked, so none of its retries ran
    assert len(hub.connects) == 1  # one check, its answer shared


def test_a_hub_that_accepts_but_never_answers_is_unreachable(hub, monkeypatch):
    monkeypatch.setattr(weights_lib, "HUB_PROBE_SECONDS", 0.3)
    with socket.socket() as server:  # listens (the connection opens), never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        hub.point(f"http://127.0.0.1:{server.getsockname()[1]}")
        for _ in range(3):
            with pytest.raises(weights_lib.HubError) as err:
                weights_lib.fetch_hub("facebook/dino-vits8")
            assert err.value.code == "hub_unreachable"
        server.settimeout(0.5)
        arrived = []
        try:
            while True:
                arrived.append(server.accept()[0])
        except TimeoutError:
            pass
        for connection in arrived:
            connection.close()
    assert len(arrived) == len(hub.connects) == 1 and hub.requests == []  # one check, shared; no retries


def test_a_hub_that_answers_is_checked_once_per_ttl(hub, monkeypatch):
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            self.send_response(404)  # any answer will do: the hub is there
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        hub.point(f"http://127.0.0.1:{server.server_address[1]}")
        assert all(weights_lib.hub_reachable() for _ in range(3))
        monkeypatch.setattr(weights_lib, "HUB_PROBE_TTL", -1.0)  # every answer out of date
        assert weights_lib.hub_reachable()
        server.shutdown()
    assert asked == ["/", "/"]  # the first check, and one after its answer expired


def test_a_switched_off_hub_is_said_without_a_check(hub, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(weights_lib.HubError) as err:
        weights_lib.fetch_hub("facebook/dino-vits8")
    assert err.value.code == "hub_offline" and hub.connects == [] and hub.requests == []


def test_a_model_in_the_cache_loads_with_no_network(hub, tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    offline_hub("facebook/dino-vits8", tmp_path, monkeypatch)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # not switched off: just no network
    loaded = weights_lib.load_hub("facebook/dino-vits8")
    assert loaded.source == "facebook/dino-vits8" and loaded.model.cfg.patch_size == 8
    assert hub.connects == []  # no check: nothing had to be fetched


def test_hub_failures_carry_a_code_and_no_exception_name():
    from huggingface_hub.errors import LocalEntryNotFoundError

    err = weights_lib.hub_failure("someone/model", LocalEntryNotFoundError("connection reset"))
    assert err.code == "hub_unread" and err.fields["repo_id"] == "someone/model"
    assert not EXCEPTION_NAME.search(str(err)) and "connection" in str(err)


def test_the_page_stops_waiting_for_a_download_that_receives_nothing(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(weights_lib, "fetch_hub", lambda *args, **kwargs: release.wait(30))
    job = serving.Download("facebook/dino-vits8", serving.policy(), stall_seconds=0.2)
    waits = 0
    while not job.wait(0.05) and waits < 400:
        waits += 1
    release.set()
    assert isinstance(job.error, weights_lib.HubError) and job.error.code == "hub_slow"


# ---------------------------------------------------------------- the page


def pretrained(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.radio(key="w_lang").set_value(lang).run()
    return at.selectbox(key="w_weights").set_value("pretrained").run()


def test_no_network_is_said_in_japanese_with_the_way_to_the_offline_model(hub):
    at = pretrained("ja")
    at.selectbox(key="w_hub_pick").set_value("facebook/dino-vits8").run()
    at.button(key="load_hub").click().run()
    assert not at.exception
    (error,) = at.error
    text = shown(error.value)
    host = hf_constants.ENDPOINT.split("//")[1]
    assert text.startswith(f"「facebook/dino-vits8」を読み込めませんでした：Hugging Face Hub（{host}）につながらず")
    assert not EXCEPTION_NAME.search(text) and "Could not" not in text and "offline" not in text
    installed = weights_lib.shipped_model_path() is not None
    assert ("オフラインの本物のモデル（DINOv2 ViT-S/14）はネットワークなしで動きます" in text) == installed
    assert any("ランダム初期化" in i.value for i in at.info)  # the page runs on, with random weights
    assert hub.requests == []
    if installed:  # the button under the message switches to it
        at.button(key="hub_use_real").click().run()
        assert not at.exception and not at.error and at.session_state["weights"] == "real"


def test_the_hub_list_suggests_real_models_and_another_id(hub):
    at = pretrained()
    pick = at.selectbox(key="w_hub_pick")
    assert pick.options == [
        "google/vit-base-patch16-224 — ImageNet classes",
        "facebook/dino-vits8 — DINO attention that outlines objects",
        "facebook/deit-small-distilled-patch16-224 — the distillation token",
        "facebook/dinov2-with-registers-small — register tokens",
        "Another hub id…",
    ]
    assert pick.value == "google/vit-base-patch16-224" and not [w for w in at.text_input if w.key == "w_hub_id"]
    assert any("1,000 classes" in c.value for c in at.sidebar.caption)
    choose_hub(at, "facebook/deit-small-distilled-patch16-224")
    assert at.session_state["hub_id"] == "facebook/deit-small-distilled-patch16-224"
    assert any("DIST" in c.value for c in at.sidebar.caption)
    assert at.query_params["hub"] == "facebook/deit-small-distilled-patch16-224"  # the share link carries it
    choose_hub(at, "someone/else")
    assert at.selectbox(key="w_hub_pick").value == serving.OTHER and at.session_state["hub_id"] == "someone/else"
    at.radio(key="w_lang").set_value("ja").run()  # a language switch keeps the typed name and relabels the list
    assert at.text_input(key="w_hub_id").value == "someone/else"
    assert at.selectbox(key="w_hub_pick").options[-1] == "別の Hub ID…"
    assert JAPANESE.search(at.selectbox(key="w_hub_pick").options[0])


@pytest.mark.parametrize(
    ("linked", "picked", "typed"),
    [("facebook/dinov2-with-registers-small", "facebook/dinov2-with-registers-small", None),
     ("someone/else", serving.OTHER, "someone/else")],
)  # fmt: skip
def test_a_share_link_selects_its_model(hub, linked, picked, typed):
    at = app_with_url({"weights": "pretrained", "hub": linked})
    assert not at.exception
    assert at.selectbox(key="w_hub_pick").value == picked
    boxes = [w.value for w in at.text_input if w.key == "w_hub_id"]
    assert boxes == ([typed] if typed else [])
    (error,) = at.error  # the link's model was asked for at once: no network, said at once
    assert f"Could not load “{linked}”: no network to the Hugging Face hub" in shown(error.value)


def test_an_allow_list_offers_only_its_ids(hub, monkeypatch, tmp_path):
    monkeypatch.setenv("VIT_EXPLORER_HUB_ALLOW", "someone/else, facebook/dino-vits8")
    at = app_with_url({"weights": "pretrained", "hub": "google/vit-base-patch16-224"})  # a link to another id
    assert not at.exception
    pick = at.selectbox(key="w_hub_pick")
    assert pick.options == ["facebook/dino-vits8 — DINO attention that outlines objects", "someone/else"]
    assert pick.value == "facebook/dino-vits8" and at.session_state["hub_id"] == "facebook/dino-vits8"
    assert "only these hub models: facebook/dino-vits8, someone/else" in shown(at.error[0].value)
    monkeypatch.setenv("VIT_EXPLORER_MODELS_DIR", str(tmp_path))  # folders of its own: a name may be typed
    at = pretrained()
    assert at.selectbox(key="w_hub_pick").options[-1] == "Another hub id…"
    monkeypatch.setenv("VIT_EXPLORER_HUB_ALLOW", ",")  # no id at all: no list
    monkeypatch.delenv("VIT_EXPLORER_MODELS_DIR")
    at = pretrained()
    assert not at.exception and not [s for s in at.selectbox if s.key == "w_hub_pick"]


def test_hub_choices_follow_the_servers_policy(tmp_path):
    def rules(allow, models_dir=None):
        return serving.Policy(models_dir, allow, True, 400 * 10**6, 10**9)

    assert serving.hub_choices(rules(None)) == [*serving.SUGGESTED, serving.OTHER]
    allowed = frozenset({"x/y", "facebook/dino-vits8", "a/b"})
    assert serving.hub_choices(rules(allowed)) == ["facebook/dino-vits8", "a/b", "x/y"]
    assert serving.hub_choices(rules(allowed, tmp_path)) == ["facebook/dino-vits8", "a/b", "x/y", serving.OTHER]
    assert serving.hub_choices(rules(frozenset())) == []


def test_every_suggestion_and_hub_error_is_in_both_languages():
    from tests.conftest import ROOT
    from vizlib.i18n import load_table

    table = load_table()
    for slug in serving.SUGGESTED.values():
        for key in (f"hub_about_{slug}", f"hub_show_{slug}"):
            assert table[key]["en"] and JAPANESE.search(table[key]["ja"]), key
    source = "".join((ROOT / path).read_text(encoding="utf-8") for path in ("vizlib/weights.py", "page/serving.py"))
    codes = set(re.findall(r'HubError\(\s*"(\w+)"', source))
    assert {"hub_unreachable", "hub_offline", "hub_slow", "hub_unread"} <= codes
    assert all(f"err_{code}" in table and JAPANESE.search(table[f"err_{code}"]["ja"]) for code in codes)


def test_each_hub_error_reads_in_both_languages_with_its_own_fields(hub, monkeypatch):
    from page.ui import explain
    from vizlib.i18n import Translator

    errors = [weights_lib.hub_failure("a/b", OSError("reset")), serving.stalled(20)]
    for offline in (False, True):
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", offline)
        with pytest.raises(weights_lib.HubError) as err:
            weights_lib.require_hub("a/b")
        errors.append(err.value)
    assert [e.code for e in errors] == ["hub_unread", "hub_slow", "hub_unreachable", "hub_offline"]
    for e in errors:  # the table's English is the library's (less its note on the offline model)
        assert explain(Translator("en"), e) == str(e).split("; the offline real model")[0]
        japanese = explain(Translator("ja"), e)
        assert JAPANESE.search(japanese) and ("a/b" in japanese or e.code == "hub_slow"), japanese
