"""Where the shipped files live: sample photos, the translation table, checkpoints."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = ROOT / "assets"
SAMPLES_DIR = ASSETS_DIR / "samples"
