"""What the page's views share and are not views themselves: the cached compute (``compute``), the
drawing helpers (``ui``) and the share link's notice (``link``). The views import this package,
``views.state`` and ``vizlib``, never one another; ``vizlib`` never imports streamlit."""
