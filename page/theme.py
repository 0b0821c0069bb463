"""The page's own styles: CSS for every page, for the lesson and for presenter view (a projector).

The figures' presenter restyling (colour-blind-safe colours, thicker lines, larger fonts) lives with
the figures, in ``vizlib.figures.theme.presenter``; this module styles what Streamlit draws.
"""

from __future__ import annotations

# Presenter view: readable from the back of a room (the figures are restyled by vizlib.figures.theme.presenter).
# Only on screens wider than a tablet held upright: a student's phone that opens the teacher's
# presenter link keeps the normal sizes (issue 26), as Streamlit's own layout changes at 768 px.
PRESENTER_MIN_WIDTH = 769  # px
PRESENTER_CSS = """<style>
@media (min-width: 769px) {
.stApp, .stApp p, .stApp li, .stApp label, .stApp input { color: #000 !important; }
/* sizes in the main area only: the sidebar is the teacher's panel, laid out for its own width */
.stMain [data-testid="stMarkdownContainer"] p, .stMain [data-testid="stMarkdownContainer"] li { font-size: 1.45rem;
  line-height: 1.55; }
.stMain [data-testid="stCaptionContainer"] { font-size: 1.15rem; color: #222 !important; }
.stMain h1 { font-size: 3rem !important; } .stMain h2 { font-size: 2.3rem !important; }
.stMain h3 { font-size: 1.75rem !important; }
.stMain button p, .stMain [data-baseweb="tab"] p { font-size: 1.3rem !important; font-weight: 600; }
.stMain code, .stMain pre { font-size: 1.15rem !important; }
.stMain [data-testid="stWidgetLabel"] p { font-size: 1.15rem !important; }
.stMain [data-testid="stSlider"] [data-testid="stWidgetLabel"] { margin-bottom: 0.7rem; }
/* a disabled button must not look clickable (the black text above would make it) */
.stApp button:disabled, .stApp button:disabled p { color: rgba(49, 51, 63, 0.38) !important; }
.stApp button:disabled { border-color: rgba(49, 51, 63, 0.15) !important; background: #f4f4f6 !important; }
.stMain [data-testid="stTable"] th, .stMain [data-testid="stTable"] td { font-size: 1.2rem !important;
  padding: 0.1rem 0.6rem !important; line-height: 1.3; }
.stMain [data-testid="stTable"] td { white-space: nowrap; }  /* numbers and "← now" on one line */
}
</style>"""
# Every page: a slider's value floats over its thumb; at the left end it touched the label above.
PAGE_CSS = """<style>
[data-testid="stSlider"] [data-testid="stWidgetLabel"] { margin-bottom: 0.35rem; }
.st-key-screen { display: none; }
/* Rows that stay one row on a phone (st.columns(wrap=False)): Streamlit gives each column at least
   128 px, which pushes the last one off a 390 px screen. */
.st-key-lesson_heading [data-testid="stColumn"], .st-key-step_row [data-testid="stColumn"] { min-width: 0; }
/* A finger needs 44 × 44 CSS px (WCAG 2.5.5; Apple's guidance): on touch screens every button, tab,
   expander, stepper, radio and checkbox row is at least that big; the small "?" help icons and the
   slider thumbs keep their look and place and take taps over 44 px through an empty ::before. */
@media (pointer: coarse) {
  .stApp button, .stApp [role="tab"], .stApp [data-testid="stExpander"] summary { min-height: 44px; min-width: 44px; }
  /* min-width replaces a flex item's "auto" (its label's width): a tab would shrink under its label and the
     labels run into each other; tabs keep their width and the tab bar scrolls instead */
  .stApp [role="tab"] { flex-shrink: 0; }
  .stApp [data-testid="stNumberInputContainer"], .stApp [data-baseweb="select"] > div { min-height: 44px; }
  .stApp label.stRadioOption, .stApp [data-testid="stCheckbox"] label { min-height: 44px; align-items: center; }
  .stApp .stTooltipIcon button { min-height: 0; min-width: 0; position: relative; }
  .stApp .stTooltipIcon button::before { content: ""; position: absolute; inset: -14px; }
  .stApp [data-testid="stSlider"] [data-rac][style*="translate"]::before { content: ""; position: absolute;
    inset: -16px; }
}
</style>"""

# The lesson starts at the top of the screen: a transparent header (it holds only the sidebar and
# menu buttons, at the sides) and less padding above, so each step's figure fits a 1280×720 projector.
LESSON_CSS = """<style>
[data-testid="stHeader"] { background: transparent; }
[data-testid="stMainBlockContainer"] { padding-top: 2.25rem; }
/* where the sidebar starts closed, its open button sits at the top left of the page: the step starts under it */
@media (max-width: 768px) { [data-testid="stMainBlockContainer"] { padding-top: 4rem; } }
</style>"""
