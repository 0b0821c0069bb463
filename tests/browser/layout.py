"""What a person sees that AppTest cannot: boxes that overlap, text cut off, a figure below the fold.

Each check is JavaScript run in the page; each returns a list of faults (empty when the page is fine),
described well enough to find them: the element's kind, text and the pixels involved.
"""

from __future__ import annotations

# Every pair of things a reader must tell apart: plotly titles, annotations, axis titles, play
# buttons, slider parts and colour bars; Streamlit's widget labels, buttons, headings, slider thumbs
# and their values, tabs. Pairs where one holds the other, and a slider's grip on its own rail, are
# fine; so is a touch of up to 4 px (line boxes are taller than their letters).
OVERLAPS = """() => {
  const boxes = [];
  // (a closed sidebar squeezes its widgets to nothing, off the screen's left edge: not seen, not checked)
  const add = (el, kind) => { const r = el.getBoundingClientRect(); if (r.width >= 2 && r.height >= 2 && r.right > 0)
    boxes.push({el, kind, r, text: (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 50)}); };
  for (const gd of document.querySelectorAll('.js-plotly-plot'))
    gd.querySelectorAll('.gtitle, .annotation-text, .g-xtitle text, .g-ytitle text, .updatemenu-button, '
      + '.slider-rail-rect, .slider-grip-rect, .slider-container text, .colorbar').forEach(e => add(e, 'plotly'));
  document.querySelectorAll('[data-testid="stWidgetLabel"], button:not(.modebar-btn), h1, h2, h3, [role="slider"], '
    + '[data-testid="stSliderThumbValue"], [data-baseweb="tab"]').forEach(e => {
      // Streamlit's own chrome that shows on hover (an element's toolbar, a code block's copy button) or
      // scrolls an overflowing tab bar is drawn over the page on purpose
      if (!e.closest('[data-testid="stElementToolbar"], [data-testid="stCodeCopyButton"]')
          && !(e.getAttribute('aria-label') || '').startsWith('Scroll tabs')) add(e, 'page'); });
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const slider = a.el.closest('.slider-container');
    if (slider && slider === b.el.closest('.slider-container')
        && [a, b].some(x => x.el.classList.contains('slider-grip-rect'))) continue;
    const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (w > 4 && h > 4)
      hits.push(`${a.kind} "${a.text}" × ${b.kind} "${b.text}": ${Math.round(w)}×${Math.round(h)} px`);
  }
  // The header's buttons (the sidebar's open button, on a phone) over anything the page draws.
  for (const b of document.querySelectorAll('[data-testid="stHeader"] button, [data-testid="stExpandSidebarButton"]')) {
    const r = b.getBoundingClientRect();
    for (const e of document.querySelectorAll('.stMain [data-testid="stElementContainer"]')) {
      const o = e.getBoundingClientRect().toJSON();  // where it is with the page scrolled to its top
      for (let p = e.parentElement; p; p = p.parentElement) { o.top += p.scrollTop; o.bottom += p.scrollTop; }
      const w = Math.min(o.right, r.right) - Math.max(o.left, r.left);
      const h = Math.min(o.bottom, r.bottom) - Math.max(o.top, r.top);
      if (r.width >= 2 && o.height > 2 && w > 4 && h > 4)
        hits.push(`header button over "${e.innerText.trim().slice(0, 40)}": ${Math.round(w)}×${Math.round(h)} px`);
    }
  }
  // A colour bar over what a panel draws (heatmaps and pictures are <image>s): in a figure whose
  // panels stack or wrap, a bar placed for one row would lie over the next panel.
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const areas = [...gd.querySelectorAll('.cartesianlayer image')].map(e => e.getBoundingClientRect());
    for (const bar of gd.querySelectorAll('.colorbar')) {
      const r = bar.getBoundingClientRect();
      for (const a of areas) {
        const w = Math.min(a.right, r.right) - Math.max(a.left, r.left);
        const h = Math.min(a.bottom, r.bottom) - Math.max(a.top, r.top);
        const chart = [...(gd.closest('[class*="st-key-"]')?.classList || [])].find(c => c.startsWith('st-key-'));
        if (w > 4 && h > 4) hits.push(`colour bar over a panel of ${chart}: ${Math.round(w)}×${Math.round(h)} px`);
      }
    }
  }
  return hits;
}"""

# A label drawn in a box (the overview's boxes) that runs past the box's edges: for each plotly
# annotation whose centre lies in a shape, the annotation's text must lie inside that shape.
BOXED_LABELS = """() => {
  const faults = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const boxes = [...gd.querySelectorAll('.shapelayer path')].map(e => e.getBoundingClientRect())
      .filter(r => r.width > 8 && r.height > 8);
    for (const note of gd.querySelectorAll('.annotation-text')) {
      const t = note.getBoundingClientRect();
      if (t.width < 2) continue;
      const cx = (t.left + t.right) / 2, cy = (t.top + t.bottom) / 2;
      for (const b of boxes) {
        if (cx < b.left || cx > b.right || cy < b.top || cy > b.bottom) continue;
        if (t.left < b.left - 2 || t.right > b.right + 2 || t.top < b.top - 2 || t.bottom > b.bottom + 2)
          faults.push(`label "${note.textContent.slice(0, 40)}" runs past its box`);
      }
    }
  }
  return faults;
}"""

# Every tap target a person can see that is smaller than 44 × 44 CSS px (WCAG 2.5.5; Apple's and
# Material's guidance say 44 and 48): Streamlit's buttons, tabs, radio and checkbox rows, toggles,
# selectboxes, number steppers, expanders and slider thumbs, and plotly's play buttons. A target's
# box is what takes the tap: for a radio, checkbox or toggle its whole label row.
SMALL_TARGETS = """() => {
  const faults = [];
  const seen = (e) => { const r = e.getBoundingClientRect(); const cs = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && e.offsetParent !== null; };
  const selectors = ['button:not(.modebar-btn):not([tabindex="-1"])', '[role="tab"]', 'label.stRadioOption',
    '[data-testid="stCheckbox"] label', '[data-baseweb="select"] > div',
    '[data-testid="stSlider"] [data-rac][style*="translate"]', '[data-testid="stExpander"] summary',
    '.updatemenu-button'];
  for (const sel of selectors) for (const e of document.querySelectorAll(sel)) {
    if (!seen(e) || e.closest('[data-testid="stElementToolbar"]') || e.closest('[data-testid="stSidebar"]')
        && document.querySelector('[data-testid="stSidebar"]').getBoundingClientRect().right <= 1) continue;
    const r = e.getBoundingClientRect(), before = getComputedStyle(e, '::before');
    const taps = before.content !== 'none' && before.position === 'absolute'  // an empty ::before takes taps too
      ? [Math.max(r.width, parseFloat(before.width) || 0), Math.max(r.height, parseFloat(before.height) || 0)]
      : [r.width, r.height];
    if (taps[0] < 44 - 0.5 || taps[1] < 44 - 0.5)
      faults.push(`${sel} "${(e.innerText || e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30)}"`
        + `: ${Math.round(taps[0])}×${Math.round(taps[1])} px`);
  }
  return faults;
}"""

# A control narrower than its own label (a tab or a button squeezed by its row: the labels then run
# into each other), and not because the sidebar is closed.
SQUEEZED = """() => {
  const faults = [];
  for (const e of document.querySelectorAll('.stApp button, .stApp [role="tab"]')) {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || e.offsetParent === null || !e.innerText.trim() || e.closest('[data-testid="stSidebar"]')
        && document.querySelector('[data-testid="stSidebar"]').getBoundingClientRect().right <= 1) continue;
    let left = Infinity, right = -Infinity;  // where its words are drawn
    const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      if (!walk.currentNode.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(walk.currentNode);
      for (const q of range.getClientRects()) {
        if (q.width) { left = Math.min(left, q.left); right = Math.max(right, q.right); }
      }
    }
    if (left < box.left - 2 || right > box.right + 2)
      faults.push(`"${e.innerText.trim().slice(0, 30)}" is ${Math.round(box.width)} px for `
        + `${Math.round(right - left)} px of label`);
  }
  return faults;
}"""

# Text cut off: a plotly title or annotation outside its figure, a selectbox value wider than its box.
CLIPPED = """() => {
  const faults = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const f = gd.getBoundingClientRect();
    gd.querySelectorAll('.gtitle, .annotation-text, .g-xtitle text, .g-ytitle text').forEach(e => {
      const r = e.getBoundingClientRect();
      if (r.width > 0 && (r.left < f.left - 1 || r.right > f.right + 1 || r.top < f.top - 1 || r.bottom > f.bottom + 1))
        faults.push(`title "${e.textContent.slice(0, 50)}" outside its figure`);
    });
  }
  const ctx = document.createElement('canvas').getContext('2d');
  document.querySelectorAll('[data-testid="stSelectbox"] input').forEach(e => {
    const cs = getComputedStyle(e); ctx.font = cs.font;
    const room = e.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (room <= 0) return;  // not shown (a closed sidebar)
    const width = ctx.measureText(e.value).width;
    if (width > room + 1) faults.push(`selectbox "${e.value}" is ${Math.round(width)} px in ${Math.round(room)} px`);
  });
  return faults;
}"""

# Whether the lesson step's main figure is on the page and drawn (a section streams its elements in:
# the page's first chart, the overview, may be drawn before the section's own).
MAIN_FIGURE_DRAWN = """() => {
  const el = document.querySelector('.st-key-lesson_section')?.querySelector('.js-plotly-plot, '
    + '[data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stTable"]');
  return !!el && (!el.classList.contains('js-plotly-plot') || !!el.querySelector('.main-svg'));
}"""

# The lesson step's main figure (the first chart, metric or table of its section): the part of it that
# is drawn (plotly's image, lines and text, not its empty box), as [top, bottom, left, right] in px.
MAIN_FIGURE = """() => {
  const section = document.querySelector('.st-key-lesson_section');
  const el = section.querySelector('.js-plotly-plot, [data-testid="stMetric"], [data-testid="stDataFrame"],'
    + ' [data-testid="stTable"]');
  if (!el.classList.contains('js-plotly-plot')) { const r = el.getBoundingClientRect();
    return [r.top, r.bottom, r.left, r.right]; }
  let box = [Infinity, -Infinity, Infinity, -Infinity];
  for (const e of el.querySelectorAll('svg path, svg image, svg text, svg rect:not(.bg)')) {
    if (e.closest('defs') || e.closest('.draglayer')) continue;
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    box = [Math.min(box[0], r.top), Math.max(box[1], r.bottom), Math.min(box[2], r.left), Math.max(box[3], r.right)];
  }
  return box;
}"""

# Every radio group: the label of each checked option (exactly one per group when all is well).
CHECKED_RADIOS = """() => [...document.querySelectorAll('[data-testid="stRadio"]')].map(group => ({
  label: group.querySelector('[data-testid="stWidgetLabel"]').innerText.trim(),
  checked: [...group.querySelectorAll('label')].filter(l => l.querySelector('input')?.checked)
    .map(l => l.innerText.trim())}))"""


def collapse_sidebar(page) -> None:
    """Close the sidebar as a presenter would (its button shows only while the pointer is over it)."""
    button = page.locator('[data-testid="stSidebarCollapseButton"] button')
    if button.count():
        page.locator('[data-testid="stSidebar"]').hover()
        button.first.click(force=True)
        page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]')"
                               ".getBoundingClientRect().right <= 1", timeout=10_000)  # fmt: skip
        page.wait_for_timeout(600)  # the main area widens; plotly redraws at the new width


# Every named part of a lesson step, with where it ends: each chart, metric, table and button of
# the step's section, the equality line of the window step (the caption that names patch_grid), and
# the buttons that offer trained weights. A projector's first screen must hold all of them.
NAMED_PARTS = """() => {
  const section = document.querySelector('.st-key-lesson_section');
  const parts = [...section.querySelectorAll('.js-plotly-plot, [data-testid="stMetric"], [data-testid="stTable"],'
    + ' [data-testid="stDataFrame"], button')]
    .filter(e => !e.closest('.st-key-attention_inside') && (e.tagName !== 'BUTTON' || e.innerText.trim()));
  parts.push(...[...section.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .filter(e => e.innerText.includes('patch_grid[')));
  parts.push(...document.querySelectorAll('.st-key-lesson_use_real button, .st-key-lesson_use_shapes button'));
  return parts.filter(e => e.offsetParent !== null).map(e => {
    const r = e.getBoundingClientRect();
    return {what: (e.dataset.testid || e.className.split(' ')[0] || e.tagName) + ' ' + e.innerText.slice(0, 30),
            top: Math.round(r.top), bottom: Math.round(r.bottom)};
  });
}"""
