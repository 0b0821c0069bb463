"""One translation table for every word the page shows, in English and Japanese.

The table lives in ``assets/i18n.json`` as ``{key: {"en": ..., "ja": ...}}``; values may hold
``str.format`` fields (``{P}``) that :meth:`Translator.__call__` fills.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from .paths import ASSETS_DIR

LANGUAGES = {"en": "English", "ja": "日本語"}
TABLE_PATH = ASSETS_DIR / "i18n.json"


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, dict[str, str]]:
    """The whole table, ``{key: {language: text}}``."""
    return json.loads(path.read_text(encoding="utf-8"))


class Translator:
    """``t("key", P=16)`` → the text of ``key`` in this language with its fields filled."""

    def __init__(self, lang: str = "en"):
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r} must be one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self.table = load_table()

    def __call__(self, key: str, **fields) -> str:
        text = self.table[key][self.lang]
        return text.format(**fields) if fields else text
