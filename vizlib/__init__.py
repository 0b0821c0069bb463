"""ViT Patch Explorer's library: image → tensor → ViT forward Trace → analysis → figures.

This package never imports streamlit (the page lives in ``app.py``) nor transformers (a test
reference only). Data flows one way: bytes → image → tensor → Trace → figures.
"""

__version__ = "0.1.0"
