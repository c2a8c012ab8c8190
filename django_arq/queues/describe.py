"""Text of values that jobs and callers give: ``str`` and ``repr`` that never raise.

A job may raise or return an object whose ``__str__`` or ``__repr__`` itself raises; its record,
its trace and its log lines then describe it by its class instead, and the worker goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["class_path", "safe_repr", "safe_str"]


def class_path(kind: type, *, builtins: bool = True) -> str:
    """A class's dotted path (``module.QualName``); ``builtins=False`` leaves out ``builtins.``."""
    if not builtins and kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _unreadable(value: Any, method: str, exc: BaseException) -> str:
    return f"<{type(value).__qualname__} object; {method}() raised {type(exc).__name__}>"


def safe_str(value: Any) -> str:
    """``str(value)``, or a description of the value if its ``__str__`` fails."""
    try:
        return str(value)
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise
    except BaseException as exc:  # SystemExit too: a method of a job's object must not stop the worker
        return _unreadable(value, "str", exc)


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a description of the value if its ``__repr__`` fails."""
    try:
        return repr(value)
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise
    except BaseException as exc:
        return _unreadable(value, "repr", exc)
