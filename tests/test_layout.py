"""The house rules: vizlib stays UI-free and reference-free; config files say what they should."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from vizlib.i18n import LANGUAGES, Translator, load_table

ROOT = Path(__file__).resolve().parent.parent


def test_vizlib_imports_neither_streamlit_nor_transformers():
    code = (
        "import sys, importlib, pkgutil, vizlib\n"
        "for m in pkgutil.walk_packages(vizlib.__path__, 'vizlib.'): importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('streamlit', 'transformers'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(out.stdout) == []


def test_streamlit_config_limits_uploads_and_keeps_xsrf():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert 1 <= server["maxUploadSize"] <= 20
    assert server["disconnectedSessionTTL"] >= 600  # a dropped connection keeps its session through a lesson


def test_streamlit_config_skips_the_full_gc_after_every_run():
    runner = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]
    assert runner["postScriptGC"] is False  # a full gc.collect(2) per click was most of its server CPU


def test_every_key_has_english_and_japanese():
    table = load_table()
    jp = __import__("re").compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    for key, texts in table.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(texts[lang].strip() for lang in LANGUAGES), key
        assert jp.search(texts["ja"]), f"{key}: Japanese text without kana or kanji"


def test_translator_fills_fields():
    assert Translator("ja")("strip_conv", P=16).startswith("Conv2d(k=16, s=16)")
    assert "16" in Translator("en")("strip_encoder", depth=16)


def test_nothing_a_user_sends_is_unpickled_or_executed():
    """Weights come from safetensors only; no pickle, torch.load, eval or exec in the app or library."""
    import ast

    forbidden = {("torch", "load"), ("pickle", "load"), ("pickle", "loads"), ("numpy", "load")}
    files = [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py")), *sorted((ROOT / "page").rglob("*.py")),
             *sorted((ROOT / "vizlib").rglob("*.py"))]  # fmt: skip
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__"):
                    found.append((path.name, func.id))
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    alias = {"np": "numpy", "torch": "torch", "pickle": "pickle"}.get(func.value.id, func.value.id)
                    if (alias, func.attr) in forbidden:
                        found.append((path.name, f"{alias}.{func.attr}"))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                if any(n.split(".")[0] in ("pickle", "dill", "joblib") for n in names):
                    found.append((path.name, "imports pickle"))
    assert found == []


def imported_page_modules(path) -> set[str]:
    """The ``views`` modules a file imports (``from views import x``, ``from views.x import …``)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "views":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("views."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("views.")}
    return found


def test_no_view_imports_another_and_app_reaches_every_view():
    """A view imports vizlib and ``page/`` (the page state among it), never another view; ``page/``
    imports no view; app.py wires them."""
    views = {p.stem for p in (ROOT / "views").glob("*.py")} - {"__init__"}
    assert {"patches", "embedding", "proof", "attention", "paper", "predictions", "lesson", "downloads",
            "sidebar", "summary"} <= views  # fmt: skip
    for path in sorted((ROOT / "views").glob("*.py")) + sorted((ROOT / "page").glob("*.py")):
        assert imported_page_modules(path) == set(), (path.name, imported_page_modules(path))
    assert imported_page_modules(ROOT / "app.py") >= views  # one hop from app.py


# What the entry may call on ``st``: set-up, page-level notices, the view tabs and placeholders.
ENTRY_CALLS = {"set_page_config", "html", "title", "markdown", "spinner", "error", "info", "stop", "tabs", "empty",
               "session_state", "query_params", "cache_resource"}  # fmt: skip


def test_app_py_wires_the_views_and_draws_none_itself():
    """The entry: set-up, the share link, the sidebar, the compute, the open view. It draws no widget
    and no chart, imports no figure builder, analysis or tensor library: views/ does that."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 for alias in node.names}  # fmt: skip
    assert not {name for name in imported if name.split(".")[0] in ("torch", "numpy", "plotly")
                or name.startswith(("vizlib.figures", "vizlib.analysis", "vizlib.model"))}, imported  # fmt: skip
    called = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.value.id == "st"}  # fmt: skip
    assert called <= ENTRY_CALLS, called - ENTRY_CALLS  # a widget or a chart here belongs in a view
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr in
                ("cached_chart", "chart", "plotly_chart")]  # fmt: skip
