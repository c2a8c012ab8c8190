"""Tasks enqueued through an audited alias get JobRecords like any other arq job."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.tasks import task_backends

from django_arq.audit.on_commit import aflush_records
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from django_arq.tasks import RUN_TASK
from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_AUDIT_QUEUE
from tests.tasks.support import run_burst_worker


@pytest.mark.django_db
def test_enqueue_writes_a_record() -> None:
    assert task_backends["audited"].check() == []
    result = sample_tasks.add.using(backend="audited").enqueue(1, b=2)
    record = JobRecord.objects.get(job_id=result.id)
    assert (record.alias, record.name, record.queue_name) == ("tasks_audit", RUN_TASK, TASKS_AUDIT_QUEUE)
    assert record.args == ["tests.tasks.sample_tasks.add", [1], {"b": 2}]
    assert record.kwargs == {"backend": "audited", "queue_name": "default", "run_after": None}


@pytest.mark.django_db(transaction=True)
async def test_aenqueue_writes_a_record() -> None:
    result = await sample_tasks.async_add.using(backend="audited").aenqueue(2, 3)
    assert await aflush_records()  # async code hands records to the background writer
    record = await JobRecord.objects.aget(job_id=result.id)
    assert record.args == ["tests.tasks.sample_tasks.async_add", [2, 3], {}]
    await sync_to_async(connections.close_all)()  # asgiref's thread: let the test database be dropped


@pytest.mark.django_db
def test_unaudited_alias_writes_none() -> None:
    result = sample_tasks.add.enqueue(1, 2)
    assert flush_records()
    assert not JobRecord.objects.filter(job_id=result.id).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_the_record_of_a_task_current() -> None:
    ok = sample_tasks.add.using(backend="audited").enqueue(1, b=2)
    bad = sample_tasks.fail.using(backend="audited").enqueue("recorded")
    run_burst_worker("tasks_audit", db_name=str(connection.settings_dict["NAME"]))
    assert sample_tasks.add.using(backend="audited").get_result(ok.id).return_value == 3
    record = JobRecord.objects.get(job_id=ok.id)
    assert (record.status, record.success, record.result, record.job_try) == ("complete", True, 3, 1)
    failed = JobRecord.objects.get(job_id=bad.id)
    assert (failed.status, failed.success) == ("complete", False)
    assert "tests.tasks.sample_tasks.TaskBoom" in failed.error and "recorded" in failed.error
