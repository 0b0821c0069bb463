"""What anyone who can reach the page may make the server load, set by the person who runs it.

The *Pretrained* box takes a typed name from whoever uses the page. On a shared server that name
must never reach the disk or the network unchecked:

- A typed name is a hub id, decided from the string alone: the page never looks on the disk for
  it, so an existing folder and a missing one get the same refusal. Local folders load only from
  the models folder the server names (``VIT_EXPLORER_MODELS_DIR``), resolved (no ``..``, no
  symbolic link out of it).
- A hub download is checked before any weight byte is fetched (``vizlib.weights.fetch_hub``):
  at most ``VIT_EXPLORER_MAX_MODEL_MB`` of float32 parameters (default 400 MB: a ViT-B/16 is
  346 MB), only the ids of ``VIT_EXPLORER_HUB_ALLOW`` when it is set, one download per id at a
  time; the page shows its progress.
- ``VIT_EXPLORER_PRETRAINED=off`` removes the *Pretrained* choice (hub, folders and uploaded
  weights) altogether.
- The box lists a few real models (``SUGGESTED``) the server allows, and *another hub id* only
  where a typed name can load (no allow-list, or a models folder); ``hub_choices``.
- No network: the hub's reachability is checked before any request (``vizlib.weights.require_hub``,
  a few seconds at most), and the page stops waiting for a download that has received nothing for
  ``STALL_SECONDS`` (``Download.wait``); it goes on in the background and lands in the cache.
- Models in memory are bounded in bytes (``VIT_EXPLORER_MODEL_CACHE_MB``, default 1024 for the
  trained weights read and as much for the models run; ``page.compute``).

``vizlib.weights.load_pretrained`` as a library call keeps accepting folders: the policy is the page's.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vizlib import weights as weights_lib

MODELS_DIR_ENV = "VIT_EXPLORER_MODELS_DIR"
HUB_ALLOW_ENV = "VIT_EXPLORER_HUB_ALLOW"
PRETRAINED_ENV = "VIT_EXPLORER_PRETRAINED"
MAX_MODEL_MB_ENV = "VIT_EXPLORER_MAX_MODEL_MB"
MODEL_CACHE_MB_ENV = "VIT_EXPLORER_MODEL_CACHE_MB"
MAX_MODEL_MB = 400  # default: a ViT-B/16 (86.6 M parameters) is 346 MB as float32; a ViT-L (304 M) is not
MODEL_CACHE_MB = 1024  # default, for each of the two model caches
STALL_SECONDS = 20.0  # the page stops waiting for a download that has received nothing for this long
SUGGESTED = {  # real models one pick away: hub id -> the key of what it shows (``hub_about_*``, ``hub_show_*``)
    "google/vit-base-patch16-224": "vit",  # ViT-B/16 fine-tuned on ImageNet: its 1,000 classes
    "facebook/dino-vits8": "dino",  # DINO ViT-S/8 (a ViTModel, no head): attention that outlines objects
    "facebook/deit-small-distilled-patch16-224": "deit",  # DeiT-S with its distillation token
    "facebook/dinov2-with-registers-small": "registers",  # DINOv2-S with four register tokens
}
OTHER = "other"  # the list's entry for a name typed by hand


@dataclass(frozen=True)
class Policy:
    """The server's settings for pretrained weights (read from the environment)."""

    models_dir: Path | None  # the only place local folders load from; None = no local folders
    allow: frozenset[str] | None  # the only hub ids that load; None = any within the size limit
    pretrained: bool  # False: no Pretrained choice at all
    max_bytes: int  # most float32 parameter bytes of a hub model
    model_cache_bytes: int  # each model cache's size


def _megabytes(name: str, default: int) -> int:
    try:
        return max(0, int(float(os.environ.get(name, default)) * 1e6))
    except ValueError:
        return default * 10**6


def policy() -> Policy:
    """The policy the environment sets now (unset variables: the defaults above)."""
    folder = os.environ.get(MODELS_DIR_ENV, "").strip()
    allow = os.environ.get(HUB_ALLOW_ENV, "").strip()
    return Policy(
        models_dir=Path(folder) if folder else None,
        allow=frozenset(a.strip() for a in allow.split(",") if a.strip()) if allow else None,
        pretrained=os.environ.get(PRETRAINED_ENV, "on").strip().lower() not in ("off", "0", "false", "no"),
        max_bytes=_megabytes(MAX_MODEL_MB_ENV, MAX_MODEL_MB),
        model_cache_bytes=_megabytes(MODEL_CACHE_MB_ENV, MODEL_CACHE_MB),
    )


def resolve(name: str, rules: Policy) -> tuple[str, str]:
    """A typed name → ``("folder", path)`` inside the models folder, or ``("hub", repo_id)``.

    A folder counts only when a models folder is set and the name, resolved (symbolic links
    followed, ``..`` collapsed), is a folder inside it. Anything else must be a hub id by its
    spelling alone; the refusal names only the name, so it tells nothing about the disk.

    Raises:
        WeightsError: neither.
    """
    name = name.strip()
    if rules.models_dir is not None and name:
        root = rules.models_dir.resolve()
        candidate = (root / name).resolve()  # an absolute name replaces root: then it is outside
        if candidate != root and candidate.is_relative_to(root) and candidate.is_dir():
            return "folder", str(candidate)
    return "hub", weights_lib.check_hub_id(name)


def hub_choices(rules: Policy) -> list[str]:
    """What the hub list offers: the suggested ids the server allows, then its other allowed ids,
    then ``OTHER`` (a typed name) when a typed name can load: any hub id, or a models folder."""
    if rules.allow is None:
        return [*SUGGESTED, OTHER]
    listed = [s for s in SUGGESTED if s in rules.allow] + sorted(rules.allow - set(SUGGESTED))
    return listed + [OTHER] if rules.models_dir is not None else listed


class Download:
    """A hub download in a thread of its own, so that the page's thread can draw its progress."""

    def __init__(self, repo_id: str, rules: Policy, stall_seconds: float = STALL_SECONDS):
        self.done, self.total, self.error = 0, 0, None
        self.stall_seconds = stall_seconds
        self._heard = time.monotonic()  # when bytes last arrived (or the download began)
        self._thread = threading.Thread(target=self._run, args=(repo_id, rules), daemon=True)
        self._thread.start()

    def _run(self, repo_id: str, rules: Policy) -> None:
        try:
            weights_lib.fetch_hub(repo_id, max_bytes=rules.max_bytes, allow=rules.allow, progress=self._report)
        except Exception as err:  # handed to the page's thread, which raises it
            self.error = err

    def _report(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._heard = time.monotonic()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True once the download has ended (either way), or once nothing has
        arrived for ``stall_seconds``: ``error`` then says the hub is slow, and the thread goes on."""
        self._thread.join(seconds)
        if self._thread.is_alive() and time.monotonic() - self._heard > self.stall_seconds:
            self.error = stalled(self.stall_seconds)
            return True
        return not self._thread.is_alive()


def stalled(seconds: float) -> weights_lib.HubError:
    """The page's message when a download has received nothing for ``seconds``."""
    import huggingface_hub.constants

    host = urlsplit(huggingface_hub.constants.ENDPOINT).netloc
    return weights_lib.HubError(
        "hub_slow",
        f"the Hugging Face hub ({host}) sent nothing for {seconds:.0f} s: the network is slow or the hub is busy. "
        "Try again in a minute; the download goes on in the background",
        host=host,
        seconds=f"{seconds:.0f}",
    )
