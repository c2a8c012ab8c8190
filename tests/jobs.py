"""Job functions run by the test workers; each is named by its dotted path, as in FUNCTIONS."""

import asyncio
import threading
from typing import Any

from django_arq.queues.reporting import report_progress, report_progress_sync


async def add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b


async def sleep_for(ctx: dict[str, Any], seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


async def fail(ctx: dict[str, Any], message: str) -> None:
    raise ValueError(message)


async def echo(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs, "job_try": ctx["job_try"]}


async def unserializable(ctx: dict[str, Any]) -> Any:
    """Returns a value no serializer can store (a lock)."""
    return threading.Lock()


def sync_add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b


async def report(ctx: dict[str, Any], steps: int, total: int | None = None, hold: float = 0) -> int:
    """Report steps 1..steps of ``total`` as fast as it can, then wait ``hold`` seconds."""
    for step in range(1, steps + 1):
        await report_progress(ctx, step, total, f"step {step}")
    await asyncio.sleep(hold)
    return steps


def sync_report(ctx: dict[str, Any], steps: int, total: int | None = None) -> int:
    """``report``'s sync twin, run in a thread."""
    for step in range(1, steps + 1):
        report_progress_sync(ctx, step, total, f"step {step}")
    return steps
