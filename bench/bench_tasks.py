"""Django tasks on ``ArqBackend`` against plain ``FUNCTIONS`` jobs: worker CPU per job, in one run.

Target: an ``ArqBackend`` task costs the worker at most 1.3x the CPU of a plain ``FUNCTIONS`` job.
Four kinds of no-op job on the same alias (records on unless ``--no-records``), queue and worker
settings: a ``FUNCTIONS`` job as ``async def`` and as ``def`` (the worker runs it in a thread), and
a ``@task`` as ``async def`` and as ``def`` (``task.aenqueue()``; ArqBackend runs it in a thread).
Each round prefills the queue with N jobs of one kind and drains it with a worker in this
process, at arq_worker's defaults, stopped once every job ran (shutdown and its last record flush
included), the kinds in a shuffled order; CPU is this
process's (the recorder's and the job threads' included). Figures: medians over rounds, and the
median over rounds of each paired ratio (steadier on a loaded machine). Needs Django 6:

    .venv-dj6/bin/python bench/bench_tasks.py [--db sqlite|postgres] [--jobs 2000] [--rounds 3]
    .venv-dj6/bin/python bench/bench_tasks.py --profile "task (def)"   # cProfile of one drain

Uses a throwaway database and Redis db 14 (``BENCH_TASKS_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import configure

QUEUE = "django-arq-bench:tasks"
REDIS_URL = os.environ.get("BENCH_TASKS_REDIS_URL", "redis://127.0.0.1:6379/14")
SETTINGS = {"max_jobs": 10, "keep_result": 3600}  # arq_worker's defaults otherwise
JOB_ASYNC, JOB_SYNC = "FUNCTIONS job (async def)", "FUNCTIONS job (def)"
TASK_ASYNC, TASK_SYNC = "task (async def)", "task (def)"
KINDS = [JOB_ASYNC, JOB_SYNC, TASK_ASYNC, TASK_SYNC]
#: (numerator, denominator) of the ratios printed: the target's like-for-like pairs, then one for
#: reference (a ``def`` body runs in a thread, which costs a job of either kind alike).
RATIOS = [(TASK_SYNC, JOB_SYNC), (TASK_ASYNC, JOB_ASYNC), (TASK_SYNC, JOB_ASYNC)]
LIKE_FOR_LIKE = RATIOS[:2]


def prefillers(jobs: int) -> dict[str, Callable[[], Awaitable[None]]]:
    """For each kind, a coroutine function that enqueues N jobs of that kind (records flushed)."""
    import bench_tasks_jobs
    import redis
    from asgiref.sync import sync_to_async
    from django.core.management.color import no_style
    from django.db import connections

    from django_arq import JobSpec, get_queue
    from django_arq.audit.on_commit import aflush_records
    from django_arq.models import JobRecord

    def empty_records() -> None:
        """Its records, and its Redis database (jobs a stopped run left behind)."""
        redis.Redis.from_url(REDIS_URL).flushdb()
        connection = connections["default"]
        with connection.cursor() as cursor:
            for sql in connection.ops.sql_flush(no_style(), [JobRecord._meta.db_table]):
                cursor.execute(sql)

    def plain(name: str) -> Callable[[], Awaitable[None]]:
        async def prefill() -> None:
            await sync_to_async(empty_records)()
            await get_queue().enqueue_many([JobSpec(name, (i,)) for i in range(jobs)])
            await aflush_records()

        return prefill

    def tasks(task: Any) -> Callable[[], Awaitable[None]]:
        async def prefill() -> None:
            await sync_to_async(empty_records)()
            for _ in range(jobs):
                await task.aenqueue()
            await aflush_records()

        return prefill

    return {
        JOB_ASYNC: plain("bench_jobs.noop"),
        JOB_SYNC: plain("bench_jobs.sync_noop"),
        TASK_ASYNC: tasks(bench_tasks_jobs.async_noop),
        TASK_SYNC: tasks(bench_tasks_jobs.noop),
    }


async def drain(jobs: int, profile: cProfile.Profile | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of a worker (as ``arq_worker`` runs it) draining the queue, shutdown
    included: it is stopped once it has run and finished every job."""
    from django_arq.worker import create_worker

    worker = create_worker(queue_name=QUEUE, handle_signals=False, **SETTINGS)
    wall, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    main = asyncio.create_task(worker.main())
    deadline = time.monotonic() + 60 + jobs * 0.05
    while not main.done() and (
        worker.jobs_complete + worker.jobs_failed < jobs or not all(t.done() for t in worker.tasks.values())
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{worker.jobs_complete} of {jobs} jobs complete after {deadline:.0f} s")
        await asyncio.sleep(0.01)
    main.cancel()
    await asyncio.gather(main, return_exceptions=True)
    await worker.close()
    if profile is not None:
        profile.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if worker.jobs_complete != jobs or worker.jobs_failed:
        raise RuntimeError(f"{worker.jobs_complete} of {jobs} jobs complete, {worker.jobs_failed} failed")
    return wall, cpu


async def run(jobs: int, rounds: int, kinds: list[str]) -> dict[str, list[tuple[float, float]]]:
    from asgiref.sync import sync_to_async
    from django.db import connections

    from django_arq import get_queue

    prefill = prefillers(jobs)
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    shuffle = random.Random(0).shuffle
    for round_no in range(rounds):
        order = list(kinds)
        shuffle(order)
        for kind in order:
            await prefill[kind]()
            results[kind].append(await drain(jobs))
            wall, cpu = results[kind][-1]
            rate, per_job = jobs / wall, cpu / jobs * 1e6
            line = f"# round {round_no + 1} {kind}: {rate:.0f} jobs/s, {per_job:.0f} µs CPU/job"
            print(line, file=sys.stderr)
    await get_queue().aclose()
    await sync_to_async(connections.close_all)()
    return results


async def profiled(jobs: int, kind: str, top: int) -> None:
    """One drain of ``kind`` under cProfile (the event loop's thread only), its top functions."""
    from django_arq import get_queue

    await prefillers(jobs)[kind]()
    profile = cProfile.Profile()
    _, cpu = await drain(jobs, profile)
    await get_queue().aclose()
    print(f"== {kind}: {jobs} jobs, {cpu / jobs * 1e6:.0f} µs CPU/job under cProfile ==")
    pstats.Stats(profile).sort_stats("tottime").print_stats(top)


def machine() -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"nproc {os.cpu_count()}, load average {load}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs per drain")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-records", action="store_true", help="AUDIT off (no JobRecords)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS))
    parser.add_argument("--profile", metavar="KIND", help="profile one drain of KIND instead")
    parser.add_argument("--top", type=int, default=30, help="functions listed by --profile")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",")]
    if not set(kinds) <= set(KINDS) or (args.profile and args.profile not in KINDS):
        parser.error(f"kinds are: {', '.join(KINDS)}")

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from django.conf import settings

    configure(
        args.db,
        REDIS_URL,
        TASKS={"default": {"BACKEND": "django_arq.tasks.ArqBackend"}},
        LOGGING_CONFIG=None,  # no log handlers: the workers' lines per job are not what is measured
    )
    settings.ARQ_QUEUES["default"].update(
        DEFAULT_QUEUE_NAME=QUEUE,
        AUDIT=not args.no_records,
        WORKER={"FUNCTIONS": ["bench_jobs.noop", "bench_jobs.sync_noop"]},
    )
    from django.db import connection

    if args.db == "postgres":
        connection.settings_dict["TEST"]["NAME"] = f"django_arq_bench_tasks_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        if args.profile:
            asyncio.run(profiled(args.jobs, args.profile, args.top))
            return 0
        results = asyncio.run(run(args.jobs, args.rounds, kinds))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    records = "off" if args.no_records else "on"
    print(f"\n== {args.db}, records {records}: {args.jobs} no-op jobs per drain, {args.rounds} rounds, "
          f"{SETTINGS}; {machine()} ==")  # fmt: skip
    for kind, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {kind:26} {args.jobs / wall:6.0f} jobs/s   {cpu / args.jobs * 1e6:5.0f} µs CPU/job")
    for top, bottom in RATIOS:
        if top in results and bottom in results:
            paired = statistics.median(
                t[1] / b[1] for t, b in zip(results[top], results[bottom], strict=True)
            )
            note = "target <= 1.3x" if (top, bottom) in LIKE_FOR_LIKE else "for reference, not a target"
            print(f"  CPU per job, {top} / {bottom}: {paired:4.2f}x ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
