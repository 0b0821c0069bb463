"""What the page's views share and are not views themselves. Where to look:

- the page's state: ``state`` (every choice, its default, the widgets' binding, clamping) and
  ``urlstate`` (the share link's format: URL names, parsers, what a link carries);
- what is computed and cached: ``compute`` (models, traces, analyses, figures, shared by sessions);
  what the server may load: ``serving`` (its policy for hub ids and model folders);
- drawing: ``ui`` (charts, messages, user text), ``theme`` (the page's CSS), ``screen`` (the width
  the browser reports), ``link`` (the share link's notice);
- a class: ``classes`` (the teacher publishes, a student follows).

The views import this package and ``vizlib``, never one another; nothing here imports a view;
``vizlib`` never imports streamlit."""
