"""Bytes → validated RGB picture → the model's input tensor.

Every refusal is an :class:`ImageError` whose message tells a student what to do. Pillow is
the only decoder, with its decompression-bomb guard on; nothing a user sends is executed.
Shape legend: C channels (3), H, W height and width in pixels.
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, TiffImagePlugin, UnidentifiedImageError
from PIL.PngImagePlugin import Blend

from .config import ConfigError
from .errors import CodedError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_PIXELS = 40_000_000  # 40 MP: larger pictures are refused before they are decoded
MAX_BYTES = 20 * 1024 * 1024  # 20 MB, as .streamlit/config.toml's upload limit
WORKING_SIDE = 2048  # the working copy's longest side: what any view needs, 12.6 MB of RGB at most
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")  # JPEG includes multi-picture MPO
FIT_POLICIES = ("stretch", "center_crop", "letterbox")
LETTERBOX_FILL = (255, 255, 255)  # padding colour of the letterbox policy (white, as alpha)


class ImageError(CodedError):
    """A file that cannot be used as a picture, with a message the user can act on (``code`` and
    ``fields`` let a page show it in another language)."""


def load_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_side: int = WORKING_SIDE) -> Image.Image:
    """Decode an uploaded file into an upright RGB picture, as a browser shows it.

    Args:
        data: the file's bytes (PNG, JPEG, WebP, BMP, TIFF or GIF). An animation gives the first
            frame a browser shows: an APNG's first animation frame even where its default image is
            a separate fallback, a WebP's frame with its alpha even where the header's hint says none.
        max_pixels: largest width × height accepted.
        max_side: a picture whose longer side is larger is reduced to this (aspect kept) right after
            decoding, so that what is kept is bounded (a 6,000 × 6,600 PNG decodes to 119 MB of
            RGB; its working copy is 12 MB). ``original_size(img)`` still gives the file's size.

    Returns:
        An RGB ``PIL.Image`` with EXIF orientation applied and any alpha composited over white.
        Samples wider than 8 bits are scaled to 8 by the range rule of :func:`_wide_sample_range`:
        16-bit as 0…65535; 32-bit float with every sample in [0, 1] as 0 (black) … 1 (white).

    Raises:
        ImageError: empty, non-image, unsupported, truncated or oversized data.
    """
    if not data:
        raise ImageError("empty", "the file is empty (0 bytes): choose a PNG, JPEG or WebP picture")
    if len(data) > MAX_BYTES:
        mb, limit = f"{len(data) / 2**20:.1f}", MAX_BYTES // 2**20
        msg = f"the file is {mb} MB, more than the {limit} MB limit: save a smaller copy of the picture"
        raise ImageError("bytes", msg, mb=mb, limit=limit)
    img = _open(_webp_alpha_hints(data))
    w, h = img.size
    if w * h > max_pixels:
        mp, limit = f"{w * h / 1e6:.1f}", f"{max_pixels / 1e6:.0f}"
        msg = f"the picture is {w}×{h} = {mp} MP, more than the {limit} MP limit: resize it first"
        raise ImageError("pixels", msg, w=w, h=h, mp=mp, limit=limit)
    try:
        _seek_first_shown_frame(img)
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        msg = f"the {img.format} file is damaged or cut short ({err}): save it again and re-upload"
        raise ImageError("damaged", msg, format=img.format) from err
    return _working_copy(_to_rgb(ImageOps.exif_transpose(img)), max_side)


def _seek_first_shown_frame(img: Image.Image) -> None:
    """Seek to the frame a browser shows first: frame 0, except in an APNG whose default image is
    not part of the animation (a fallback for viewers without APNG), where it is frame 1.

    That frame covers the whole canvas, which starts fully transparent (APNG spec, fcTL): drawn
    "over" it, the frame is itself. Pillow draws it over the fallback instead, so its blend is set
    to "source" before it is decoded.
    """
    img.seek(0)
    if img.format == "PNG" and img.info.get("default_image") and getattr(img, "n_frames", 1) > 1:
        img.seek(1)
        img.blend_op = Blend.OP_SOURCE


WEBP_ANIMATION, WEBP_ALPHA = 0x02, 0x10  # VP8X flag bits (RFC 9649, section 2.7)


def _webp_alpha_hints(data: bytes) -> bytes:
    """A WebP's bytes with the hints that it has alpha set, so that Pillow keeps the alpha a browser shows.

    Chromium composites whatever alpha a WebP decodes to. Pillow drops it when the header says
    there is none: an animation without VP8X's alpha flag (Pillow writes such files itself) or a
    lossless (VP8L) picture without its alpha_is_used bit. Setting a hint on an opaque picture
    changes nothing: its alpha is 255 everywhere. Other files are returned as they are.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    patched, pos = bytearray(data), 12
    while pos + 13 <= len(patched):
        fourcc, size = bytes(patched[pos : pos + 4]), int.from_bytes(patched[pos + 4 : pos + 8], "little")
        if fourcc == b"VP8X" and size >= 10 and patched[pos + 8] & WEBP_ANIMATION:
            patched[pos + 8] |= WEBP_ALPHA
        elif fourcc == b"VP8L" and size >= 5 and patched[pos + 8] == 0x2F:  # signature, a 32-bit header word
            patched[pos + 12] |= 0x10  # its bit 28, alpha_is_used, in the word's last byte
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return bytes(patched) if patched != data else data


def _working_copy(img: Image.Image, max_side: int) -> Image.Image:
    """``img`` reduced so its longer side is at most ``max_side``, remembering its own size."""
    size = img.size
    if max(size) > max_side:
        scale = max_side / max(size)
        img = img.resize((max(1, round(size[0] * scale)), max(1, round(size[1] * scale))), Image.Resampling.LANCZOS,
                         reducing_gap=3.0)  # fmt: skip
    img.info["original_size"] = size
    return img


def original_size(img: Image.Image) -> tuple[int, int]:
    """(width, height) of the decoded file, before any working-copy reduction."""
    return tuple(img.info.get("original_size", img.size))


def _open(data: bytes) -> Image.Image:
    """Identify the format without decoding the pixels; refuse bombs and unknown formats."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        msg = (
            f"the picture declares far more pixels than its file size suggests ({err}); "
            "it looks like a decompression bomb and was not opened"
        )
        raise ImageError("bomb", msg) from err
    except UnidentifiedImageError as err:
        if layout := _tiff_layout(data):
            msg = (
                f"this TIFF stores its pixels as {layout}, which this app cannot read: save it as 8- or "
                "16-bit integers, or as greyscale 32-bit float (float32)"
            )
            raise ImageError("tiff_layout", msg, layout=layout) from err
        msg = (
            "this file is not a picture this app can read: use PNG, JPEG, WebP, BMP, TIFF or GIF "
            "(HEIC, SVG, PDF and text files are not supported)"
        )
        raise ImageError("format", msg) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError("format", f"the file could not be read as a picture ({err}): try another file") from err


def _tiff_layout(data: bytes) -> str | None:
    """``"3 × float32"``: a TIFF's samples per pixel and their type, read from its first directory
    without decoding it; None for a file that is not a TIFF or whose directory cannot be read."""
    if data[:4] not in (b"II*\0", b"MM\0*"):
        return None
    try:
        tags = TiffImagePlugin.ImageFileDirectory_v2(data[:8])
        stream = io.BytesIO(data)
        stream.seek(tags.next)
        tags.load(stream)
        bits = tags.get(258, (1,))  # BitsPerSample, one per sample
        kind = {1: "uint", 2: "int", 3: "float"}.get(tags.get(339, (1,))[0], "sample")  # SampleFormat
        return f"{tags.get(277, 1)} × {kind}{bits[0]}"  # SamplesPerPixel
    except (OSError, SyntaxError, ValueError, KeyError, IndexError, TypeError, struct.error):
        return None


def _wide_sample_range(arr: np.ndarray, mode: str, counted: np.ndarray) -> tuple[float, float]:
    """(black, white): the sample values shown as black and as white for a 16- or 32-bit mode.

    16-bit samples declare their range: 0…65535. 32-bit integers (``I``) and floats (``F``,
    float TIFFs) declare none, so it is read from the ``counted`` samples (opaque and finite):
    floats all within [0, 1] are 0…1, the convention of floating-point pictures in image editors
    (GIMP, Photoshop: 0.0 black, 1.0 white); otherwise samples all within [0, 255] are 0…255, all within [0, 65535]
    are 0…65535; anything else (negative values, or beyond 16 bits: measurements rather than a
    photo) is stretched from its smallest to its largest value.
    """
    if mode.startswith("I;16"):
        return 0.0, 65535.0
    values = arr[counted]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    for top in (1.0, 255.0, 65535.0) if mode == "F" else (255.0, 65535.0):
        if lo >= 0 and hi <= top:
            return 0.0, top
    return lo, hi if hi > lo else lo + 1.0


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode → RGB; every kind of transparency is composited over white.

    Transparency comes as an alpha band (RGBA, LA, PA and the premultiplied RGBa, La), as palette
    transparency (P with ``info["transparency"]``, one index or one alpha per entry), or as a colour
    key in ``info["transparency"]`` (1, L, RGB and the 16-bit and 32-bit modes, where the key is a
    raw sample value); a float sample that is not a number (NaN) is transparent too. 16-bit and
    32-bit samples are scaled to 8 bits by the range rule of :func:`_wide_sample_range` (a float
    TIFF in [0, 1]: 0 black, 1 white); infinities are clipped to black and white.
    """
    key = img.info.get("transparency")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)  # (H, W) raw samples
        opaque = ~np.isnan(arr) & (arr != key if isinstance(key, (int, float)) else True)  # (H, W)
        black, white = _wide_sample_range(arr, img.mode, opaque & np.isfinite(arr))
        scaled = np.nan_to_num((arr - black) / (white - black) * 255.0 + 0.5, nan=0.0, posinf=255, neginf=0)
        grey = np.clip(scaled, 0, 255).astype(np.uint8)  # (H, W)
        img = Image.fromarray(np.stack([grey, opaque.astype(np.uint8) * 255], axis=-1))  # LA
    elif key is not None and img.mode in ("1", "L", "RGB", "P"):
        img = img.convert("RGBA")  # Pillow applies the colour key or the palette's alpha
    if img.mode == "La":
        img = img.convert("LA")  # Pillow converts premultiplied grey only to straight LA
    if img.mode in ("LA", "PA", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def fit_image(img: Image.Image, size: tuple[int, int], policy: str = "center_crop") -> Image.Image:
    """Resize a picture to the model's input size, handling a different aspect ratio.

    Args:
        img: an RGB picture of any size.
        size: the target ``(H, W)`` in pixels.
        policy: ``stretch`` (ignore the aspect ratio), ``center_crop`` (largest centred crop of
            the target aspect, then resize) or ``letterbox`` (pad with white to the target
            aspect, then resize).

    Returns:
        An RGB picture of exactly ``W × H`` pixels.
    """
    H, W = size
    if H < 1 or W < 1:
        raise ValueError(f"target size {size} must be two positive numbers (H, W)")
    if policy not in FIT_POLICIES:
        raise ValueError(f"fit policy {policy!r} must be one of {', '.join(FIT_POLICIES)}")
    if policy == "center_crop":
        img = img.crop(_centre_box(img.size, W / H))
    elif policy == "letterbox":
        img = _pad_to_aspect(img, W / H)
    return img.resize((W, H), Image.Resampling.BICUBIC, reducing_gap=3.0)


def _centre_box(wh: tuple[int, int], aspect: float) -> tuple[int, int, int, int]:
    """The largest centred (left, top, right, bottom) box of width/height ratio ``aspect``."""
    w, h = wh
    crop_w, crop_h = min(w, max(1, round(h * aspect))), min(h, max(1, round(w / aspect)))
    left, top = (w - crop_w) // 2, (h - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def _pad_to_aspect(img: Image.Image, aspect: float) -> Image.Image:
    """Centre the picture on a white canvas of width/height ratio ``aspect``."""
    w, h = img.size
    canvas_w, canvas_h = max(w, round(h * aspect)), max(h, round(w / aspect))
    canvas = Image.new("RGB", (canvas_w, canvas_h), LETTERBOX_FILL)
    canvas.paste(img, ((canvas_w - w) // 2, (canvas_h - h) // 2))
    return canvas


def to_tensor(
    img: Image.Image,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
) -> torch.Tensor:
    """RGB picture → normalised float tensor ``(1, 3, H, W)``: ``(pixel / 255 − mean) / std``."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
    x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)  # (1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)  # (1, 3, 1, 1)
    return (x - mean_t) / std_t  # (1, 3, H, W)


def normalised_range(
    mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD
) -> tuple[float, float]:
    """(lo, hi): the values ``to_tensor`` can give over all channels, a black pixel's lowest and a
    white pixel's highest, ``min((0 − mean) / std)`` and ``max((1 − mean) / std)``. ImageNet's: (−2.118, 2.640)."""
    return min(-m / s for m, s in zip(mean, std, strict=True)), max((1 - m) / s for m, s in zip(mean, std, strict=True))


def to_display(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """Inverse of :func:`to_tensor` for one image: ``(1, 3, H, W)`` → uint8 ``(H, W, 3)``."""
    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)  # (3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)  # (3, 1, 1)
    rgb = (x[0] * std_t + mean_t).clamp(0, 1)  # (3, H, W)
    return (rgb.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)  # (H, W, 3)


SNAP_POLICIES = ("crop", "pad", "scale")


def snap_size(H: int, W: int, patch_size: int, policy: str) -> tuple[int, int]:
    """The size a ``H × W`` input becomes so that P divides it.

    ``crop``: ``(⌊H/P⌋·P, ⌊W/P⌋·P)`` as DINO does; ``pad``: ``(⌈H/P⌉·P, ⌈W/P⌉·P)`` as timm's dynamic
    padding does; ``scale``: the nearest multiples, ``(max(1, round(H/P))·P, …)``.

    Raises:
        ConfigError: ``crop`` of an image smaller than one patch (a ValueError).
        ValueError: an unknown policy.
    """
    P = patch_size
    if P < 1:
        raise ConfigError("patch_min", f"patch size {P} must be at least 1", P=P)
    if policy == "crop":
        if min(H, W) < P:
            msg = f"cropping {H}×{W} to multiples of P = {P} leaves nothing: choose pad or scale, or a smaller P"
            raise ConfigError("crop_small", msg, H=H, W=W, P=P)
        return H // P * P, W // P * P
    if policy == "pad":
        return -(-H // P) * P, -(-W // P) * P
    if policy == "scale":
        return max(1, round(H / P)) * P, max(1, round(W / P)) * P
    raise ValueError(f"snap policy {policy!r} must be one of {', '.join(SNAP_POLICIES)}")


def snap_to_patches(x: torch.Tensor, patch_size: int, policy: str = "crop") -> torch.Tensor:
    """Make a normalised batch ``(B, C, H, W)`` a whole number of patches high and wide.

    Args:
        x: normalised images, as :func:`to_tensor` returns.
        patch_size: P.
        policy: ``crop`` the bottom/right remainder, ``pad`` bottom/right with zeros (the
            normalised mean colour, as timm's ``dynamic_img_pad``), or ``scale`` bilinearly to the
            nearest multiples (see :func:`snap_size`).

    Returns:
        ``(B, C, H′, W′)`` with ``H′ % P == W′ % P == 0``; ``x`` itself when it already fits.
    """
    H, W = x.shape[-2:]
    H2, W2 = snap_size(H, W, patch_size, policy)
    if (H2, W2) == (H, W):
        return x
    if policy == "crop":
        return x[..., :H2, :W2]  # (B, C, H′, W′)
    if policy == "pad":
        return torch.nn.functional.pad(x, (0, W2 - W, 0, H2 - H))  # (B, C, H′, W′) zeros bottom/right
    return torch.nn.functional.interpolate(x, size=(H2, W2), mode="bilinear", align_corners=False, antialias=True)


def snap_regions(size: tuple[int, int], snapped: tuple[int, int], policy: str) -> list[tuple[int, int, int, int]]:
    """The pixels a crop drops or a pad adds, as ``(x0, y0, x1, y1)`` rectangles (none for scale).

    Args:
        size: ``(H, W)`` before snapping.
        snapped: ``(H′, W′)`` after :func:`snap_size`.
        policy: ``crop``, ``pad`` or ``scale``.
    """
    (H, W), (H2, W2) = size, snapped
    if policy == "crop":
        rects = [(W2, 0, W, H), (0, H2, W2, H)]
    elif policy == "pad":
        rects = [(W, 0, W2, H2), (0, H, W, H2)]
    else:
        rects = []
    return [(x0, y0, x1, y1) for x0, y0, x1, y1 in rects if x1 > x0 and y1 > y0]


def grid_thumbnail(pixels: np.ndarray, grid: tuple[int, int], target: int = 64) -> np.ndarray:
    """A small copy of ``(H, W, 3)`` pixels whose sides are whole multiples of the grid.

    Each patch becomes ``max(1, round(target / max(Gh, Gw)))`` pixels square, so that a map over
    the grid can be laid on it cell for cell.
    """
    Gh, Gw = grid
    cell = max(1, round(target / max(Gh, Gw)))
    img = Image.fromarray(pixels).resize((Gw * cell, Gh * cell), Image.Resampling.BOX)
    return np.asarray(img)  # (Gh·cell, Gw·cell, 3)
