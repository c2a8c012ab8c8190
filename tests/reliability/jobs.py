"""Jobs that count their own runs in Redis (one hash field per job id), to prove exactly-once."""

import asyncio
from typing import Any

#: Hash of job id -> number of times the job body ran.
RUNS = "django-arq-tests:runs"


async def count_run(ctx: dict[str, Any], n: int) -> int:
    await ctx["redis"].hincrby(RUNS, ctx["job_id"], 1)
    return n


async def slow_count(ctx: dict[str, Any], seconds: float) -> int:
    """Counts the run only once it has slept: a count means the body ran to its end."""
    await asyncio.sleep(seconds)
    await ctx["redis"].hincrby(RUNS, ctx["job_id"], 1)
    return int(ctx["job_try"])


def slow_group(ctx: dict[str, Any], name: str, seconds: float) -> str:
    """Sleeps, then creates the Group ``name`` (unique): a durable mark that the body ran, once."""
    import time

    from django.contrib.auth.models import Group

    time.sleep(seconds)
    Group.objects.create(name=name)
    return name
