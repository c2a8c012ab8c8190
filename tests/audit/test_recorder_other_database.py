"""A recorder given a database other than "default" (``using``) reads and writes its records
there, and only there: starts and ends, the try errors already stored, the tries of lost workers;
whether the database answers when a write fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from arq import Retry
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.db.models import QuerySet

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from django_arq.queues.heartbeats import LostJob
from tests.audit.recorders import T0, made_from_echo, start_echo

pytestmark = pytest.mark.django_db(transaction=True)

ELSEWHERE = "recorder_only"  # an alias no other test uses (the write caches plans per alias)
EARLIER = {"try": 1, "error": "ValueError('x')", "time": T0.isoformat()}


async def _schema(statement: str) -> None:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    await sync_to_async(run)()


def _create_table() -> None:
    with connections[ELSEWHERE].schema_editor() as editor:
        editor.create_model(JobRecord)


def _forget() -> None:
    connections[ELSEWHERE].close()
    del connections[ELSEWHERE]


@pytest.fixture
async def recorder(tmp_path: Path) -> AsyncIterator[JobRecorder]:
    """A recorder given the database ``ELSEWHERE``: one with a JobRecord table of its own (a SQLite
    file, or a schema of the PostgreSQL test database). Its connections are made in the threads that
    use them (the recorder's, the async ORM's) while the settings list the alias, as Django's test
    case allows only connections to databases it does not know."""
    config = {**connection.settings_dict}
    schema = ""
    if connection.vendor == "sqlite":
        config["NAME"] = str(tmp_path / "recorder_only.sqlite3")
    else:
        schema = f"recorder_only_{uuid.uuid4().hex[:12]}"
        await _schema(f"CREATE SCHEMA {schema}")
        config["OPTIONS"] = {**config["OPTIONS"], "options": f"-c search_path={schema}"}
    rec = JobRecorder("default", "q", using=ELSEWHERE)
    connections.settings[ELSEWHERE] = config
    try:
        await asyncio.get_running_loop().run_in_executor(rec._executor, connections.__getitem__, ELSEWHERE)
        await sync_to_async(connections.__getitem__)(ELSEWHERE)
    finally:
        del connections.settings[ELSEWHERE]
    try:
        await sync_to_async(_create_table)()
        yield rec
    finally:
        await rec.close()
        await sync_to_async(_forget)()
        if schema:
            await _schema(f"DROP SCHEMA {schema} CASCADE")


def records() -> QuerySet[JobRecord]:
    """The records of the database ``ELSEWHERE``."""
    return JobRecord.objects.using(ELSEWHERE)


async def known(job_id: str, **fields: object) -> None:
    values = {"name": "tests.jobs.echo", "args": ["x"], "enqueue_time": T0, "queue_name": "q", **fields}
    await records().acreate(job_id=job_id, alias="default", **values)


async def test_records_are_updated_and_created_in_the_recorder_s_database(recorder: JobRecorder) -> None:
    existing, created = uuid.uuid4().hex, uuid.uuid4().hex
    await known(existing)
    start_echo(recorder, existing, 1)
    recorder.job_returned(existing, 3)
    recorder.job_ended(existing, finished=True, deferred=False)
    start_echo(recorder, created, 1)
    assert await recorder.flush() is True
    done = await records().aget(job_id=existing)
    assert (done.status, done.success, done.result) == ("complete", True, 3)
    running = await records().aget(job_id=created)
    assert made_from_echo(running) and running.status == "in_progress"
    assert not await JobRecord.objects.filter(job_id__in=[existing, created]).aexists()  # default's


async def test_a_retry_adds_to_the_try_errors_stored_in_the_recorder_s_database(
    recorder: JobRecorder,
) -> None:
    job = uuid.uuid4().hex
    await known(job, status="in_progress", job_try=2, try_errors=[EARLIER])
    start_echo(recorder, job, 2)
    recorder.job_raised(job, Retry(defer=60), aborted=False)
    recorder.job_ended(job, finished=False, deferred=True)
    assert await recorder.flush() is True
    record = await records().aget(job_id=job)
    assert record.status == "deferred"
    assert [e["try"] for e in record.try_errors] == [1, 2]
    assert record.try_errors[0] == EARLIER


async def test_lost_tries_are_recorded_in_the_recorder_s_database(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    await known(job, status="in_progress", worker_id="w-lost", job_try=1)
    await recorder.jobs_lost([LostJob(job, "w-lost", 1)])
    record = await records().aget(job_id=job)
    assert (record.status, record.error) == ("queued", "worker w-lost lost, re-queued as try 2")
    assert [(e["try"], e["lost"]) for e in record.try_errors] == [(1, True)]


def _drop_table() -> None:
    with connections[ELSEWHERE].schema_editor() as editor:
        editor.delete_model(JobRecord)


async def test_updates_wait_for_the_recorder_s_database_to_answer_again(recorder: JobRecorder) -> None:
    """The recorder's database lost its table (the default database still answers): no record is
    at fault, so none is dropped; the batch is written once the table is back."""
    job = uuid.uuid4().hex
    await sync_to_async(_drop_table)()
    start_echo(recorder, job, 1)
    assert await recorder.flush() is False
    await sync_to_async(_create_table)()
    assert await recorder.flush() is True
    assert (await records().aget(job_id=job)).status == "in_progress"
