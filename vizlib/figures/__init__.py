"""Pure figure builders: (arrays from a Trace, the picture, options) → plotly ``go.Figure``.

No builder runs the model or knows about streamlit; every word shown comes in as an argument,
so the page can pass it translated.
"""
