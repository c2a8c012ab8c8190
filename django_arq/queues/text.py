"""Text that every store and output takes: NUL characters and lone surrogates replaced.

PostgreSQL refuses a NUL character in text and in ``jsonb``; UTF-8 (Redis read back, the database,
a terminal) cannot hold a lone surrogate, which Python makes of bytes that were not UTF-8. Both
become U+FFFD, the replacement character.
"""

from __future__ import annotations

import re

__all__ = ["ELLIPSIS", "REPLACEMENT", "storable_text", "unstorable"]

#: Stands for a character that cannot be stored.
REPLACEMENT = "\ufffd"
#: Ends text cut to fit.
ELLIPSIS = "\u2026"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL character or a lone surrogate."""
    return not (text.isascii() and "\x00" not in text) and _UNSTORABLE.search(text) is not None


def storable_text(text: str, max_length: int | None = None) -> str:
    """``text`` with NUL and lone surrogates replaced, cut to ``max_length`` with a final "…"."""
    if not text.isascii() or "\x00" in text:
        text = _UNSTORABLE.sub(REPLACEMENT, text)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + ELLIPSIS
    return text
