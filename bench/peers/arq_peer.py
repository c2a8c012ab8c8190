"""Bare arq (0.28, the project's .venv): ``enqueue_job`` on an ArqRedis pool, arq's own Worker.

No Django. arq has no sync enqueue, so the enqueue figure is the async ``enqueue_job`` in one event
loop. The worker is ``arq.run_worker`` with arq's defaults (max_jobs 10, keep_result 3600 s)
except ``poll_delay``, given as the worker argument (arq's default is 0.5 s), logging as the
``arq`` command line sets it up (a line per job start and end).
"""

from __future__ import annotations

import logging.config
from typing import Any

import common
from arq import create_pool, func
from arq import run_worker as arq_run_worker
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import deserialize_result
from arq.logs import default_log_config

SETTINGS = None
REDIS = RedisSettings.from_dsn(common.REDIS_URL)
_pool: ArqRedis | None = None


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def started(ctx: dict[str, Any], token: str) -> None:
    await common.amark(ctx["redis"], token)


async def pool() -> ArqRedis:
    global _pool
    if _pool is None:
        _pool = await create_pool(REDIS)
    return _pool


def reset() -> None:
    return None  # results live in Redis, which bench_peers.py flushes


async def enqueue_noop() -> None:
    assert await (await pool()).enqueue_job("noop") is not None


async def enqueue_started(token: str) -> None:
    assert await (await pool()).enqueue_job("started", token) is not None


async def count_done() -> int:
    redis = await pool()
    keys = [key async for key in redis.scan_iter(match="arq:result:*", count=1000)]
    values = await redis.mget(keys) if keys else []
    return sum(1 for value in values if value is not None and deserialize_result(value).success)


class WorkerSettings:
    functions = [func(noop, name="noop"), func(started, name="started")]
    redis_settings = REDIS


def run_worker(args: list[str]) -> None:
    logging.config.dictConfig(default_log_config(verbose=False))  # as the `arq` command line does
    arq_run_worker(WorkerSettings, poll_delay=float(args[0]))  # type: ignore[arg-type]
