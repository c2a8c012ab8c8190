"""Admin job list at 1,000 and at 100,000 JobRecords: time per page, SQL queries, Redis calls.

Target: the page at 100,000 records takes at most 2x the time at 1,000, with the same number of
SQL queries and no Redis call per row. Runs Django's test client against a throwaway database:

    .venv/bin/python bench/bench_admin.py                          # SQLite
    DJANGO_ARQ_TEST_DB=postgres .venv/bin/python bench/bench_admin.py  # PostgreSQL
    .venv/bin/python bench/bench_admin.py --small 1000 --large 100000 --repeat 15
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
import redis.asyncio  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from django_arq.models import JobRecord  # noqa: E402

PAGES = {
    "list": "/admin/django_arq/jobrecord/",
    "filtered": "/admin/django_arq/jobrecord/?status__exact=complete&queue_name=bench:q1",
    "search": "/admin/django_arq/jobrecord/?q=job-000000500",  # a job id: found through the index
    "name": "/admin/django_arq/jobrecord/?q=task_3",  # part of a task name: a scan, shown, not a target
}
#: Pages measured for information only: searching inside task names reads every row.
INFORMATIONAL = {"name"}
NAMES = [f"myapp.jobs.task_{i}" for i in range(8)]
STATUSES = ["complete"] * 7 + ["queued", "in_progress", "deferred"]


class RedisCalls:
    """Counts every command sent by any redis-py client in this process."""

    count = 0

    @classmethod
    def install(cls) -> None:
        for klass in (redis.Redis, redis.asyncio.Redis):
            original = klass.execute_command

            def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                cls.count += 1
                return __original(self, *args, **kwargs)

            klass.execute_command = counted  # type: ignore[method-assign]


def add_records(start: int, stop: int) -> None:
    """Rows spread over 30 days, 8 task names, 3 queues, mostly finished."""
    now = timezone.now()
    batch = []
    for i in range(start, stop):
        enqueued = now - dt.timedelta(seconds=i * 25)  # 100,000 rows ~ 29 days
        status = STATUSES[i % len(STATUSES)]
        done = status == "complete"
        batch.append(
            JobRecord(
                job_id=f"job-{i:09d}",
                name=NAMES[i % len(NAMES)],
                args=[i, "x" * 40],
                kwargs={"user": i % 97},
                enqueue_time=enqueued,
                status=status,
                queue_name=f"bench:q{i % 3}",
                alias="default",
                start_time=enqueued + dt.timedelta(seconds=1) if done else None,
                finish_time=enqueued + dt.timedelta(seconds=2) if done else None,
                success=(i % 13 != 0) if done else None,
                result={"value": i} if done else None,
            )
        )
        if len(batch) == 5000:
            JobRecord.objects.bulk_create(batch)
            batch = []
    JobRecord.objects.bulk_create(batch)


def measure(client: Client, url: str, repeat: int) -> tuple[float, int, int, float]:
    """Fastest seconds per page (the least disturbed by other processes on the machine), SQL
    queries and Redis calls of one page view, and the median seconds."""
    for _ in range(3):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200
    redis_before = RedisCalls.count
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return min(times), len(queries), RedisCalls.count - redis_before, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    opts = parser.parse_args()

    test = connection.settings_dict["TEST"]
    test["NAME"] = (
        "/tmp/django-arq-bench-admin.sqlite3"
        if connection.vendor == "sqlite"
        else "test_django_arq_bench_admin"
    )
    settings.DEBUG = False
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    RedisCalls.install()
    try:
        from django.contrib.auth.models import User

        client = Client()
        client.force_login(User.objects.create_superuser("bench", password="x"))
        print(
            f"admin job list on {connection.vendor}, fastest of {opts.repeat} page views (Django test client)"
        )
        results: dict[int, dict[str, tuple[float, int, int, float]]] = {}
        for size in (opts.small, opts.large):
            add_records(JobRecord.objects.count(), size)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE django_arq_jobrecord")
            results[size] = {name: measure(client, url, opts.repeat) for name, url in PAGES.items()}
            for name, (seconds, queries, redis_calls, median) in results[size].items():
                print(
                    f"  {size:>7,} records  {name:<9} {seconds * 1000:7.1f} ms/page "
                    f"(median {median * 1000:.1f})  "
                    f"{queries:2d} SQL queries  {redis_calls} Redis calls"
                )
        ok = True
        for name in PAGES:
            small, large = results[opts.small][name], results[opts.large][name]
            ratio = large[0] / small[0]
            same_queries = small[1] == large[1]
            no_redis = small[2] == large[2] == 0
            verdict = "OK" if ratio <= 2 and same_queries and no_redis else "FAIL"
            if name in INFORMATIONAL:
                verdict = "(information: a substring search reads every row)"
            ok = ok and verdict != "FAIL"
            print(
                f"{name:<9} {opts.large:,} vs {opts.small:,}: {ratio:.2f}x time (target <= 2x), "
                f"queries {small[1]} -> {large[1]}, Redis calls {small[2]} -> {large[2]}  {verdict}"
            )
        return 0 if ok else 1
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
