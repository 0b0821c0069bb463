"""How wide the page's main column is, as the browser reports it: figures lay themselves out for it.

A phone held upright gives the main column about 360 px, a tablet about 700, a laptop 900 or more.
Figures with several panels side by side stack or wrap them below ``NARROW_PX`` (issue 26). The
browser measures the column (``stMainBlockContainer`` less its padding) with a ResizeObserver and
tells the server only when the answer changes, through a Streamlit component (``st.components.v2``,
JavaScript only, no iframe): a laptop never reruns for it; a phone reruns once at most, and not at
all where its User-Agent already said "Mobile" (the first run's guess, before the browser answers).
Turning a tablet or opening the sidebar on a small laptop crosses the line: one rerun each time.

Not a view: it draws nothing a person sees (the component's element is hidden by ``PAGE_CSS``).
"""

from __future__ import annotations

import streamlit as st

NARROW_PX = 640  # px of the main column: below it, panels stack (a phone upright; not a tablet)
KEY = "screen"  # the component's key (and its hidden element's class, st-key-screen)

# Runs in the page each time the component renders; the last answer sent is kept on the window so
# that a later render (new data, same page) does not send it again.
_JS = """
export default function ({ data, setStateValue }) {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!main) return;
  if (window.__vitNarrow === undefined) window.__vitNarrow = data.narrow;
  const report = () => {
    const cs = getComputedStyle(main);
    const width = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (width <= 0) return;
    const narrow = width < data.narrow_px;
    if (narrow !== window.__vitNarrow || narrow !== data.narrow) {
      window.__vitNarrow = narrow;
      setStateValue('narrow', narrow);
    }
  };
  const observer = new ResizeObserver(() => requestAnimationFrame(report));
  observer.observe(main);
  report();
  if (!window.__vitTouch) {
    // One tap chooses a patch. plotly selects the point its last hover found; a finger gives it no
    // hover before the tap, so the first tap only showed the hover label. A mousemove where the
    // finger lands, sent before plotly sees the touch, lets the tap's click find its point.
    window.__vitTouch = true;
    document.addEventListener('touchstart', (e) => {
      const target = e.target;
      if (e.touches.length !== 1 || !target.closest || !target.closest('.js-plotly-plot .nsewdrag')) return;
      const touch = e.touches[0];
      target.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, cancelable: true, view: window,
        clientX: touch.clientX, clientY: touch.clientY }));
    }, { capture: true, passive: true });
  }
  return () => observer.disconnect();
}
"""
_probe = st.components.v2.component("vit_screen_probe", js=_JS)


def _guess() -> bool:
    """The first run's answer, before the browser's: a phone's User-Agent says "Mobi" (Mozilla's advice
    for telling phones from tablets); anything else is taken to be wide until the browser says."""
    agent = st.context.headers.get("User-Agent") or ""
    return "Mobi" in agent


def measure() -> None:
    """Mount the probe (once per run, before anything is drawn); its answer is ``narrow()``."""
    if KEY not in st.session_state:
        st.session_state["_narrow_guess"] = _guess()
    current = narrow()
    _probe(key=KEY, data={"narrow_px": NARROW_PX, "narrow": current}, default={"narrow": current},
           on_narrow_change=lambda: None, height=0)  # fmt: skip


def narrow() -> bool:
    """Whether the main column is narrower than ``NARROW_PX``: the browser's answer, else the guess."""
    answer = st.session_state.get(KEY)
    if answer is not None and answer.get("narrow") is not None:
        return bool(answer["narrow"])
    return bool(st.session_state.get("_narrow_guess", False))
