"""Tasks enqueued through an audited alias get JobRecords like any other arq job."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.tasks import task_backends

from django_arq.models import JobRecord
from django_arq.tasks import RUN_TASK
from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_QUEUE


@pytest.mark.django_db
def test_enqueue_writes_a_record() -> None:
    assert task_backends["audited"].check() == []
    result = sample_tasks.add.using(backend="audited").enqueue(1, b=2)
    record = JobRecord.objects.get(job_id=result.id)
    assert (record.alias, record.name, record.queue_name) == ("tasks_audit", RUN_TASK, TASKS_QUEUE)
    assert record.args == ["tests.tasks.sample_tasks.add", [1], {"b": 2}]
    assert record.kwargs == {"backend": "audited", "queue_name": "default", "run_after": None}


@pytest.mark.django_db(transaction=True)
async def test_aenqueue_writes_a_record() -> None:
    result = await sample_tasks.async_add.using(backend="audited").aenqueue(2, 3)
    record = await JobRecord.objects.aget(job_id=result.id)
    assert record.args == ["tests.tasks.sample_tasks.async_add", [2, 3], {}]
    await sync_to_async(connections.close_all)()  # asgiref's thread: let the test database be dropped


@pytest.mark.django_db
def test_unaudited_alias_writes_none() -> None:
    result = sample_tasks.add.enqueue(1, 2)
    assert not JobRecord.objects.filter(job_id=result.id).exists()
