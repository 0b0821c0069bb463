"""Downloads: the stride animation as a GIF, any figure as offline HTML, a trace as .npy files.

The GIF is drawn with Pillow on the server (no browser) and carries no text, so it reads the
same in every language: the picture with the kernel window on the left, the grid of output
vectors filling in on the right, a dashed line from the window to the vector it writes — the
article's figure, one frame per stride step.

Shapes: H, W the input size, P the patch size, Gh, Gw = H/P, W/P, D the embedding dim.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from vizlib.config import ViTConfig
from vizlib.figures.patches import stride_steps

GIF_SIDE = 320  # the input panel's longer side in the GIF, in pixels (small pictures are enlarged)
GIF_MIN_SIDE = 64  # ... and its shorter side at least this, so a 3 × 300 strip is not 3 px tall,
GIF_MAX_SIDE = 2048  # unless that would make the longer side more than this
GIF_MS = 400  # milliseconds per frame
WINDOW, VECTOR, LINE = (0, 200, 83), (229, 57, 53), (229, 57, 53)  # the app's green window and red vector


def _scale(H: int, W: int, P: int) -> int:
    """Integer enlargement: the longer side about GIF_SIDE and the shorter at least GIF_MIN_SIDE,
    the longer never past GIF_MAX_SIDE by enlarging (at least 1)."""
    wanted = max(GIF_SIDE // max(H, W), -(-GIF_MIN_SIDE // min(H, W)))
    return max(1, min(wanted, GIF_MAX_SIDE // max(H, W)))


def _dashed(draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], width: int) -> None:
    (x0, y0), (x1, y1) = a, b
    length = max(1.0, float(np.hypot(x1 - x0, y1 - y0)))
    dash = 6 * width
    for s in np.arange(0, length, 2 * dash):
        e = min(length, s + dash)
        draw.line([(x0 + (x1 - x0) * s / length, y0 + (y1 - y0) * s / length),
                   (x0 + (x1 - x0) * e / length, y0 + (y1 - y0) * e / length)], fill=LINE, width=width)  # fmt: skip


def stride_frames(pixels: np.ndarray, P: int, colours: np.ndarray, row_step: int = 1) -> list[Image.Image]:
    """One RGB frame per stride step (every ``row_step``-th row of windows).

    ``pixels`` (H, W, 3) uint8 with H, W multiples of P; ``colours`` (Gh, Gw, 3) in [0, 1], the
    colour of each output vector (e.g. its PCA colour).
    """
    H, W, _ = pixels.shape
    Gh, Gw = H // P, W // P
    assert (Gh * P, Gw * P) == (H, W) and colours.shape[:2] == (Gh, Gw), "pixels must be whole patches"
    s = _scale(H, W, P)
    gap = max(8, W * s // 8)
    big = Image.fromarray(pixels).resize((W * s, H * s), Image.NEAREST)
    dimmed = Image.blend(big, Image.new("RGB", big.size, (255, 255, 255)), 0.55)
    cells = (np.clip(colours, 0, 1) * 255).astype(np.uint8)  # (Gh, Gw, 3)
    width = max(2, s * P // 12, min(H, W) * s // 80)
    x_out = W * s + gap
    base = Image.new("RGB", (2 * W * s + gap, H * s), (250, 250, 250))
    base.paste(big, (0, 0))
    draw = ImageDraw.Draw(base)
    for r in range(Gh + 1):  # the empty output grid
        draw.line([(x_out, r * P * s), (x_out + W * s, r * P * s)], fill=(200, 200, 200), width=1)
    for c in range(Gw + 1):
        draw.line([(x_out + c * P * s, 0), (x_out + c * P * s, H * s)], fill=(200, 200, 200), width=1)
    frames = []
    for r, c in stride_steps((Gh, Gw), row_step):
        area = (c * P * s, r * P * s, (c + 1) * P * s, (r + 1) * P * s)  # crop boxes end exclusive
        box = (area[0], area[1], area[2] - 1, area[3] - 1)  # rectangles end inclusive
        base.paste(dimmed.crop(area), area[:2])  # windows already visited fade
        out = (x_out + box[0], box[1], x_out + box[2], box[3])
        draw.rectangle(out, fill=tuple(int(v) for v in cells[r, c]))
        frame = base.copy()
        fd = ImageDraw.Draw(frame)
        frame.paste(big.crop(area), area[:2])  # the current window at full strength
        for y in range(P * s, H * s, P * s):  # the patch grid on the input, as in the page
            fd.line([(0, y), (W * s - 1, y)], fill=(255, 255, 255), width=1)
        for x in range(P * s, W * s, P * s):
            fd.line([(x, 0), (x, H * s - 1)], fill=(255, 255, 255), width=1)
        fd.rectangle(box, outline=WINDOW, width=width)
        fd.rectangle(out, outline=VECTOR, width=width)
        _dashed(fd, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), ((out[0] + out[2]) / 2, (out[1] + out[3]) / 2),
                max(1, width // 2))  # fmt: skip
        frames.append(frame)
    return frames


def stride_gif(pixels: np.ndarray, P: int, colours: np.ndarray, row_step: int = 1, ms: int = GIF_MS) -> bytes:
    """The stride animation as an animated GIF, looping, one frame per step (see ``stride_frames``)."""
    frames = stride_frames(pixels, P, colours, row_step)
    # One shared adaptive palette keeps colours steady from frame to frame; it is built from the
    # first frame (the picture at full strength) and the last (dimmed, every output cell filled).
    first, last = frames[0], frames[-1]
    sample = Image.new("RGB", (first.width, 2 * first.height))
    sample.paste(first, (0, 0))
    sample.paste(last, (0, first.height))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    quantised = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    buf = io.BytesIO()
    quantised[0].save(buf, format="GIF", save_all=True, append_images=quantised[1:], duration=ms, loop=0,
                      optimize=False, disposal=1)  # fmt: skip
    return buf.getvalue()


def figure_html(fig: go.Figure | dict) -> bytes:
    """A standalone HTML page with plotly.js embedded: opens offline, animations included."""
    fig = fig if isinstance(fig, go.Figure) else go.Figure(fig)
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False}, auto_play=False)
    return html.encode("utf-8")


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def weights_safetensors(model, labels: list[str] | None, mean, std) -> bytes:
    """A model's weights as ``.safetensors`` with its config, labels and normalisation in the header's
    ``__metadata__`` (JSON under ``weights.METADATA_KEY``), so that uploading it again asks nothing.

    Args:
        model: a ``VisionTransformer``.
        labels: its class names, or None.
        mean, std: the per-channel input normalisation it expects.
    """
    from safetensors.torch import save

    from vizlib.weights import METADATA_KEY

    meta = {"config": config_json(model.cfg)["config"], "labels": labels, "mean": list(mean), "std": list(std)}
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    return save(state, metadata={METADATA_KEY: json.dumps(meta)})


def arrays_zip(arrays: dict[str, np.ndarray], meta: dict) -> bytes:
    """``NAME.npy`` for each array plus ``config.json`` (``meta``), in one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            z.writestr(f"{name}.npy", npy_bytes(array))
        z.writestr("config.json", json.dumps(meta, indent=2, ensure_ascii=False))
    return buf.getvalue()


def trace_arrays(trace) -> dict[str, np.ndarray]:
    """The tensors a student may want to look at, as float32 numpy arrays (batch axis kept).

    ``patch_grid`` (1, D, Gh, Gw), ``patch_tokens`` (1, N, D), ``tokens`` (1, T, D), ``logits``,
    and ``attention`` (depth, 1, nh, T, T) when every full matrix was kept, else
    ``attention_rows`` (depth, 1, nh, len(rows), T) with ``attention_row_ids``.
    """
    arrays = {
        "patch_grid": trace.patch_grid, "patch_tokens": trace.patch_tokens, "tokens": trace.tokens,
        "logits": trace.logits,
    }  # fmt: skip
    out = {name: t.detach().float().cpu().numpy() for name, t in arrays.items()}
    if trace.attentions is not None:
        out["attention"] = np.stack([a.detach().float().cpu().numpy() for a in trace.attentions])
    else:
        out["attention_rows"] = np.stack([a.detach().float().cpu().numpy() for a in trace.attention_rows])
        out["attention_row_ids"] = np.asarray(trace.rows, dtype=np.int64)
    return out


def config_json(cfg: ViTConfig, **extra) -> dict:
    """The config as plain JSON (plus what else the page knows: weights, picture, policies)."""
    fields = {name: getattr(cfg, name) for name in cfg.__dataclass_fields__}
    fields["img_size"] = list(cfg.img_size)
    return {"config": fields, "grid": list(cfg.grid), "num_patches": cfg.num_patches, **extra}


def gif_size(H: int, W: int) -> tuple[int, int]:
    """(width, height) of the GIF's frames for an H × W input: input and output panels side by side."""
    s = _scale(H, W, 1)
    return 2 * W * s + max(8, W * s // 8), H * s
