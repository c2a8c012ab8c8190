"""Label values that any Prometheus server reads: printable text, of bounded length.

Queue names come from callers (the HTTP API's ``queue``); a NUL byte, a control character or a
lone surrogate in one must not break a scrape, and a long one must not bloat every sample. The
escapes are Python's, the backslash itself included, so two names share a label only when one of
them is cut.
"""

from __future__ import annotations

import functools

__all__ = ["MAX_LENGTH", "label"]

#: Longest label value kept; longer ones are cut and end with "...".
MAX_LENGTH = 200


@functools.lru_cache(maxsize=1024)
def label(value: str) -> str:
    """``value`` with backslashes doubled and unprintable characters escaped as ``\\xNN``/``\\uNNNN``,
    cut at ``MAX_LENGTH``."""
    text = str(value)
    if "\\" in text or not text.isprintable():
        text = "".join(c if c.isprintable() and c != "\\" else ascii(c)[1:-1] for c in text)
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 3] + "..."
    return text
