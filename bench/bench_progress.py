"""The cost of progress reports: one job working through N items, with and without a report per item.

Target: the job calling ``report_progress`` (or ``report_progress_sync``) after each of 10,000
items runs at least 0.9x as fast as the same job without the calls. Each round runs both jobs, in
a shuffled order, on a real django-arq worker (``create_worker``, burst mode, JobRecords on, so
the records' mirror of the reports is included); a job's time is its own, from arq's start and
finish times, and the CPU time of the job's thread (steadier on a busy machine). The figures are
the median over rounds of the ratios within a round. Redis is a private ``redis-server``, so that
its command counts are the benchmark's alone: the SETs a reporting job added are printed (the
reports' only commands, besides one PEXPIRE at the job's end when its last report was already
stored), beside the cost of one coalesced call. The ratio depends on the work per item
(``--work``): the call's cost is fixed, so the smaller the item the larger its share.

    .venv/bin/python bench/bench_progress.py
    .venv/bin/python bench/bench_progress.py --items 10000 --rounds 9 --work 4
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import configure
from harness import PrivateRedis

QUEUE = "django-arq-bench:progress"
JOBS = {"async": "bench_jobs.items", "sync": "bench_jobs.sync_items"}


def set_commands(redis: PrivateRedis) -> int:
    return int(redis.client.info("commandstats").get("cmdstat_set", {}).get("calls", 0))


async def run_job(
    name: str, items: int, work: int, report: bool, redis: PrivateRedis
) -> tuple[float, float, int]:
    """The job's own wall and CPU seconds, and the Redis SETs its run took, worker included."""
    from django_arq import get_queue
    from django_arq.worker import create_worker

    queue = get_queue()
    sets = set_commands(redis)
    meta = await queue.enqueue(name, items, work, report, _queue_name=QUEUE)
    worker = create_worker(queue_name=QUEUE, burst=True, handle_signals=False, poll_delay=0.01)
    await worker.main()
    await worker.close()
    result = await queue.get_job_result(meta.id, QUEUE)
    assert result.success and result.result["n"] == items, result.result
    if report:
        assert result.progress is not None and result.progress.done == items, result.progress
    seconds = (result.finish_time - result.start_time).total_seconds()
    return seconds, result.result["cpu"], set_commands(redis) - sets


async def per_call_us(calls: int) -> float:
    """Microseconds per coalesced ``report_progress`` call, on a store that keeps nothing."""
    import time

    from django_arq.queues.jobs import JobProgress
    from django_arq.queues.reporting import CTX_KEY, ProgressReports, report_progress

    class Nowhere(ProgressReports):
        async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
            pass

        async def expire(self, job_id: str, keep_ms: int | None) -> None:
            pass

    reports = Nowhere()
    reports.job_started("bench", 1)
    ctx: dict[str, Any] = {"job_id": "bench", "job_try": 1, CTX_KEY: reports}
    start = time.perf_counter()
    for i in range(calls):
        await report_progress(ctx, i, calls, "items")
    return (time.perf_counter() - start) / calls * 1e6


async def run(items: int, work: int, rounds: int, redis: PrivateRedis) -> dict[str, Any]:
    from asgiref.sync import sync_to_async
    from django.db import connections

    from django_arq import get_queue

    figures: dict[str, Any] = {}
    try:
        shuffle = random.Random(0).shuffle
        for kind, name in JOBS.items():
            runs: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
            for _ in range(rounds):
                order = [False, True]
                shuffle(order)
                for report in order:
                    runs[report].append(await run_job(name, items, work, report, redis))
            paired = zip(runs[False], runs[True], strict=True)
            wall_ratio, cpu_ratio = zip(*((p[0] / r[0], p[1] / r[1]) for p, r in paired), strict=True)
            sets = [r[2] - p[2] for p, r in zip(runs[False], runs[True], strict=True)]
            figures[kind] = {
                "wall": (min(r[0] for r in runs[False]), min(r[0] for r in runs[True])),
                "cpu": (min(r[1] for r in runs[False]), min(r[1] for r in runs[True])),
                "ratio": (statistics.median(wall_ratio), statistics.median(cpu_ratio)),
                "sets": sets,
            }
        figures["per_call"] = await per_call_us(100_000)
    finally:
        await get_queue().aclose()
        await sync_to_async(connections.close_all)()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000, help="items per job, one report each")
    parser.add_argument("--work", type=int, default=16, help="SHA-256 digests of 1 KiB per item")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    redis = PrivateRedis()
    try:
        configure("sqlite", redis.url)
        from django.conf import settings
        from django.db import connection

        settings.ARQ_QUEUES["default"]["WORKER"] = {"FUNCTIONS": list(JOBS.values())}

        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            figures = asyncio.run(run(args.items, args.work, args.rounds, redis))
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        redis.stop()

    print(
        f"\n== a job of {args.items} items ({args.work} SHA-256 of 1 KiB each), "
        f"median of {args.rounds} rounds =="
    )
    for kind in JOBS:
        f = figures[kind]
        (plain, reporting), (plain_cpu, reporting_cpu), (wall_ratio, cpu_ratio) = (
            f["wall"],
            f["cpu"],
            f["ratio"],
        )
        print(
            f"  {kind:5} job: wall {plain * 1e3:6.1f} ms without reports, {reporting * 1e3:6.1f} ms with"
            f" -> {wall_ratio:4.2f}x;  CPU {plain_cpu * 1e3:6.1f} ms, {reporting_cpu * 1e3:6.1f} ms"
            f" -> {cpu_ratio:4.2f}x  (target >= 0.90)"
        )
        print(f"         Redis SETs the {args.items} calls added per job: {sorted(set(f['sets']))}")
    print(f"  one coalesced report_progress call: {figures['per_call']:.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
