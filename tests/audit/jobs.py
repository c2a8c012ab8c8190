"""Job functions of the audit tests' in-process workers."""

import threading
from typing import Any


async def give(ctx: dict[str, Any], value: Any) -> Any:
    """Returns its argument, whatever it is."""
    return value


async def unpicklable(ctx: dict[str, Any]) -> Any:
    """Returns a value arq cannot serialize."""
    return threading.Lock()


async def fail(ctx: dict[str, Any], message: str) -> None:
    raise ValueError(message)


class Unpicklable(Exception):
    """An exception arq cannot serialize (it holds a lock)."""


async def fail_unpicklably(ctx: dict[str, Any]) -> None:
    raise Unpicklable(threading.Lock())


async def retry_once(ctx: dict[str, Any], seconds: float) -> str:
    """Asks arq to run it again in ``seconds`` at its first try; done at the next."""
    from arq import Retry

    if ctx["job_try"] == 1:
        raise Retry(defer=seconds)
    return "again"
