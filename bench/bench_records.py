"""Enqueue with a JobRecord written, against bare arq's ``enqueue_job`` (no record), in one run.

Targets: a single enqueue with its record no slower than bare arq's ``enqueue_job`` (PostgreSQL;
SQLite reported too), and a bulk enqueue of 1,000 jobs with their records at least 10x bare
arq's sequential ``enqueue_job``. With ``AUDIT: True`` (the default) records of enqueues outside a
transaction are written by the background writer: every timing of that mode ends with
``flush_records()``, so the records are in the database when the clock stops. Uses a throwaway
database and Redis db 13 (``BENCH_REDIS_URL``):

    .venv/bin/python bench/bench_records.py                   # SQLite and PostgreSQL
    .venv/bin/python bench/bench_records.py --db postgres --jobs 500 --bulk 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def configure(db: str, redis_url: str = BENCH_REDIS_URL, **overrides: Any) -> None:
    """Point tests.settings at the chosen database and a Redis database of the benchmark's own
    before Django starts (one database per process); ``overrides`` are more settings."""
    os.environ["DJANGO_ARQ_TEST_DB"] = "postgres" if db == "postgres" else "sqlite"
    import django
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - load tests.settings with the variable above
    test = settings.DATABASES["default"].setdefault("TEST", {})
    test["NAME"] = (
        "django_arq_bench_records" if db == "postgres" else os.path.join(tempfile.mkdtemp(), "bench.db")
    )
    settings.ARQ_QUEUES["default"]["REDIS_URL"] = redis_url  # its own database: it deletes job keys
    settings.ARQ_QUEUES["immediate"] = {**settings.ARQ_QUEUES["default"], "AUDIT": "immediate"}
    settings.DEBUG = False  # as in production: no per-query logging
    for name, value in overrides.items():
        setattr(settings, name, value)
    django.setup()


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> float:
    """Microseconds per call, ``n`` calls in sequence."""
    start = time.perf_counter()
    for i in range(n):
        await call(i)
    return (time.perf_counter() - start) / n * 1e6


def timed_sync(n: int, call: Callable[[int], Any]) -> float:
    start = time.perf_counter()
    for i in range(n):
        call(i)
    return (time.perf_counter() - start) / n * 1e6


async def run(jobs: int, bulk: int, rounds: int) -> dict[str, float]:
    from arq import create_pool
    from asgiref.sync import sync_to_async
    from django.db import connections, transaction

    from django_arq import JobSpec, get_queue
    from django_arq.audit.on_commit import aflush_records
    from django_arq.audit.writer import flush_records
    from django_arq.models import JobRecord

    queue, immediate = get_queue(), get_queue("immediate")
    pool = await create_pool(queue.redis_settings)
    name, q = "tests.jobs.add", "django-arq-bench:records"
    best: dict[str, float] = {}

    def keep(key: str, value: float) -> None:
        best[key] = min(best.get(key, value), value)

    async def clean() -> None:
        await pool.delete(q)
        await sync_to_async(JobRecord.objects.all().delete)()
        cursor = 0
        while True:
            cursor, keys = await pool.scan(cursor, match="arq:job:*", count=5000)
            if keys:
                await pool.delete(*keys)
            if not cursor:
                break

    async def written(n: int) -> None:
        """Check that the measure wrote its records (a benchmark that loses them measures nothing)."""
        count = await sync_to_async(JobRecord.objects.count)()
        assert count == n, f"{count} records for {n} jobs"

    async def batched_async(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await queue.enqueue(name, i, i, _queue_name=q)
        await aflush_records()
        return (time.perf_counter() - start) / n * 1e6

    def batched_sync(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            queue.enqueue_sync(name, i, i, _queue_name=q)
        flush_records()
        return (time.perf_counter() - start) / n * 1e6

    def in_transaction(n: int) -> float:
        start = time.perf_counter()
        with transaction.atomic():
            for i in range(n):
                queue.enqueue_sync(name, i, i, _queue_name=q)
        return (time.perf_counter() - start) / n * 1e6

    async def single(label: str, measure: Callable[[], Awaitable[float]], records: bool = True) -> None:
        await clean()
        keep(label, await measure())
        if records:
            await written(jobs)

    async def bulk_ms(label: str, call: Callable[[], Awaitable[Any]], records: bool = True) -> None:
        await clean()
        start = time.perf_counter()
        await call()
        keep(label, (time.perf_counter() - start) * 1e3)
        if records:
            await aflush_records()
            await written(bulk)

    async def sequential_bare() -> None:
        for i in range(bulk):
            await pool.enqueue_job(name, i, i, _queue_name=q)

    specs = [JobSpec(name, (i, i), queue_name=q) for i in range(bulk)]

    async def bulk_async() -> None:
        await queue.enqueue_many(specs)
        await aflush_records()

    def bulk_sync() -> None:
        queue.enqueue_many_sync(specs)
        flush_records()

    def bulk_in_transaction() -> None:
        with transaction.atomic():
            queue.enqueue_many_sync(specs)

    try:
        for _ in range(rounds):
            await single(
                BARE, lambda: timed(jobs, lambda i: pool.enqueue_job(name, i, i, _queue_name=q)), False
            )
            await single(
                "enqueue, audit off",
                lambda: timed(jobs, lambda i: queue.backend.enqueue(name, i, i, _queue_name=q)),
                False,
            )
            await single("enqueue + record (async)", lambda: batched_async(jobs))
            await single("enqueue_sync + record", lambda: sync_to_async(batched_sync)(jobs))
            await single("enqueue_sync + record, in atomic()", lambda: sync_to_async(in_transaction)(jobs))
            await single(
                "immediate: enqueue + record (async)",
                lambda: timed(jobs, lambda i: immediate.enqueue(name, i, i, _queue_name=q)),
            )
            await single(
                "immediate: enqueue_sync + record",
                lambda: sync_to_async(timed_sync)(
                    jobs, lambda i: immediate.enqueue_sync(name, i, i, _queue_name=q)
                ),
            )
            await bulk_ms(BULK_BARE, sequential_bare, False)
            await bulk_ms("bulk: enqueue_many + records", bulk_async)
            await bulk_ms("bulk: enqueue_many_sync + records", sync_to_async(bulk_sync))
            await bulk_ms("bulk: enqueue_many_sync in atomic()", sync_to_async(bulk_in_transaction))
            await bulk_ms("bulk: immediate enqueue_many", lambda: immediate.enqueue_many(specs))
            await bulk_ms(
                "bulk: immediate enqueue_many_sync", lambda: sync_to_async(immediate.enqueue_many_sync)(specs)
            )
            await bulk_ms("bulk: enqueue_many, caller only", lambda: queue.enqueue_many(specs))
        await clean()
    finally:
        await pool.aclose()
        await queue.aclose()
        await sync_to_async(connections.close_all)()  # the async ORM's thread, before the database is dropped
        await asyncio.to_thread(immediate.backend.close)
        from django_arq.audit.writer import writer

        writer.stop()
    return best


BARE = "bare arq enqueue_job"
BULK_BARE = "bulk: bare arq sequential"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=400, help="sequential enqueues per measure")
    parser.add_argument("--bulk", type=int, default=1000, help="jobs in the bulk enqueue")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    args = parser.parse_args()
    if args.db == "both":  # one process per database: Django is configured once per process
        import subprocess

        for db in ("postgres", "sqlite"):
            cmd = [sys.executable, __file__, "--db", db, "--jobs", str(args.jobs), "--bulk", str(args.bulk)]
            if subprocess.call([*cmd, "--rounds", str(args.rounds)]) != 0:
                return 1
        return 0

    configure(args.db)
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        best = asyncio.run(run(args.jobs, args.bulk, args.rounds))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"\n== {args.db}: {args.jobs} sequential enqueues, bulk of {args.bulk}, best of {args.rounds} ==")
    for key, value in best.items():
        if key.startswith("bulk"):
            print(f"  {key:42} {value:8.1f} ms total  vs bare arq: {best[BULK_BARE] / value:5.2f}x")
        else:
            print(f"  {key:42} {value:8.0f} us/job    vs bare arq: {best[BARE] / value:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
