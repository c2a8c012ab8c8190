"""The django-arq worker (JobRecord updates on) against a bare arq worker, on the same no-op jobs.

Target: at least 0.9x the jobs/second of the bare worker, in wall time and in CPU time per job
(arq's poll interval caps wall throughput on both sides; CPU per job shows the records' cost).
Both workers run in this process, in burst mode, on the same prefilled queue, with the same
settings; the django-arq worker's time includes its last record flush. Each round runs the three
workers in a shuffled order on a freshly emptied records table; the figures are the best of
``--rounds`` for each, and the median over rounds of the ratio within a round (a paired figure,
steadier on a machine whose speed drifts). Uses a throwaway database and Redis db 12
(``BENCH_WORKER_REDIS_URL``):

    .venv/bin/python bench/bench_worker.py                  # PostgreSQL and SQLite
    .venv/bin/python bench/bench_worker.py --db sqlite --jobs 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import configure

NAME, QUEUE = "tests.jobs.add", "django-arq-bench:worker"
BARE, NO_RECORDS, RECORDS = "bare arq worker", "django-arq worker, AUDIT off", "django-arq worker + records"
#: Not bench_records' Redis database: that one deletes every job key it finds.
REDIS_URL = os.environ.get("BENCH_WORKER_REDIS_URL", "redis://127.0.0.1:6379/12")
SETTINGS = {"max_jobs": 10, "poll_delay": 0.05, "keep_result": 3600, "allow_abort_jobs": True}


async def measure(worker: Any) -> tuple[float, float]:
    """Wall and CPU seconds for a burst run, shutdown (and the last record flush) included."""
    wall, cpu = time.perf_counter(), time.process_time()
    await worker.main()
    await worker.close()
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(jobs: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from arq import Worker, func
    from asgiref.sync import sync_to_async
    from django.conf import settings
    from django.core.management.color import no_style
    from django.db import connections
    from django.test.utils import override_settings

    from django_arq import JobSpec, get_queue
    from django_arq.audit.on_commit import aflush_records
    from django_arq.models import JobRecord
    from django_arq.worker import create_worker
    from tests import jobs as test_jobs

    queue = get_queue()
    backend = queue.backend
    specs = [JobSpec(NAME, (i, 1), queue_name=QUEUE) for i in range(jobs)]
    results: dict[str, list[tuple[float, float]]] = {BARE: [], NO_RECORDS: [], RECORDS: []}

    def empty_records() -> None:
        """TRUNCATE on PostgreSQL: deleted rows piling up over the rounds would slow later runs."""
        connection = connections["default"]
        with connection.cursor() as cursor:
            for sql in connection.ops.sql_flush(no_style(), [JobRecord._meta.db_table]):
                cursor.execute(sql)

    async def prefill() -> None:
        await sync_to_async(empty_records)()
        await queue.enqueue_many(specs)  # records exist, as for jobs enqueued through get_queue()
        await aflush_records()

    def bare() -> Any:
        return Worker(
            [func(test_jobs.add, name=NAME)],
            queue_name=QUEUE,
            redis_settings=backend.redis_settings,
            burst=True,
            handle_signals=False,
            job_serializer=backend.serializer.dumps,
            job_deserializer=backend.serializer.loads,
            **SETTINGS,
        )

    def django() -> Any:
        return create_worker(queue_name=QUEUE, burst=True, handle_signals=False, **SETTINGS)

    def django_no_records() -> Any:
        with override_settings(ARQ_QUEUES={"default": {**settings.ARQ_QUEUES["default"], "AUDIT": False}}):
            return django()

    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        order = [(BARE, bare), (NO_RECORDS, django_no_records), (RECORDS, django)]
        shuffle(order)
        for label, build in order:
            await prefill()
            worker = build()
            results[label].append(await measure(worker))
            assert worker.jobs_complete == jobs, (label, worker)
            if label == RECORDS:
                done = await sync_to_async(JobRecord.objects.filter(status="complete", success=True).count)()
                assert done == jobs, f"only {done} of {jobs} records complete after the django-arq run"
    await sync_to_async(JobRecord.objects.all().delete)()
    await queue.aclose()
    await sync_to_async(connections.close_all)()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs per run")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs of each worker")
    args = parser.parse_args()
    if args.db == "both":
        for db in ("postgres", "sqlite"):
            cmd = [
                sys.executable,
                __file__,
                "--db",
                db,
                "--jobs",
                str(args.jobs),
                "--rounds",
                str(args.rounds),
            ]
            if subprocess.call(cmd) != 0:
                return 1
        return 0

    configure(args.db, REDIS_URL)
    from django.db import connection

    if args.db == "postgres":  # not bench_records.py's database: both may run at the same time
        connection.settings_dict["TEST"]["NAME"] = "django_arq_bench_worker"

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = asyncio.run(run(args.jobs, args.rounds))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"\n== {args.db}: {args.jobs} no-op jobs per run, best of {args.rounds}, {SETTINGS} ==")
    bare_runs = results[BARE]
    bare_wall, bare_cpu = min(w for w, _ in bare_runs), min(c for _, c in bare_runs)
    for label, runs in results.items():
        wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
        paired_wall = statistics.median(b[0] / r[0] for b, r in zip(bare_runs, runs, strict=True))
        paired_cpu = statistics.median(b[1] / r[1] for b, r in zip(bare_runs, runs, strict=True))
        rate, per_job = args.jobs / wall, cpu / args.jobs * 1e6
        print(
            f"  {label:30} {rate:7.0f} jobs/s ({bare_wall / wall:4.2f}x, paired {paired_wall:4.2f}x)"
            f"   {per_job:6.0f} us CPU/job ({bare_cpu / cpu:4.2f}x, paired {paired_cpu:4.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
