"""How wide the page's main column is, as the browser reports it: figures lay themselves out for it.

A phone held upright gives the main column about 360 px, a tablet about 700, a laptop 900 or more.
Figures with several panels side by side stack or wrap them below ``NARROW_PX`` (issue 26). The
browser measures the column (``stMainBlockContainer`` less its padding) with a ResizeObserver and
tells the server only when the answer changes (with whether the screen is touched, CSS ``pointer:
coarse``), through a Streamlit component (``st.components.v2``,
JavaScript only, no iframe): a laptop never reruns for it; a phone reruns once at most, and not at
all where its User-Agent already said "Mobile" (the first run's guess, before the browser answers).
Turning a tablet or opening the sidebar on a small laptop crosses the line: one rerun each time.

Not a view: it draws nothing a person sees (the component's element is hidden by ``PAGE_CSS``).
"""

from __future__ import annotations

import streamlit as st

NARROW_PX = 640  # px of the main column: below it, panels stack (a phone upright; not a tablet)
KEY = "screen"  # the component's key (and its hidden element's class, st-key-screen)

# Runs in the page each time the component mounts; the last answer sent is kept on the window so that
# a later render (new data, same page) does not send it again.
_JS = """
export default function ({ data, setStateValue }) {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!main) return;
  if (window.__vitLayout === undefined) window.__vitLayout = JSON.stringify(data.layout);
  window.__vitServer = JSON.stringify(data.layout);  // what this run was drawn for (tests wait on it)
  const report = () => {
    const cs = getComputedStyle(main);
    const width = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (width <= 0) return;
    const layout = { narrow: width < data.narrow_px, touch: matchMedia('(pointer: coarse)').matches };
    const said = JSON.stringify(layout);
    window.__vitMeasured = true;
    // Sent when it changes; sent again where the server still believes otherwise (a server restarted
    // under an open page), at most every 5 s, so that nothing here can make reruns run in a loop.
    const stale = said !== JSON.stringify(data.layout) && Date.now() - (window.__vitSent || 0) > 5000;
    if (said !== window.__vitLayout || stale) {
      window.__vitLayout = said;
      window.__vitSent = Date.now();
      setStateValue('layout', layout);
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


def _guess() -> dict:
    """The first run's answer, before the browser's: a phone's User-Agent says "Mobi" (Mozilla's advice
    for telling phones from tablets), and a phone is narrow and touched; anything else is taken to be
    a wide screen with a mouse until the browser says."""
    phone = "Mobi" in (st.context.headers.get("User-Agent") or "")
    return {"narrow": phone, "touch": phone}


def measure() -> None:
    """Mount the probe (once per run, before anything is drawn); its answers are ``narrow()`` and
    ``touch()``."""
    if KEY not in st.session_state:
        st.session_state["_layout_guess"] = _guess()
    current = {"narrow": narrow(), "touch": touch()}
    _probe(key=KEY, data={"narrow_px": NARROW_PX, "layout": current}, default={"layout": current},
           on_layout_change=lambda: None, height=0)  # fmt: skip


def _answer() -> dict:
    """The browser's last answer, else the first run's guess."""
    said = (st.session_state.get(KEY) or {}).get("layout")
    return said if isinstance(said, dict) else st.session_state.get("_layout_guess") or {}


def narrow() -> bool:
    """Whether the main column is narrower than ``NARROW_PX`` (a phone held upright)."""
    return bool(_answer().get("narrow", False))


def touch() -> bool:
    """Whether the screen is touched rather than pointed at (CSS ``pointer: coarse``): play buttons
    grow to take a finger."""
    return bool(_answer().get("touch", False))
