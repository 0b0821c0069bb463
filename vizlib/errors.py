"""The one base of every error the page says to its user: ``CodedError``.

Each carries a translation ``code`` (the table's key is ``err_<code>`` in assets/i18n.json) and the
``fields`` that fill its placeholders; a field may itself be a ``CodedError`` (a ``ConfigError``
inside a ``WeightsError``), which the page translates too (``page.ui.explain``). Its English message
is the ``str()`` a script, a log or a test reads.
"""

from __future__ import annotations


class CodedError(ValueError):
    """An error with a translation ``code`` and its ``fields`` (subclassed by ``image.ImageError``,
    ``config.ConfigError``, ``weights.WeightsError`` and ``HubError``, ``model.NotFiniteError`` and
    ``classroom.ClassError``)."""

    def __init__(self, code: str, message: str, **fields) -> None:
        super().__init__(message)
        self.code = code
        self.fields = fields
