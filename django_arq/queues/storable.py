"""A job's outcome as its alias's serializer can store it, checked before anyone reports it.

arq serializes a job's result only after the job function returned, and if that fails it logs a
warning and stores a bare "unable to serialize result" failure, while whatever watched the call
(records, metrics, spans, arq's own count) saw a success; a ``BaseException`` raised while
serializing (a ``__reduce__`` raising ``SystemExit``) even escapes arq's worker. ``checked``
runs the serializer on the outcome first, inside those wrappers: a return value it cannot write,
whose ``repr`` fails (arq's log line calls it), or larger than Redis stores, fails the job with
``UnserializableResult``; an exception it cannot write or read back is raised as
``UnserializableError``, its class and message kept. Both name the serializer's error, and are
stored as any ``SerializedError`` is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry

from .describe import class_path, safe_str
from .serializers import SerializedError

__all__ = ["UnserializableError", "UnserializableResult", "checked"]

Coroutine = Callable[..., Awaitable[Any]]
Dumps = Callable[[dict[str, Any]], bytes]
Loads = Callable[[bytes], Any]
#: The largest value Redis stores (its default ``proto-max-bulk-len``): a larger result would
#: never be stored, and its job would stay in progress until arq ran it again.
MAX_BYTES = 512 * 1024 * 1024
#: Values the serializers and ``repr`` never refuse: not checked (text and bytes while they are
#: far below ``MAX_BYTES``: at most 4 bytes a character written, 4/3 a byte in base64).
_PLAIN = frozenset({type(None), bool, float})
_SIZED = frozenset({str, bytes})
#: Containers whose own ``repr`` never fails: theirs is not checked, as it costs about as much again
#: as arq's (a value inside one whose ``repr`` fails still fails arq's log line, unseen here).
_SHOWN = frozenset({dict, list, tuple, set, frozenset})


def _cause(exc: BaseException) -> str:
    return f"{class_path(type(exc))}: {safe_str(exc)}"


class UnserializableResult(SerializedError):
    """A job returned a value its alias's serializer cannot store (or whose ``repr`` fails): the
    job failed with this, which names the value's class and the error."""

    @classmethod
    def of(cls, value: Any, failure: BaseException, step: str) -> UnserializableResult:
        refused = cls(
            class_path(cls), f"the job's result, a {class_path(type(value))}, {step}: {_cause(failure)}"
        )
        refused.__cause__ = failure  # its traceback shows where serializing failed
        return refused


class UnserializableError(SerializedError):
    """A job raised an exception its alias's serializer cannot store or read back: stored as its
    class path and message instead, with the serializer's error."""

    @classmethod
    def of(cls, exc: BaseException, failure: BaseException) -> UnserializableError:
        note = f"(stored as text: it cannot be serialized and read back, {_cause(failure)})"
        return cls(class_path(type(exc)), f"{safe_str(exc)} {note}")


class TooLarge(ValueError):
    """A serialized value larger than Redis stores."""


def _refusal(value: Any, dumps: Dumps, loads: Loads | None = None) -> BaseException | None:
    """The error serializing ``value`` as arq does (in a dict), and reading it back with ``loads``."""
    try:
        raw = dumps({"r": value})
        if len(raw) > MAX_BYTES:
            return TooLarge(f"{len(raw)} bytes serialized; Redis stores at most {MAX_BYTES}")
        if loads is not None:
            loads(raw)
    except BaseException as exc:  # SystemExit from a __reduce__ too: the job's value, not the worker's
        return exc
    return None


def _unserializable_result(value: Any, dumps: Dumps | None, shown: bool) -> UnserializableResult | None:
    kind = type(value)
    if kind in _PLAIN or (kind in _SIZED and len(value) * 4 < MAX_BYTES):
        return None
    failure = None if dumps is None else _refusal(value, dumps)
    if failure is not None:
        return UnserializableResult.of(value, failure, "cannot be serialized")
    if shown and kind not in _SHOWN:
        try:
            repr(value)
        except BaseException as exc:
            return UnserializableResult.of(value, exc, "cannot be shown (its repr() failed)")
    return None


def checked(fn: Coroutine, dumps: Dumps | None, loads: Loads, *, shown: bool = True) -> Coroutine:
    """``fn``, failing with ``UnserializableResult`` if ``dumps`` cannot write its return value in
    ``MAX_BYTES`` (or, with ``shown``, as arq's ``log_results`` does, ``repr`` fails on it), and raising
    ``UnserializableError`` for an exception ``dumps`` cannot write or ``loads`` read back.
    ``dumps`` is None for a function whose results arq does not keep (nor serialize): only
    ``repr`` is checked. ``Retry`` and cancellations pass through: arq stores no result for them."""

    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = await fn(ctx, *args, **kwargs)
        except (Retry, asyncio.CancelledError):
            raise
        except Exception as exc:
            failure = None if dumps is None else _refusal(exc, dumps, loads)
            if failure is None:
                raise
            raise UnserializableError.of(exc, failure) from exc
        refused = _unserializable_result(result, dumps, shown)
        if refused is not None:
            raise refused
        return result

    return run
