"""Job functions of bench_start.py and bench_progress.py, importable by every worker they start."""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from arq import func
from arq.connections import RedisSettings

from django_arq.queues.reporting import report_progress, report_progress_sync

BLOCK = os.urandom(1024)


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


def _work(rounds: int) -> None:
    """One item of a job's work: ``rounds`` SHA-256 digests of 1 KiB."""
    for _ in range(rounds):
        hashlib.sha256(BLOCK).digest()


async def items(ctx: dict[str, Any], n: int, rounds: int, report: bool) -> dict[str, Any]:
    """Work through ``n`` items, reporting progress after each if ``report`` (bench_progress.py);
    returns ``n`` and the CPU seconds of the job's thread."""
    cpu = time.thread_time()
    for i in range(1, n + 1):
        _work(rounds)
        if report:
            await report_progress(ctx, i, n, "items")
    return {"n": n, "cpu": time.thread_time() - cpu}


def sync_items(ctx: dict[str, Any], n: int, rounds: int, report: bool) -> dict[str, Any]:
    """``items`` as a sync job, run in a thread."""
    cpu = time.thread_time()
    for i in range(1, n + 1):
        _work(rounds)
        if report:
            report_progress_sync(ctx, i, n, "items")
    return {"n": n, "cpu": time.thread_time() - cpu}


def sync_noop(ctx: dict[str, Any], i: int = 0) -> int:
    """``noop`` as a plain def: the worker runs it in a thread, as ArqBackend runs a def task."""
    return i
