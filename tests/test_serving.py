"""A server the whole class shares: the Pretrained box cannot probe or read the disk, nor make the
server fetch or hold more than its limits (``page.serving``, ``vizlib.weights.fetch_hub``).

The hub is replaced at its boundary: ``huggingface_hub``'s ``get_safetensors_metadata``,
``try_to_load_from_cache`` and ``snapshot_download`` answer from a stand-in that serves
``save_pretrained`` folders made here and counts every weight byte it hands out.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import APP, animation, app_with_url, choose_hub, shown
from vizlib import weights as weights_lib
from vizlib.weights import WeightsError

huggingface_hub = pytest.importorskip("huggingface_hub")
pytest.importorskip("transformers")

from tests.test_pretrained import save_model, tiny_hf  # noqa: E402

SMALL = "facebook/dino-vits8"  # a save_pretrained copy of its config, depth 2: 9.9 M parameters
LARGE = "google/vit-large-patch16-224"  # the stand-in reports its real size: 304 M parameters
SWIN = "microsoft/swin-tiny-patch4-window7-224"  # a family the page does not read


class FakeHub:
    """The three ``huggingface_hub`` calls the loader makes, answered from local folders."""

    def __init__(self, root: Path):
        self.root = root
        self.folders: dict[str, Path] = {}  # repo id -> its snapshot folder
        self.parameters: dict[str, int] = {}  # what the metadata endpoint reports
        self.cached: set[str] = set()
        self.fetches: list[str] = []  # one entry per download of a checkpoint's weights
        self.small_files: list[tuple[str, str]] = []  # single small files fetched (config.json)
        self.weight_bytes = 0  # weight bytes handed out
        self.delay = 0.0  # seconds a download takes

    def add(self, repo_id: str, folder: Path | None = None, parameters: int | None = None) -> None:
        if folder is not None:
            from safetensors.torch import load_file

            self.folders[repo_id] = folder
            self.parameters[repo_id] = sum(t.numel() for t in load_file(folder / "model.safetensors").values())
        if parameters is not None:
            self.parameters[repo_id] = parameters

    def get_safetensors_metadata(self, repo_id, **kwargs):
        if repo_id not in self.parameters:
            raise OSError(f"404: {repo_id} not found")  # the real call raises an HTTP error
        count = self.parameters[repo_id]

        class File:
            parameter_count = {"F32": count}

        class Meta:
            sharded = False
            files_metadata = {"model.safetensors": File()}

        return Meta()

    def try_to_load_from_cache(self, repo_id, filename, cache_dir=None, **kwargs):
        if repo_id in self.cached:
            return str(self.folders[repo_id] / filename)
        return None

    def hf_hub_download(self, repo_id, filename, **kwargs):
        if repo_id not in self.folders:
            raise OSError(f"404: {repo_id} not found")
        self.small_files.append((repo_id, filename))
        return str(self.folders[repo_id] / filename)

    def snapshot_download(self, repo_id, local_files_only=False, tqdm_class=None, **kwargs):
        if local_files_only:
            if repo_id not in self.cached:
                raise huggingface_hub.errors.LocalEntryNotFoundError(repo_id)
            return str(self.folders[repo_id])
        if repo_id not in self.folders:
            raise OSError(f"404: {repo_id} not found")
        self.fetches.append(repo_id)
        size = (self.folders[repo_id] / "model.safetensors").stat().st_size
        bar = tqdm_class(total=0, unit="B", desc="Reconstructing (incomplete total...)") if tqdm_class else None
        if bar is not None:
            bar.total = size  # as snapshot_download adds each file's size to its bar
        for _ in range(4):  # the bytes arrive in four parts
            time.sleep(self.delay / 4)
            self.weight_bytes += size // 4
            if bar is not None:
                bar.update(size // 4)
        self.cached.add(repo_id)
        return str(self.folders[repo_id])


@pytest.fixture
def hub(tmp_path, monkeypatch):
    fake = FakeHub(tmp_path)
    save_model(SMALL, tmp_path / "small", seed=1)
    fake.add(SMALL, tmp_path / "small")
    fake.add(LARGE, parameters=304_326_632)
    large = tmp_path / "large"  # its config only: the stand-in never serves its weights
    large.mkdir()
    (large / "config.json").write_text((tmp_path / "small" / "config.json").read_text())
    fake.folders[LARGE] = large
    swin = tmp_path / "swin"  # another family, with weights it must never hand out
    swin.mkdir()
    (swin / "config.json").write_text('{"model_type": "swin", "architectures": ["SwinForImageClassification"]}')
    (swin / "model.safetensors").write_bytes(b"never fetched")
    fake.folders[SWIN], fake.parameters[SWIN] = swin, 28_000_000
    for name in ("get_safetensors_metadata", "try_to_load_from_cache", "snapshot_download", "hf_hub_download"):
        monkeypatch.setattr(huggingface_hub, name, getattr(fake, name))
    monkeypatch.setattr(weights_lib, "hub_reachable", lambda endpoint=None: True)  # the stand-in always answers
    for name in ("VIT_EXPLORER_MODELS_DIR", "VIT_EXPLORER_HUB_ALLOW", "VIT_EXPLORER_PRETRAINED"):
        monkeypatch.delenv(name, raising=False)
    return fake


# ---------------------------------------------------------------- the library: bounded downloads


def test_an_over_limit_checkpoint_is_refused_before_any_weight_byte(hub):
    refused = r"304 M parameters, 1,217 MB in memory; this server loads models up to 400 MB"
    with pytest.raises(WeightsError, match=refused):
        weights_lib.fetch_hub(LARGE, max_bytes=400 * 10**6)
    assert hub.fetches == [] and hub.weight_bytes == 0
    loaded = weights_lib.load_hub(SMALL, max_bytes=400 * 10**6)  # 9.9 M parameters: 40 MB
    assert loaded.source == SMALL and hub.fetches == [SMALL]


def test_another_family_is_refused_from_its_config_before_its_weights(hub):
    with pytest.raises(WeightsError, match=r"SwinForImageClassification \(model_type 'swin'\) is not a family"):
        weights_lib.fetch_hub(SWIN, max_bytes=400 * 10**6)
    assert hub.fetches == [] and hub.weight_bytes == 0 and hub.small_files == [(SWIN, "config.json")]


def test_an_allow_list_admits_only_its_ids(hub):
    with pytest.raises(WeightsError, match="only these hub models: facebook/dino-vits8"):
        weights_lib.fetch_hub("facebook/dino-vits16", allow=frozenset({SMALL}))
    assert hub.fetches == []
    assert weights_lib.load_hub(SMALL, allow=frozenset({SMALL})).model.cfg.patch_size == 8


def test_two_simultaneous_loads_of_one_id_fetch_it_once(hub):
    hub.delay = 0.8
    results, errors = [], []

    def load():
        try:
            results.append(weights_lib.load_hub(SMALL))
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(results) == 3
    assert hub.fetches == [SMALL]  # one download; the others waited and found it in the cache
    size = (hub.folders[SMALL] / "model.safetensors").stat().st_size
    assert hub.weight_bytes == size // 4 * 4


def test_progress_is_reported_in_bytes(hub):
    seen = []
    weights_lib.fetch_hub(SMALL, progress=lambda done, total: seen.append((done, total)))
    size = (hub.folders[SMALL] / "model.safetensors").stat().st_size
    assert len(seen) == 4 and all(total == size for _, total in seen) and seen[-1][0] == size // 4 * 4


def test_a_hub_id_is_judged_by_its_spelling(tmp_path):
    for name in ("/root", "/nonexistent", str(tmp_path), "../etc", "a/b/c", "", "x" * 200):
        with pytest.raises(WeightsError) as err:
            weights_lib.check_hub_id(name)
        assert str(err.value) == "not a hub id like google/vit-base-patch16-224 (owner/name)"
    assert weights_lib.check_hub_id("facebook/dinov2-small") == "facebook/dinov2-small"


# ---------------------------------------------------------------- the page


def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="w_weights").set_value("pretrained").run()
    return at


def load(at: AppTest, name: str) -> str:
    """The message the page shows for ``name`` (empty when it loaded)."""
    choose_hub(at, name)
    at.button(key="load_hub").click().run()
    assert not at.exception
    return shown(at.error[0].value) if at.error else ""


def test_typed_paths_never_reach_the_disk(hub, tmp_path):
    checkpoint = tiny_hf(tmp_path / "elsewhere")  # a valid checkpoint, outside any models folder
    plain = tmp_path / "plain"
    plain.mkdir()
    at = page()
    messages = {name: load(at, name) for name in (str(plain), str(tmp_path / "missing"), str(checkpoint), "/root")}
    for name, message in messages.items():
        assert message == f"Could not load “{name}”: not a hub id like google/vit-base-patch16-224 (owner/name)"
    assert hub.fetches == [] and len(animation(at)["frames"]) == 9  # the random model still runs


def test_only_folders_inside_the_models_folder_load(hub, tmp_path, monkeypatch):
    models = tmp_path / "models"
    tiny_hf(models / "tiny")
    outside = tiny_hf(tmp_path / "outside")
    (models / "link").symlink_to(outside, target_is_directory=True)  # a symbolic link out of it
    monkeypatch.setenv("VIT_EXPLORER_MODELS_DIR", str(models))
    at = page()
    refused = "not a hub id like google/vit-base-patch16-224 (owner/name)"
    for name in ("link", "../outside", str(outside), "tiny/../../outside", str(models)):
        assert load(at, name).endswith(refused), name
    assert load(at, "tiny") == ""
    assert any("pretrained: tiny" in shown(m.value) for m in at.markdown)
    assert load(at, str(models / "tiny")) == ""  # its absolute path inside the folder too


def test_the_page_refuses_an_over_limit_model_naming_its_size(hub):
    at = page()
    message = load(at, LARGE)
    assert "304 M parameters, 1,217 MB in memory" in message and "up to 400 MB" in message
    assert hub.fetches == [] and hub.weight_bytes == 0
    assert load(at, SMALL) == "" and hub.fetches == [SMALL]
    assert any(f"pretrained: {SMALL}" in shown(m.value) for m in at.markdown)


def test_the_page_follows_the_servers_allow_list_and_off_switch(hub, monkeypatch):
    monkeypatch.setenv("VIT_EXPLORER_HUB_ALLOW", f"{SMALL}, someone/else")
    monkeypatch.setenv("VIT_EXPLORER_MAX_MODEL_MB", "100")
    at = page()
    assert "up to 100 MB of parameters" in at.selectbox(key="w_hub_pick").help  # the list says the server's limit
    assert any("This server loads only: `facebook/dino-vits8`, `someone/else`" in c.value for c in at.caption)
    assert at.selectbox(key="w_hub_pick").options == [  # only its ids, and no box to type another
        "facebook/dino-vits8 — DINO attention that outlines objects", "someone/else"]  # fmt: skip
    linked = app_with_url({"weights": "pretrained", "hub": "facebook/dino-vits16"})  # a link can name another
    assert not linked.exception and "only these hub models: facebook/dino-vits8, someone/else" in shown(
        linked.error[0].value)  # fmt: skip
    assert load(at, SMALL) == ""
    monkeypatch.setenv("VIT_EXPLORER_PRETRAINED", "off")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "pretrained" not in at.selectbox(key="w_weights").options and "Pretrained (Hugging Face)" not in (
        at.selectbox(key="w_weights").options)  # fmt: skip


def test_models_in_memory_are_bounded_in_bytes():
    from page import compute, serving

    assert compute._loaded.maxsize == compute._models.maxsize == serving.policy().model_cache_bytes
    assert os.environ.get("VIT_EXPLORER_MODEL_CACHE_MB") or compute._models.maxsize == 1024 * 10**6
    vit = tiny_vit_bytes()
    assert compute.parameter_bytes(vit) == 4 * sum(p.numel() for p in vit.parameters())


def tiny_vit_bytes():
    from vizlib.config import ViTConfig
    from vizlib.model import VisionTransformer

    return VisionTransformer(ViTConfig(img_size=(32, 32), patch_size=8, embed_dim=16, depth=1, num_heads=2))


def test_the_pages_download_thread_shows_progress_while_it_runs(hub):
    from page import serving

    hub.delay = 0.6
    job = serving.Download(SMALL, serving.policy())
    seen = []
    while not job.wait(0.05):
        seen.append((job.done, job.total))
    size = (hub.folders[SMALL] / "model.safetensors").stat().st_size
    assert job.error is None and job.done == size // 4 * 4 and job.total == size
    assert any(0 < done < total for done, total in seen)  # the page saw it part-way
    refused = serving.Download(LARGE, serving.policy())
    while not refused.wait(0.05):
        pass
    assert isinstance(refused.error, WeightsError) and "up to 400 MB" in str(refused.error)
