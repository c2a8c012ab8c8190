"""Job functions run by the test workers; each is named by its dotted path, as in FUNCTIONS."""

import asyncio
from typing import Any


async def add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b


async def sleep_for(ctx: dict[str, Any], seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


async def fail(ctx: dict[str, Any], message: str) -> None:
    raise ValueError(message)


async def echo(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs, "job_try": ctx["job_try"]}


def sync_add(ctx: dict[str, Any], a: int, b: int) -> int:
    return a + b
