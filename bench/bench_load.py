"""Load: many concurrent async producers (single and bulk enqueue) and several ``manage.py arq_worker``
processes, then proof that nothing was lost, run twice, or left behind.

Every job is ``tests.reliability.jobs.count_run``, which counts its own runs in a Redis hash; at the
end every job must have run exactly once, have exactly one JobRecord that is complete and
successful, and Redis must hold nothing but the kept results (no ``arq:job:*``,
``arq:in-progress:*``, ``arq:retry:*``, queue or ``arq:abort`` left). Uses a throwaway Redis server
and a throwaway database, so it disturbs nobody:

    .venv/bin/python bench/bench_load.py                          # 10,000 jobs, 50 producers, 4 workers
    .venv/bin/python bench/bench_load.py --db sqlite --jobs 2000 --producers 20 --workers 2

``tests/reliability/test_load.py`` runs a smaller load through :func:`run_load` (marked slow).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAME = "tests.reliability.jobs.count_run"
QUEUE = "django-arq-load:queue"
#: Keys arq (or this benchmark) may leave behind on purpose.
KEPT_PREFIXES = ("arq:result:",)


@dataclass
class LoadReport:
    jobs: int
    producers: int
    workers: int
    enqueue_seconds: float = 0.0
    total_seconds: float = 0.0
    single_latencies: list[float] = field(default_factory=list)  # seconds per enqueue() call
    bulk_latencies: list[float] = field(default_factory=list)  # seconds per enqueue_many() call
    problems: list[str] = field(default_factory=list)

    @staticmethod
    def percentile(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else 0

    def lines(self) -> list[str]:
        ms = 1000
        out = [
            f"{self.jobs} jobs, {self.producers} async producers, {self.workers} arq_worker processes",
            f"enqueue: {self.jobs / self.enqueue_seconds:,.0f} jobs/s ({self.enqueue_seconds:.2f} s)",
            f"end to end (enqueued, run, recorded): {self.jobs / self.total_seconds:,.0f} jobs/s "
            f"({self.total_seconds:.2f} s)",
        ]
        for label, values in (("enqueue()", self.single_latencies), ("enqueue_many()", self.bulk_latencies)):
            if values:
                p50, p99 = self.percentile(values, 50) * ms, self.percentile(values, 99) * ms
                out.append(f"{label} latency over {len(values)} calls: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        out.append("problems: " + ("; ".join(self.problems) if self.problems else "none"))
        return out


async def produce(report: LoadReport, bulk: int) -> list[str]:
    """``report.producers`` concurrent producers; even ones enqueue one job a call, odd ones ``bulk``."""
    from django_arq import JobSpec, get_queue

    queue = get_queue()
    each, extra = divmod(report.jobs, report.producers)
    share = [each + (i < extra) for i in range(report.producers)]
    ids: list[str] = []

    async def producer(index: int, count: int) -> None:
        numbers = list(range(sum(share[:index]), sum(share[:index]) + count))
        size = 1 if index % 2 == 0 else bulk
        for start in range(0, count, size):
            chunk = numbers[start : start + size]
            began = time.perf_counter()
            if size == 1:
                metas = [await queue.enqueue(NAME, chunk[0], _queue_name=QUEUE)]
                report.single_latencies.append(time.perf_counter() - began)
            else:
                metas = await queue.enqueue_many([JobSpec(NAME, (n,), queue_name=QUEUE) for n in chunk])
                report.bulk_latencies.append(time.perf_counter() - began)
            ids.extend(m.id for m in metas)

    began = time.perf_counter()
    await asyncio.gather(*(producer(i, n) for i, n in enumerate(share)))
    report.enqueue_seconds = time.perf_counter() - began
    await queue.aclose()
    return ids


def worker_env(redis_url: str) -> dict[str, str]:
    from django.db import connection

    return {
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.reliability.settings",
        "DJANGO_ARQ_TEST_REDIS": redis_url,
        "DJANGO_ARQ_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
    }


def check(report: LoadReport, client: Any, ids: list[str]) -> None:
    """Exactly once, one complete record each, no arq key left but the results."""
    from django_arq.models import JobRecord
    from tests.reliability.jobs import RUNS

    problems = report.problems
    if len(set(ids)) != report.jobs:
        problems.append(f"{len(set(ids))} distinct job ids for {report.jobs} jobs")
    runs = {k.decode(): int(v) for k, v in client.hgetall(RUNS).items()}
    never = set(ids) - set(runs)
    twice = {k: v for k, v in runs.items() if v != 1}
    if never or twice:
        problems.append(f"{len(never)} jobs never ran, {len(twice)} ran more than once")
    records = JobRecord.objects.filter(queue_name=QUEUE)
    if records.count() != report.jobs or set(records.values_list("job_id", flat=True)) != set(ids):
        problems.append(f"{records.count()} records for {report.jobs} jobs")
    incomplete = records.exclude(status="complete", success=True).count()
    if incomplete:
        problems.append(f"{incomplete} records not complete and successful")
    left: dict[str, int] = {}
    for key in client.scan_iter(count=1000):
        name = key.decode()
        if name == RUNS or name.startswith(KEPT_PREFIXES) or name == f"{QUEUE}:health-check":
            continue
        kind = name.rsplit(":", 1)[0] if name.startswith("arq:") else name
        left[kind] = left.get(kind, 0) + 1
    if left:
        problems.append(f"keys left behind: {dict(sorted(left.items()))}")
    results = sum(1 for _ in client.scan_iter(match="arq:result:*", count=1000))
    if results != report.jobs:
        problems.append(f"{results} kept results for {report.jobs} jobs")


def run_load(redis_url: str, *, jobs: int, producers: int, workers: int, bulk: int = 25) -> LoadReport:
    """Enqueue ``jobs`` through ``get_queue()`` (pointed at ``redis_url``), run them on ``workers``
    ``manage.py arq_worker`` processes, and check the outcome. Needs Django set up on a database
    the workers can reach (see :func:`worker_env`)."""
    import redis

    from django_arq.models import JobRecord
    from tests.helpers import Process, wait_for

    report = LoadReport(jobs, producers, workers)
    client = redis.Redis.from_url(redis_url)
    env = worker_env(redis_url)
    args = [sys.executable, "-m", "django", "arq_worker", "--queue", QUEUE, "--verbosity", "0"]
    processes = [Process(args, env=env) for _ in range(workers)]
    try:
        began = time.perf_counter()
        ids = asyncio.run(produce(report, bulk))
        done = JobRecord.objects.filter(queue_name=QUEUE, status="complete")
        wait_for(lambda: done.count() >= jobs or any(p.proc.poll() is not None for p in processes),
                 timeout=max(60, jobs / 20), interval=0.2)  # fmt: skip
        report.total_seconds = time.perf_counter() - began
        for process in processes:
            code = process.stop(signal.SIGTERM, timeout=30)
            if code != 0:
                report.problems.append(f"a worker exited with {code}: {process.output()[-2000:]}")
        check(report, client, ids)
    finally:
        for process in processes:
            process.kill()
        client.close()
    return report


def configure(db: str, redis_url: str) -> None:
    """Django on tests.reliability.settings, a throwaway database, the given Redis."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.reliability.settings"
    os.environ["DJANGO_ARQ_TEST_DB"] = db
    os.environ["DJANGO_ARQ_TEST_REDIS"] = redis_url
    import django
    from django.conf import settings

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = (
        "django_arq_bench_load" if db == "postgres" else os.path.join(tempfile.mkdtemp(), "load.db")
    )
    settings.DEBUG = False
    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--producers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--bulk", type=int, default=25, help="jobs per enqueue_many() call")
    args = parser.parse_args()

    from tests.helpers import redis_server

    with redis_server() as server:
        configure(args.db, server.url)
        from django.db import connection

        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            report = run_load(
                server.url, jobs=args.jobs, producers=args.producers, workers=args.workers, bulk=args.bulk
            )
        finally:
            from asgiref.sync import SyncToAsync
            from django.db import connections

            SyncToAsync.single_thread_executor.submit(connections.close_all).result()  # the async ORM's
            connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"\n== load on {args.db} ==")
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
