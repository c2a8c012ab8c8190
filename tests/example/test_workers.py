"""README, "Running in production": several worker processes on one Redis share the jobs, each runs once."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import Process, redis_server, wait_for

from .conftest import EXAMPLE, ExampleDatabase

ENQUEUE = """
from django_arq import JobSpec, get_queue
specs = [JobSpec("shop.jobs.build_sales_report", kwargs={"seconds": 1}) for _ in range(12)]
print("ids:", *(job.id for job in get_queue().enqueue_many_sync(specs)))
"""


def test_two_workers_share_one_queue(example_env: dict[str, str], example_db: ExampleDatabase) -> None:
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    example_db.create()
    with redis_server() as redis:
        env = {**example_env, "REDIS_URL": redis.url}
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
        workers = [Process([*manage, "arq_worker", "--max-jobs", "6"], env=env) for _ in range(2)]
        try:
            for worker in workers:
                wait_for(
                    lambda w=worker: "Starting worker" in w.output() or w.proc.poll() is not None, timeout=30
                )
                assert worker.proc.poll() is None, worker.output()
            enqueued = subprocess.run(
                [*manage, "shell", "-c", ENQUEUE],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            ids = enqueued.stdout.split("ids:")[-1].split()
            assert len(set(ids)) == 12

            def finished() -> bool:  # the reports are done, and arq logged each job's end (after it)
                rows = example_db.query("SELECT COUNT(*) FROM shop_report WHERE finished_at IS NOT NULL")
                logged = sum(worker.output().count("shop.jobs.build_sales_report ●") for worker in workers)
                return bool(rows[0][0] == 12 and logged >= 12)

            try:
                wait_for(finished, timeout=60, interval=0.2)
            except AssertionError:
                raise AssertionError("\n".join(worker.output()[-3000:] for worker in workers)) from None
        finally:
            for worker in workers:
                worker.stop()
    ran = [worker.output().count("shop.jobs.build_sales_report ●") for worker in workers]
    assert sum(ran) == 12 and min(ran) > 0, ran  # each job ran once, and both workers took some
    records = example_db.query(  # not the example's cron job, which may have run meanwhile
        "SELECT job_id, job_try, success FROM django_arq_jobrecord"
        " WHERE name = 'shop.jobs.build_sales_report'"
    )
    assert sorted(records) == sorted((job_id, 1, True) for job_id in ids)
