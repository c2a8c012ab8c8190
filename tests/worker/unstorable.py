"""Job functions whose outcome a serializer cannot store as it is, and the values they give."""

import threading
from typing import Any, NoReturn


class ExitsWhenPickled:
    """A value whose pickling raises ``SystemExit`` (and that JSON refuses)."""

    def __reduce__(self) -> NoReturn:
        raise SystemExit("pickled")


class InterruptsWhenPickled:
    """A value whose pickling raises ``KeyboardInterrupt``."""

    def __reduce__(self) -> NoReturn:
        raise KeyboardInterrupt("pickled")


class Unshowable(dict[str, int]):
    """A value both serializers store, whose ``repr`` fails (arq's worker logs the result's repr)."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NeedsTwo(Exception):
    """An exception pickle writes but cannot read back: its ``__init__`` wants two arguments."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(first)
        self.second = second


class HoldsLock(Exception):
    """An exception pickle cannot write: it holds a lock."""


async def returns_lock(ctx: dict[str, Any]) -> Any:
    return threading.Lock()


async def returns_exiting(ctx: dict[str, Any]) -> Any:
    return ExitsWhenPickled()


async def returns_interrupting(ctx: dict[str, Any]) -> Any:
    return InterruptsWhenPickled()


async def returns_unshowable(ctx: dict[str, Any]) -> Any:
    return Unshowable(a=1)


async def returns_big(ctx: dict[str, Any], megabytes: int) -> Any:
    return [i.to_bytes(4, "big") * 256 for i in range(megabytes * 1024)]  # distinct: pickled in full


async def raises_needs_two(ctx: dict[str, Any]) -> None:
    raise NeedsTwo("first", "second")


async def raises_holding_lock(ctx: dict[str, Any]) -> None:
    raise HoldsLock(threading.Lock())


RETURNING = (returns_lock, returns_exiting, returns_interrupting, returns_unshowable, returns_big)
FUNCTIONS = [
    f"tests.worker.unstorable.{f.__name__}" for f in (*RETURNING, raises_needs_two, raises_holding_lock)
]
