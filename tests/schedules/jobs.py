"""The job the schedules' worker tests fire: it notes each run in a Redis list."""

from typing import Any


async def count_run(ctx: dict[str, Any], key: str) -> str:
    await ctx["redis"].rpush(key, ctx["job_id"])
    return str(ctx["job_id"])
