"""Which torch devices this machine can run the model on, best first: cuda, mps, cpu."""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """Devices torch can use here, in order of preference (always ends with ``cpu``)."""
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def synchronize(device: str) -> None:
    """Wait for queued kernels so that a wall-clock time measures the work itself."""
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()
