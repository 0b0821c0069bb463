"""Training the small shapes ViT on pictures generated on the fly (see ``vizlib.shapes``).

Deterministic from a seed: batch k uses the picture seeds ``[k·B, (k+1)·B)`` (all below
``shapes.HELD_OUT_SEED``), and the model's initialisation comes from its config's seed. The
script ``scripts/train_shapes.py`` runs this and writes the checkpoint the app ships.
Shape legend: B batch, S picture size, C = 3, K classes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import shapes
from .config import ViTConfig
from .image import IMAGENET_MEAN, IMAGENET_STD
from .model import VisionTransformer

SHAPES_CONFIG = ViTConfig(
    img_size=(shapes.IMAGE_SIZE, shapes.IMAGE_SIZE), patch_size=8, embed_dim=96, depth=6, num_heads=4,
    mlp_ratio=2.0, num_classes=len(shapes.CLASSES), seed=0,
)  # fmt: skip


PREFETCH = 8  # batches generated ahead of the training loop


@dataclass(frozen=True)
class TrainSettings:
    """How the shapes model is trained."""

    steps: int = 10000
    batch_size: int = 64
    lr: float = 1.5e-3  # peak learning rate of AdamW
    weight_decay: float = 0.05
    warmup: int = 500  # linear warm-up steps, then cosine decay to 0
    curriculum: float = 0.4  # clutter ramps from 0 to full over this share of the steps
    grad_clip: float = 1.0
    snapshots: tuple[int, ...] = (0, 500, 1000, 2500, 5000)  # steps whose weights are kept (and the last)
    log_every: int = 100
    workers: int = 1  # processes generating pictures beside the training loop (0 = none)
    first_seed: int = 0  # picture seeds used: first_seed + [0, steps · batch_size)


@dataclass
class TrainLog:
    """What the run measured, one entry per logged step."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def to_batch(pixels: np.ndarray) -> torch.Tensor:
    """uint8 pictures ``(B, S, S, 3)`` → normalised ``(B, 3, S, S)``, as ``image.to_tensor`` does."""
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0  # (B, 3, S, S)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std  # (B, 3, S, S)


def sincos_pos_embed(grid: tuple[int, int], dim: int) -> torch.Tensor:
    """2-D sine-cosine position embeddings ``(Gh·Gw, dim)`` (MAE's recipe): half for rows, half for columns."""
    Gh, Gw = grid
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / max(quarter, 1))  # (dim/4,)
    rows, cols = torch.meshgrid(torch.arange(Gh, dtype=torch.float64), torch.arange(Gw, dtype=torch.float64),
                                indexing="ij")  # fmt: skip
    parts = []
    for coord in (rows.reshape(-1), cols.reshape(-1)):
        angles = coord[:, None] * omega[None, :]  # (N, dim/4)
        parts += [angles.sin(), angles.cos()]
    emb = torch.cat(parts, dim=1)  # (N, 4·(dim/4))
    return F.pad(emb, (0, dim - emb.shape[1])).float()  # (N, dim)


def new_model(cfg: ViTConfig = SHAPES_CONFIG) -> VisionTransformer:
    """The architecture with sine-cosine initialised (still learned) position embeddings."""
    model = VisionTransformer(cfg)
    with torch.no_grad():
        model.pos_embed[0, 1:] = sincos_pos_embed(cfg.grid, cfg.embed_dim) * 0.1
    return model


def batches(settings: TrainSettings, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pictures and labels of steps ``start, start + 1, …``, in worker processes when asked.

    Clutter ramps linearly from none to full over the first ``curriculum`` share of the steps.
    """
    B = settings.batch_size
    ramp = max(1.0, settings.curriculum * settings.steps)
    seeds = (
        (range(settings.first_seed + k * B, settings.first_seed + (k + 1) * B), shapes.IMAGE_SIZE, min(1.0, k / ramp))
        for k in range(start, settings.steps)
    )  # (picture seeds, size, clutter) of each step
    if settings.workers == 0:
        for args in seeds:
            yield shapes.generate_batch(*args)[:2]
        return
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(settings.workers) as pool:  # a bounded queue: Executor.map would submit all at once
        pending = deque(pool.submit(shapes.generate_batch, *a) for _, a in zip(range(PREFETCH), seeds, strict=False))
        while pending:
            batch = pending.popleft().result()
            if (next_args := next(seeds, None)) is not None:
                pending.append(pool.submit(shapes.generate_batch, *next_args))
            yield batch[:2]


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to 0 at the last step."""
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    return settings.lr * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimiser(model: VisionTransformer, settings: TrainSettings) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not on biases, norms, tokens, positions)."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos_embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "pos_embed" in n]
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=settings.lr)


def train_step(
    model: VisionTransformer, optimiser: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, grad_clip: float
) -> tuple[float, torch.Tensor]:
    """One step of cross-entropy training on ``x`` (B, 3, S, S), ``y`` (B,); returns the loss and logits."""
    logits = model(x)  # (B, K)
    loss = F.cross_entropy(logits, y)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimiser.step()
    return float(loss.detach()), logits.detach()


def train(
    model: VisionTransformer,
    settings: TrainSettings,
    on_snapshot: Callable[[int, VisionTransformer], None] | None = None,
    on_log: Callable[[TrainLog], None] | None = None,
) -> TrainLog:
    """Train ``model`` in place with AdamW and cross-entropy; call back at snapshots and logs."""
    torch.manual_seed(settings.first_seed)
    optimiser = make_optimiser(model, settings)
    log, window_loss, window_correct, window_seen = TrainLog(), 0.0, 0, 0
    start = time.perf_counter()
    model.train()
    for step, (pixels, labels) in enumerate(batches(settings)):
        if on_snapshot and step in settings.snapshots:
            on_snapshot(step, model)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, settings)
        x, y = to_batch(pixels), torch.from_numpy(labels)  # (B, 3, S, S), (B,)
        loss, logits = train_step(model, optimiser, x, y, settings.grad_clip)
        window_loss += loss * len(y)
        window_correct += int((logits.argmax(-1) == y).sum())
        window_seen += len(y)
        if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
            log.steps.append(step + 1)
            log.loss.append(window_loss / window_seen)
            log.accuracy.append(window_correct / window_seen)
            log.lr.append(learning_rate(step, settings))
            log.seconds.append(time.perf_counter() - start)
            window_loss, window_correct, window_seen = 0.0, 0, 0
            if on_log:
                on_log(log)
    model.eval()
    if on_snapshot:
        on_snapshot(settings.steps, model)
    return log


@torch.no_grad()
def accuracy(model: VisionTransformer, seeds: range, batch_size: int = 250) -> float:
    """Share of the pictures of these seeds whose class the model gets right."""
    model.eval()
    correct = 0
    for start in range(seeds.start, seeds.stop, batch_size):
        pixels, labels, _ = shapes.generate_batch(range(start, min(start + batch_size, seeds.stop)))
        correct += int((model(to_batch(pixels)).argmax(-1) == torch.from_numpy(labels)).sum())
    return correct / len(seeds)
