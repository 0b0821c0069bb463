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
