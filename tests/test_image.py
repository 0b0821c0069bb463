"""Bytes → picture: every format and mode becomes upright RGB, every bad file a clear ImageError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import png_bytes
from vizlib.image import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageError,
    fit_image,
    load_image,
    original_size,
    to_display,
    to_tensor,
)

RED, BLUE = (220, 20, 30), (20, 40, 210)


def close(pixel, colour, tol=12):
    return all(abs(int(a) - b) <= tol for a, b in zip(pixel, colour, strict=True))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_each_format_decodes_to_rgb(fmt):
    img = Image.new("RGB", (40, 30), RED)
    out = load_image(png_bytes(img, format=fmt))
    assert out.mode == "RGB" and out.size == (40, 30)
    assert close(out.getpixel((20, 15)), RED, tol=25)  # GIF palettes and JPEG are lossy


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (16, 16), RED), Image.new("RGB", (16, 16), BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_gives_its_first_frame(fmt):
    assert close(load_image(animated(fmt)).getpixel((8, 8)), RED, tol=25)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), BLUE)
    img.paste(RED, (0, 0, 20, 20))  # left half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = load_image(png_bytes(img, format="JPEG", exif=exif, quality=95))
    assert out.size == (20, 40)  # upright: portrait
    assert close(out.getpixel((10, 5)), RED, tol=30)  # stored left → displayed top
    assert close(out.getpixel((10, 35)), BLUE, tol=30)


@pytest.mark.parametrize(
    "img, expected",
    [
        (Image.new("L", (8, 8), 100), (100, 100, 100)),
        (Image.new("LA", (8, 8), (0, 0)), (255, 255, 255)),  # transparent black → white
        (Image.new("LA", (8, 8), (0, 255)), (0, 0, 0)),
        (Image.new("RGBA", (8, 8), (*RED, 255)), RED),
        (Image.new("RGBA", (8, 8), (0, 0, 0, 0)), (255, 255, 255)),
        (Image.new("RGBA", (8, 8), (0, 0, 0, 128)), (127, 127, 127)),  # half over white
        (Image.new("1", (8, 8), 1), (255, 255, 255)),
        (Image.fromarray(np.full((8, 8), 65535, np.uint16)), (255, 255, 255)),
        (Image.fromarray(np.full((8, 8), 32896, np.uint16)), (128, 128, 128)),
    ],
    ids=[
        "L",
        "LA-transparent",
        "LA-opaque",
        "RGBA",
        "RGBA-transparent",
        "RGBA-half",
        "1-bit",
        "16-bit-white",
        "16-bit-mid",
    ],
)
def test_modes_become_rgb(img, expected):
    out = load_image(png_bytes(img))
    assert out.mode == "RGB"
    assert close(out.getpixel((4, 4)), expected, tol=2)


def test_palette_with_transparency_is_over_white():
    img = Image.new("P", (8, 8), 0)
    img.putpalette([*RED, *BLUE] + [0] * 762)
    img.paste(1, (0, 0, 4, 8))  # left half index 1 (blue), right half index 0 (red)
    out = load_image(png_bytes(img, transparency=0))  # index 0 is transparent
    assert close(out.getpixel((1, 4)), BLUE, tol=0)
    assert close(out.getpixel((6, 4)), (255, 255, 255), tol=0)


def test_cmyk_jpeg_becomes_rgb():
    out = load_image(png_bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), format="JPEG", quality=95))
    assert out.mode == "RGB"
    assert close(out.getpixel((8, 8)), (255, 0, 0), tol=20)


def test_sixteen_bit_rgb_png_decodes():
    ramp = np.linspace(0, 65535, 16 * 16, dtype=np.uint16).reshape(16, 16)
    out = load_image(png_bytes(Image.fromarray(ramp)))
    values = np.asarray(out)[..., 0]
    assert values[0, 0] == 0 and values[-1, -1] == 255  # the full 16-bit range is kept, not clipped


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height but holds a tiny image stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg(img=None) -> bytes:
    return png_bytes(img or Image.effect_noise((64, 64), 60).convert("RGB"), format="JPEG")


BAD = [
    pytest.param(b"", "empty", id="zero-bytes"),
    pytest.param(np.random.default_rng(0).bytes(3000), "not a picture", id="random-bytes"),
    pytest.param(b"hello, this is a text file\n" * 20, "not a picture", id="text"),
    pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG", id="svg"),
    pytest.param(b"<!doctype html><html><body>hi</body></html>", "not a picture", id="html"),
    pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 200, "HEIC", id="heic"),
    pytest.param(png_bytes(Image.effect_noise((64, 64), 60).convert("RGB"))[:600], "damaged", id="truncated-png"),
    pytest.param(jpeg()[:700], "damaged", id="truncated-jpeg"),
    pytest.param(png_header_only(30_000, 30_000), "decompression bomb", id="bomb-30000x30000"),
    pytest.param(png_header_only(8000, 6000), "40 MP", id="over-pixel-budget"),
]


@pytest.mark.parametrize("data, words", BAD)
def test_bad_files_get_a_clear_message(data, words):
    with pytest.raises(ImageError, match=words):
        load_image(data)


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(ImageError, match="MB"):
        load_image(b"\x89PNG" + b"\0" * (21 * 1024 * 1024))


def test_pixel_budget_is_a_parameter():
    with pytest.raises(ImageError, match="limit"):
        load_image(png_bytes(Image.new("RGB", (20, 20))), max_pixels=100)


def test_extreme_but_valid_sizes_load():
    assert load_image(png_bytes(Image.new("RGB", (1, 1), RED))).size == (1, 1)
    strip = load_image(png_bytes(Image.new("RGB", (10_000, 10), RED)))
    assert strip.size == (2048, 2) and original_size(strip) == (10_000, 10)  # the working copy, the file's size


# ---------------------------------------------------------------- fit_image


def two_tone(w: int, h: int) -> Image.Image:
    """Red left half, blue right half: shows where a crop or pad fell."""
    img = Image.new("RGB", (w, h), BLUE)
    img.paste(RED, (0, 0, w // 2, h))
    return img


@pytest.mark.parametrize("policy", ["stretch", "center_crop", "letterbox"])
@pytest.mark.parametrize("size", [(81, 81), (32, 64), (100, 30)])
def test_fit_gives_exact_size(policy, size):
    assert fit_image(two_tone(300, 200), size, policy).size == (size[1], size[0])


def test_center_crop_takes_the_middle():
    img = Image.new("RGB", (300, 100), (255, 255, 255))
    img.paste(RED, (100, 0, 200, 100))  # a red square in the middle third
    out = fit_image(img, (50, 50), "center_crop")
    assert close(out.getpixel((2, 25)), RED) and close(out.getpixel((47, 25)), RED)


def test_letterbox_pads_with_white_and_keeps_everything():
    out = fit_image(two_tone(200, 100), (80, 80), "letterbox")  # 2:1 into 1:1: bands top and bottom
    assert close(out.getpixel((40, 3)), (255, 255, 255)) and close(out.getpixel((40, 76)), (255, 255, 255))
    assert close(out.getpixel((5, 40)), RED) and close(out.getpixel((75, 40)), BLUE)


def test_stretch_keeps_both_halves():
    out = fit_image(two_tone(400, 100), (50, 50), "stretch")
    assert close(out.getpixel((5, 25)), RED) and close(out.getpixel((45, 25)), BLUE)


def test_fit_refuses_unknown_policy_and_bad_size():
    with pytest.raises(ValueError, match="squash"):
        fit_image(two_tone(10, 10), (8, 8), "squash")
    with pytest.raises(ValueError, match=r"\(0, 8\)"):
        fit_image(two_tone(10, 10), (0, 8), "stretch")


def test_to_tensor_normalises_and_round_trips():
    img = Image.new("RGB", (6, 4), (255, 0, 128))
    x = to_tensor(img)
    assert x.shape == (1, 3, 4, 6) and x.dtype == torch.float32
    expected = [(1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], -IMAGENET_MEAN[1] / IMAGENET_STD[1]]
    assert torch.allclose(x[0, :2, 0, 0], torch.tensor(expected))
    assert (to_display(x) == np.asarray(img)).all()
    y = to_tensor(img, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert torch.allclose(y[0, :, 0, 0], torch.tensor([1.0, -1.0, 128 / 255 * 2 - 1]), atol=1e-6)


# ---------------------------------------------------------------- snapping to whole patches

from vizlib.image import snap_regions, snap_size, snap_to_patches  # noqa: E402


@pytest.mark.parametrize(
    "policy, expected",
    [("crop", (96, 64)), ("pad", (112, 80)), ("scale", (96, 64))],  # 100×70 with P = 16
)
def test_snap_sizes_follow_the_documented_formulas(policy, expected):
    x = torch.randn(1, 3, 100, 70)
    out = snap_to_patches(x, 16, policy)
    assert tuple(out.shape[-2:]) == expected == snap_size(100, 70, 16, policy)
    Gh, Gw = expected[0] // 16, expected[1] // 16
    formula = {"crop": (100 // 16, 70 // 16), "pad": (-(-100 // 16), -(-70 // 16)), "scale": (6, 4)}
    assert (Gh, Gw) == formula[policy]


def test_crop_keeps_the_top_left_and_pad_fills_zeros():
    x = torch.randn(1, 3, 50, 41)
    cropped = snap_to_patches(x, 8, "crop")
    assert torch.equal(cropped, x[..., :48, :40])
    padded = snap_to_patches(x, 8, "pad")
    assert padded.shape == (1, 3, 56, 48)
    assert torch.equal(padded[..., :50, :41], x)
    assert padded[..., 50:, :].abs().sum() == 0 and padded[..., :, 41:].abs().sum() == 0


def test_scale_rounds_to_the_nearest_multiple():
    assert snap_size(81, 81, 10, "scale") == (80, 80)
    assert snap_size(86, 81, 10, "scale") == (90, 80)
    assert snap_size(3, 3, 10, "scale") == (10, 10)  # never below one patch


def test_already_whole_is_untouched_and_bad_requests_are_refused():
    x = torch.randn(1, 3, 32, 48)
    assert snap_to_patches(x, 16, "pad") is x
    with pytest.raises(ValueError, match="leaves nothing"):
        snap_size(10, 40, 16, "crop")
    with pytest.raises(ValueError, match="stretch"):
        snap_size(10, 40, 16, "stretch")


def test_snap_regions_cover_the_dropped_or_added_pixels():
    assert snap_regions((100, 70), (96, 64), "crop") == [(64, 0, 70, 100), (0, 96, 64, 100)]
    assert snap_regions((100, 70), (112, 80), "pad") == [(70, 0, 80, 112), (0, 100, 70, 112)]
    assert snap_regions((100, 64), (96, 64), "crop") == [(0, 96, 64, 100)]  # only the bottom strip
    assert snap_regions((100, 70), (96, 64), "scale") == []


def keyed(mode_array: np.ndarray, key, **save) -> bytes:
    """A PNG of these samples with ``transparency=key`` (a colour key, or a palette index)."""
    return png_bytes(Image.fromarray(mode_array), transparency=key, **save)


def half(shape: tuple, left, right, dtype=np.uint8) -> np.ndarray:
    """Left half ``left``, right half ``right`` (40 wide, 30 tall)."""
    arr = np.empty((30, 40, *shape), dtype)
    arr[:, :20], arr[:, 20:] = left, right
    return arr


# Every way a PNG can carry transparency: (name, bytes, the right half's expected RGB). The left
# half is transparent in each, so it must come out white: the expected values are the
# composite formula α·c + (1 − α)·255 written here, not Pillow's conversion.
TRANSPARENT_CORPUS = [
    ("rgb colour key", keyed(half((3,), (0, 255, 0), (10, 20, 30)), (0, 255, 0)), (10, 20, 30)),
    ("grey colour key 0", keyed(half((), 0, 100), 0), (100, 100, 100)),
    ("grey colour key 200", keyed(half((), 200, 7), 200), (7, 7, 7)),
    ("16-bit grey colour key", keyed(half((), 0, 40000, np.uint16), 0), (156, 156, 156)),  # 40000/65535·255
    ("rgba alpha band", png_bytes(Image.fromarray(half((4,), (0, 0, 0, 0), (10, 20, 30, 255)))), (10, 20, 30)),
    ("la alpha band", png_bytes(Image.fromarray(half((2,), (0, 0), (50, 255)))), (50, 50, 50)),
    ("half-transparent rgba", png_bytes(Image.fromarray(half((4,), (0, 0, 0, 0), (0, 0, 0, 128)))), (127, 127, 127)),
]


@pytest.mark.parametrize("name, data, right", TRANSPARENT_CORPUS, ids=[c[0] for c in TRANSPARENT_CORPUS])
def test_every_kind_of_transparency_is_over_white(name, data, right):
    rgb = np.asarray(load_image(data))  # (30, 40, 3)
    assert (rgb[:, :20] == 255).all(), name
    assert np.abs(rgb[:, 20:].astype(int) - right).max() <= 1, name


def test_palette_transparency_by_index_and_by_entry_alpha():
    pal = Image.fromarray(half((), 0, 1)).convert("P")
    pal.putpalette([0, 255, 0, 10, 20, 30] + [0] * 762)
    by_index = np.asarray(load_image(png_bytes(pal, transparency=0)))
    by_alpha = np.asarray(load_image(png_bytes(pal, transparency=bytes([0, 255]))))
    for rgb in (by_index, by_alpha):
        assert (rgb[:, :20] == 255).all() and (rgb[:, 20:] == (10, 20, 30)).all()


def alpha_mode(mode: str) -> Image.Image:
    """Left half transparent, right half opaque grey 40, in ``mode`` (premultiplied or palette)."""
    alpha = half((), 0, 255)
    if mode == "RGBa":  # premultiplied: the colour is already multiplied by α
        return Image.frombytes("RGBa", (40, 30), np.dstack([half((3,), 0, 40), alpha]).tobytes())
    if mode == "La":
        return Image.frombytes("La", (40, 30), np.dstack([half((), 0, 40), alpha]).tobytes())
    img = Image.frombytes("PA", (40, 30), np.dstack([half((), 0, 1), alpha]).tobytes())
    img.putpalette([0, 255, 0, 40, 40, 40] + [0] * 762)
    return img


@pytest.mark.parametrize("mode", ["RGBa", "La", "PA"])
def test_premultiplied_and_palette_alpha_modes_are_over_white(mode):
    from vizlib.image import _to_rgb

    rgb = np.asarray(_to_rgb(alpha_mode(mode)))
    assert (rgb[:, :20] == 255).all() and np.abs(rgb[:, 20:].astype(int) - 40).max() <= 1, mode


# ---------------------------------------------------------------- what a browser shows first

GREEN = (0, 160, 0)
FIRST_SHOWN = (255, 255, 255), RED  # left half transparent, over the white page; right half red


def left_clear_right_red() -> Image.Image:
    """RGBA 40 × 30: the left half fully transparent, the right half opaque red."""
    return Image.fromarray(half((4,), (0, 0, 0, 0), (*RED, 255)))


def apng(blend: int, fallback: bool) -> bytes:
    """An APNG whose first animation frame is ``left_clear_right_red``, then blue; with ``fallback``,
    a green default image that is not part of the animation comes first (``default_image=True``)."""
    frames = [left_clear_right_red(), Image.new("RGBA", (40, 30), (*BLUE, 255))]
    lead = Image.new("RGBA", (40, 30), (*GREEN, 255)) if fallback else frames.pop(0)
    return png_bytes(lead, save_all=True, append_images=frames, default_image=fallback, duration=60_000, blend=blend)


def riff_chunks(data: bytes):
    """(fourcc, offset) of a WebP's top-level chunks."""
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        yield data[pos : pos + 4], pos
        pos += 8 + size + (size & 1)


def webp(animated: bool, lossless: bool, exif: bool = False) -> bytes:
    """``left_clear_right_red`` (then blue) as WebP with every hint that it has alpha cleared: VP8X's
    alpha flag and the lossless bitstream's alpha_is_used bit. Its pixels still carry the alpha."""
    first, save = left_clear_right_red(), dict(lossless=lossless, quality=90)
    if animated:
        save |= dict(save_all=True, append_images=[Image.new("RGBA", (40, 30), (*BLUE, 255))], duration=60_000)
    if exif:
        save["exif"] = Image.Exif()  # makes a still picture VP8X
        save["exif"][0x010E] = "a description"
    data = bytearray(png_bytes(first, format="WEBP", **save))
    for fourcc, pos in list(riff_chunks(bytes(data))):
        if fourcc == b"VP8X":
            data[pos + 8] &= ~0x10  # the alpha flag
        if fourcc == b"VP8L":
            assert data[pos + 8] == 0x2F
            data[pos + 12] &= ~0x10  # bit 28 of the header word: alpha_is_used
    return bytes(data)


SHOWN_FIRST = [
    ("apng, fallback, first frame blends over", apng(1, fallback=True), FIRST_SHOWN),
    ("apng, fallback, first frame replaces", apng(0, fallback=True), FIRST_SHOWN),
    ("apng, no fallback", apng(1, fallback=False), FIRST_SHOWN),
    ("animated webp, lossless, no alpha flag", webp(animated=True, lossless=True), FIRST_SHOWN),
    ("animated webp, lossy, no alpha flag", webp(animated=True, lossless=False), FIRST_SHOWN),
    ("still webp, lossless, no alpha bit", webp(animated=False, lossless=True), FIRST_SHOWN),
    ("still webp, lossless + exif, no flag or bit", webp(animated=False, lossless=True, exif=True), FIRST_SHOWN),
    # Lossy with an ALPH chunk but no alpha flag: browsers ignore that alpha (Chromium shows black), so do we.
    ("still webp, lossy, no alpha flag", webp(animated=False, lossless=False, exif=True), ((0, 0, 0), RED)),
]


@pytest.mark.parametrize("name, data, shown", SHOWN_FIRST, ids=[c[0] for c in SHOWN_FIRST])
def test_the_first_frame_a_browser_shows(name, data, shown):
    rgb = np.asarray(load_image(data)).astype(int)  # (30, 40, 3)
    assert np.abs(rgb[:, :16] - shown[0]).max() <= 3, name  # 4 px from the edge, which lossy WebP blurs
    assert np.abs(rgb[:, 24:] - shown[1]).max() <= 3, name


def test_pillow_alone_shows_the_fallback_and_black():
    """What the page showed before: Pillow's frame 0 is the APNG's fallback; the WebPs lose their alpha."""
    assert Image.open(io.BytesIO(apng(1, fallback=True))).convert("RGB").getpixel((30, 10)) == GREEN
    for data in (webp(animated=True, lossless=True), webp(animated=False, lossless=True)):
        assert Image.open(io.BytesIO(data)).convert("RGB").getpixel((5, 5)) == (0, 0, 0)


def test_opaque_webp_is_unchanged_by_the_alpha_hints():
    photo = Image.effect_noise((40, 30), 60).convert("RGB")
    for save in (dict(lossless=True), dict(lossless=True, save_all=True, append_images=[photo], duration=100)):
        data = png_bytes(photo, format="WEBP", **save)
        assert (np.asarray(load_image(data)) == np.asarray(photo)).all()


# ---------------------------------------------------------------- samples wider than 8 bits


def tiff(samples: np.ndarray) -> bytes:
    """An uncompressed little-endian TIFF of these samples, any dtype: greyscale (H, W) or RGB (H, W, 3)."""
    h, w = samples.shape[:2]
    spp, bits = (1 if samples.ndim == 2 else samples.shape[2]), samples.dtype.itemsize * 8
    kind = {"u": 1, "i": 2, "f": 3}[samples.dtype.kind]
    per_sample = struct.pack(f"<{spp}H", *[bits] * spp) + struct.pack(f"<{spp}H", *[kind] * spp)
    extra, pixels = 8 + 2 + 10 * 12 + 4, samples.astype(samples.dtype.newbyteorder("<")).tobytes()

    def short(value):
        return struct.pack("<HH", value, 0)

    def long(value):
        return struct.pack("<I", value)

    def per_pixel(value, at):  # a SHORT tag's one value, or the offset of its values per sample
        return short(value) if spp == 1 else long(at)

    # ImageWidth, ImageLength, BitsPerSample, Compression, Photometric, StripOffsets, SamplesPerPixel,
    # RowsPerStrip, StripByteCounts, SampleFormat: (tag, type 3 SHORT or 4 LONG, count, value or offset)
    entries = [
        (256, 4, 1, long(w)), (257, 4, 1, long(h)), (258, 3, spp, per_pixel(bits, extra)),
        (259, 3, 1, short(1)), (262, 3, 1, short(1 if spp == 1 else 2)), (273, 4, 1, long(extra + len(per_sample))),
        (277, 3, 1, short(spp)), (278, 4, 1, long(h)), (279, 4, 1, long(len(pixels))),
        (339, 3, spp, per_pixel(kind, extra + 2 * spp)),
    ]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHI", *e[:3]) + e[3] for e in entries)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + per_sample + pixels


RAMP = np.linspace(0, 1, 30 * 40).reshape(30, 40)  # (30, 40) from 0 to 1


def grey(data: bytes) -> np.ndarray:
    rgb = np.asarray(load_image(data)).astype(int)  # (30, 40, 3)
    assert (rgb == rgb[..., :1]).all()
    return rgb[..., 0]


@pytest.mark.parametrize(
    "samples, lo, hi",
    [
        (RAMP, 0.0, 1.0),  # the float convention: 0 black, 1 white
        (RAMP * 200, 0.0, 255.0),  # beyond 1: as 8-bit samples
        (RAMP * 60_000, 0.0, 65535.0),  # beyond 255: as 16-bit samples
        (RAMP * 2 - 1, -1.0, 1.0),  # negative: stretched from the smallest to the largest
        (RAMP * 1e6, 0.0, 1e6),  # beyond 16 bits: stretched
    ],
    ids=["0-1", "0-200", "0-60000", "-1-1", "0-1e6"],
)
def test_float_tiff_follows_the_range_rule(samples, lo, hi):
    via_pillow = png_bytes(Image.fromarray(samples.astype(np.float32)), format="TIFF")
    assert Image.open(io.BytesIO(via_pillow)).mode == "F"
    expected = np.floor((samples.astype(np.float32) - lo) / (hi - lo) * 255 + 0.5)
    for data in (via_pillow, tiff(samples.astype(np.float32))):
        assert np.abs(grey(data) - expected).max() <= 1


def test_float_tiff_not_a_number_is_transparent_and_infinities_clip():
    samples = (RAMP * 0.5).astype(np.float32)  # 0 … 0.5: the [0, 1] rule
    samples[0, 0], samples[0, 1], samples[0, 2] = np.nan, np.inf, -np.inf
    out = grey(tiff(samples))
    assert out[0, 0] == 255 and out[0, 1] == 255 and out[0, 2] == 0  # NaN over white; +∞ white, −∞ black
    assert out[-1, -1] == 128  # 0.5 → mid grey: the infinities did not widen the range


@pytest.mark.parametrize(
    "samples, expected",
    [((RAMP * 250).astype(np.int32), np.floor(RAMP * 250 + 0.5)), ((RAMP * 1e6).astype(np.int32), None)],
    ids=["0-250", "0-1e6"],
)
def test_32_bit_integer_tiff_follows_the_range_rule(samples, expected):
    out = grey(tiff(samples))
    assert np.abs(out - (expected if expected is not None else np.floor(samples / 1e6 * 255 + 0.5))).max() <= 1


@pytest.mark.parametrize(
    "samples, layout",
    [
        (RAMP.astype(np.float16), "1 × float16"),
        (RAMP, "1 × float64"),
        (np.dstack([RAMP] * 3).astype(np.float32), "3 × float32"),
    ],
    ids=["float16", "float64", "rgb-float32"],
)
def test_float_tiffs_pillow_cannot_read_say_so(samples, layout):
    with pytest.raises(ImageError, match=layout) as caught:
        load_image(tiff(samples))
    assert caught.value.code == "tiff_layout" and caught.value.fields == {"layout": layout}
