"""PostgreSQL refuses the worker while it finishes jobs: results stay in Redis, and the records
catch up once the database is back (same worker process, no restart). The outage is real: the
worker's connections are terminated and new ones refused (``ALLOW_CONNECTIONS false``).
SQLite has no server to take away: the table-rename outage of
tests/worker/test_worker.py::test_records_survive_a_database_outage covers both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import SyncToAsync
from django.db import connection, connections

from django_arq import JobSpec, get_queue
from django_arq.audit.writer import MAX_BACKOFF
from django_arq.models import JobRecord
from tests.helpers import wait_for
from tests.reliability.conftest import FaultWorkers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a PostgreSQL server to take away"),
]


class Outage:
    """Ends every session on the test database but this test's own, and refuses new ones
    (``ALTER DATABASE`` runs from the maintenance database: PostgreSQL refuses it from inside)."""

    def __init__(self) -> None:
        import psycopg

        db = connection.settings_dict
        self.name = db["NAME"]
        self.admin = psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True
        )

    def begin(self) -> None:
        close_thread_connections()  # this process's async-ORM session is not the one to break
        self.admin.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS false')
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    def end(self) -> None:
        self.admin.execute(f'ALTER DATABASE "{self.name}" WITH ALLOW_CONNECTIONS true')


def close_thread_connections() -> None:
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def outage() -> Iterator[Outage]:
    found = Outage()
    yield found
    found.end()
    found.admin.close()


def test_records_catch_up_after_the_database_refused_the_worker(
    fault_workers: FaultWorkers, queue_name: str, outage: Outage
) -> None:
    worker = fault_workers.start()
    queue = get_queue()
    first = queue.enqueue_sync("tests.jobs.add", 1, 1, _queue_name=queue_name)
    wait_for(lambda: JobRecord.objects.filter(job_id=first.id, status="complete").exists(), timeout=15)

    outage.begin()
    specs = [JobSpec("tests.jobs.add", (i, 1), queue_name=queue_name) for i in range(5)]
    ids = [m.id for m in queue.enqueue_many_sync(specs)]  # this process keeps its own session

    def finished_in_redis() -> bool:  # the jobs run and their results are stored meanwhile
        return all(queue.get_job_metadata_sync(i, queue_name).status.value == "complete" for i in ids)

    wait_for(finished_in_redis, timeout=15)
    assert [queue.get_job_result_sync(i, queue_name).result for i in ids] == [1, 2, 3, 4, 5]
    wait_for(lambda: "could not write" in worker.output(), timeout=10)
    assert JobRecord.objects.filter(job_id__in=ids, status="complete").count() == 0

    outage.end()
    # the worker's writer retries with a backoff that grew with the outage: at most MAX_BACKOFF
    wait_for(
        lambda: JobRecord.objects.filter(job_id__in=ids, status="complete").count() == 5,
        timeout=MAX_BACKOFF + 15,
    )
    assert sorted(JobRecord.objects.filter(job_id__in=ids).values_list("result", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert worker.proc.poll() is None
    later = queue.enqueue_sync("tests.jobs.add", 2, 2, _queue_name=queue_name)  # and it goes on
    wait_for(lambda: JobRecord.objects.filter(job_id=later.id, status="complete").exists(), timeout=15)
