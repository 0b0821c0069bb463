"""Shared fixtures: a real photo, and Hugging Face ViTs filled with distinct random values."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser drives Chromium: marked ``browser`` also where its file does not
    say so, so that ``-m "not browser"`` (``make test-fast``) leaves it out."""
    for item in items:
        if ROOT / "tests" / "browser" in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def photo_bytes() -> bytes:
    return (SAMPLES / "chelsea.jpg").read_bytes()


def png_bytes(img: Image.Image, **save_args) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=save_args.pop("format", "PNG"), **save_args)
    return buf.getvalue()


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Give every parameter distinct random values at a scale that keeps activations O(1).

    Default init leaves biases at 0 and LayerNorms at 1, which would hide a swapped or dropped
    tensor; here every tensor differs from every other.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "layernorm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif name.endswith("bias") or "layernorm" in name:
                p.copy_(0.1 * noise)
            elif p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(noise / fan_in**0.5)
            else:
                p.copy_(0.5 * noise)
