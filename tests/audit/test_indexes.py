"""Each reader of JobRecords finds an index: the admin's search by job id, finished records by
time (pruning, the dashboard's throughput), the retries of a record (SET NULL when it is deleted),
the admin's filters in their order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from django_arq.admin.dashboard import _throughput
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def record(job_id: str, **fields: object) -> JobRecord:
    return JobRecord.objects.create(job_id=job_id, name="n", enqueue_time=T0, queue_name="q", **fields)


def test_readers_use_the_indexes() -> None:
    original = record("a", finish_time=T0, success=True, status="complete")
    record("b", retry_of=original)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # a table this small is read whole unless told not to
            cursor.execute("SET LOCAL enable_seqscan = off")
    cutoff = T0 + dt.timedelta(days=1)
    readers = {
        "django_arq_unique_job_id_alias": JobRecord.objects.filter(job_id="a"),
        "django_arq_finished_idx": JobRecord.objects.filter(finish_time__lt=cutoff).order_by(),
        "django_arq_retry_of_idx": JobRecord.objects.filter(retry_of=original),
        "django_arq_status_idx": JobRecord.objects.filter(status="queued").order_by("-enqueue_time"),
        "django_arq_name_idx": JobRecord.objects.filter(name="n").order_by("-enqueue_time"),
    }
    for index, queryset in readers.items():
        plan = queryset.explain()
        if connection.vendor == "sqlite" and index.startswith("django_arq_unique"):
            index = "sqlite_autoindex_django_arq_jobrecord"  # SQLite names a table's UNIQUE constraint so
        assert index in plan, f"{index} not used:\n{plan}"
    assert "django_arq_finished_idx" in _throughput(T0).explain()  # type: ignore[attr-defined]
