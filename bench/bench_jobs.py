"""Job functions of the start benchmark (bench_start.py), importable by every worker it starts."""

from __future__ import annotations

import os
import time
from typing import Any

from arq import func
from arq.connections import RedisSettings


async def noop(ctx: dict[str, Any], i: int = 0) -> int:
    return i


async def started_at(ctx: dict[str, Any]) -> float:
    """The wall-clock time the job started, to compare with the time it was enqueued."""
    return time.time()


class WorkerSettings:
    """A bare arq worker (arq's CLI) on the benchmark's queue, its functions named as django-arq's."""

    functions = [func(noop, name="bench_jobs.noop"), func(started_at, name="bench_jobs.started_at")]
    queue_name = os.environ.get("BENCH_QUEUE", "arq:queue")
    redis_settings = RedisSettings.from_dsn(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
