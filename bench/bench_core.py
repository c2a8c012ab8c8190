"""Core speed: django-arq's RedisArqQueue against bare arq, measured in one run on the same Redis.

    .venv/bin/python bench/bench_core.py [--jobs N] [--redis-url URL]

Prints throughput ratios for the DESIGN.md targets:
  async enqueue (no audit)      >= 1.5x arq's ArqRedis.enqueue_job
  get_job_metadata              >= 3x   arq's Job.info() + Job.status()
  sync twins                    <= 1.3x the time of the async call
Uses its own Redis database (default 14) and empties it first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job

from django_arq import RedisArqQueue

QUEUE = "bench:queue"


def best_of(rounds: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(rounds))


async def timed_async(n: int, call: Callable[[int], Awaitable[object]]) -> float:
    start = time.perf_counter()
    for i in range(n):
        await call(i)
    return (time.perf_counter() - start) / n


def timed_sync(n: int, call: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(n):
        call(i)
    return (time.perf_counter() - start) / n


async def measure(url: str, n: int, rounds: int) -> dict[str, float]:
    arq_redis = await create_pool(RedisSettings.from_dsn(url), default_queue_name=QUEUE)
    queue = RedisArqQueue(url, default_queue_name=QUEUE)
    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    ids = [f"bench-{i}" for i in range(n)]
    for _ in range(rounds):
        await arq_redis.flushdb()
        add("arq enqueue_job", await timed_async(n, lambda i: arq_redis.enqueue_job("app.jobs.noop", i, x=i)))
        add("django-arq enqueue", await timed_async(n, lambda i: queue.enqueue("app.jobs.noop", i, x=i)))
        await arq_redis.flushdb()
        add(
            "django-arq enqueue_sync",
            await asyncio.to_thread(timed_sync, n, lambda i: queue.enqueue_sync("app.jobs.noop", i, x=i)),
        )
        await arq_redis.flushdb()
        for i in ids:
            await queue.enqueue("app.jobs.noop", i, _job_id=i)

        async def arq_info_status(i: int) -> None:
            job = Job(ids[i], arq_redis, _queue_name=QUEUE)
            await job.info()
            await job.status()

        add("arq Job.info()+status()", await timed_async(n, arq_info_status))
        add("django-arq get_job_metadata", await timed_async(n, lambda i: queue.get_job_metadata(ids[i])))
        add(
            "django-arq get_job_metadata_sync",
            await asyncio.to_thread(timed_sync, n, lambda i: queue.get_job_metadata_sync(ids[i])),
        )
    await arq_redis.flushdb()
    await arq_redis.aclose()
    await queue.aclose()
    return {key: min(values) for key, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=3000, help="calls per measurement (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds (default 3)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="a Redis database to empty")
    args = parser.parse_args()
    redis.Redis.from_url(args.redis_url).ping()
    t = asyncio.run(measure(args.redis_url, args.jobs, args.rounds))
    print(f"{args.jobs} calls, best of {args.rounds} rounds, {args.redis_url}\n")
    for key, seconds in t.items():
        print(f"  {key:34s} {seconds * 1e6:8.1f} us/call")
    rows = [
        ("async enqueue vs arq enqueue_job", t["arq enqueue_job"] / t["django-arq enqueue"], ">= 1.5x", 1.5),
        (
            "get_job_metadata vs Job.info()+status()",
            t["arq Job.info()+status()"] / t["django-arq get_job_metadata"],
            ">= 3x",
            3.0,
        ),
    ]
    print("\nthroughput ratios (higher is better)")
    ok = True
    for label, ratio, target, floor in rows:
        ok &= ratio >= floor
        print(f"  {label:45s} {ratio:5.2f}x   target {target}   {'ok' if ratio >= floor else 'MISSED'}")
    print("\nsync twin time / async time (lower is better)")
    for op in ("enqueue", "get_job_metadata"):
        ratio = t[f"django-arq {op}_sync"] / t[f"django-arq {op}"]
        ok &= ratio <= 1.3
        verdict = "ok" if ratio <= 1.3 else "MISSED"
        print(f"  {op + '_sync / ' + op:45s} {ratio:5.2f}x   target <= 1.3x   {verdict}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
