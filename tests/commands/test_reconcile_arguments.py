"""``arq_reconcile``'s own argument handling, in process: what it reads, writes and prints."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_arq import get_queue
from django_arq.audit.updates import update_records
from django_arq.management.commands.arq_reconcile import Command, write
from django_arq.models import JobRecord
from tests.helpers import free_port

pytestmark = pytest.mark.django_db


def record(job_id: str, status: str, queue_name: str, alias: str = "default") -> JobRecord:
    return JobRecord.objects.create(
        job_id=job_id, name="tests.jobs.add", enqueue_time=timezone.now(), status=status,
        queue_name=queue_name, alias=alias,
    )  # fmt: skip


def reconcile(*args: str) -> str:
    out = io.StringIO()
    call_command("arq_reconcile", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def updates(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith("UPDATE") for q in queries)


def test_help_and_defaults() -> None:
    parser = Command().create_parser("manage.py", "arq_reconcile")
    assert parser.parse_args([]).batch_size == 500
    assert parser.parse_args([]).alias is None and parser.parse_args([]).dry_run is False
    assert parser.parse_args(["--alias", "a", "--alias", "b"]).alias == ["a", "b"]
    text = " ".join(parser.format_help().split())
    assert "[--alias ALIAS] [--batch-size BATCH_SIZE] [--dry-run]" in text
    assert (
        " --alias ALIAS only this alias (repeatable; default: every alias on Redis)"
        " --batch-size BATCH_SIZE records per UPDATE (default: 500)"
        " --dry-run report what would change, write nothing -"
    ) in text


def test_every_unfinished_status_is_checked_and_marked_not_found(lonely_queue: str) -> None:
    before = timezone.now()
    for status in ("queued", "deferred", "in_progress", "complete", "failed"):
        record(f"{status}-{uuid.uuid4().hex}", status, lonely_queue)
    record(f"mock-{uuid.uuid4().hex}", "queued", lonely_queue, alias="mock")
    assert reconcile() == "checked 3 unfinished job record(s), updated 3\n"  # default: aliases on Redis
    changed = JobRecord.objects.filter(status="not_found")
    assert changed.count() == 3 and all(r.updated_at >= before for r in changed)
    assert set(JobRecord.objects.exclude(status="not_found").values_list("status", flat=True)) == {
        "complete", "failed", "queued"
    }  # fmt: skip


def test_unchanged_jobs_are_not_counted(redis_client: Any, lonely_queue: str) -> None:
    queue = get_queue()
    waiting = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue)
    assert waiting is not None
    JobRecord.objects.update_or_create(
        job_id=waiting.id, defaults={"status": "queued", "queue_name": lonely_queue, "name": "tests.jobs.add",
                                     "enqueue_time": timezone.now()},
    )  # fmt: skip
    done = f"done-{uuid.uuid4().hex}"
    now = timestamp_ms()
    redis_client.psetex(
        f"arq:result:{done}", 60_000,
        serialize_result("tests.jobs.add", (1, 2), {}, 1, now, True, 3, now, now, "ref", lonely_queue, done),
    )  # fmt: skip
    record(done, "in_progress", lonely_queue)
    try:
        assert reconcile("--alias", "default") == "checked 2 unfinished job record(s), updated 1\n"
    finally:
        redis_client.delete(f"arq:result:{done}")
    assert JobRecord.objects.get(job_id=waiting.id).status == "queued"
    rec = JobRecord.objects.get(job_id=done)
    assert (rec.status, rec.success, rec.result, rec.error) == ("complete", True, 3, "")


@pytest.mark.parametrize(("count", "batch", "expected"), [(3, 2, 2), (4, 2, 2), (2, 3, 1)])
def test_updates_are_written_in_batches(lonely_queue: str, count: int, batch: int, expected: int) -> None:
    for i in range(count):
        record(f"lost-{i}-{uuid.uuid4().hex}", "queued", lonely_queue)
    with CaptureQueriesContext(connection) as queries:
        out = reconcile("--alias", "default", "--batch-size", str(batch))
    assert out == f"checked {count} unfinished job record(s), updated {count}\n"
    assert updates(queries) == expected
    assert JobRecord.objects.filter(status="not_found").count() == count


def test_dry_run_writes_nothing(lonely_queue: str) -> None:
    for i in range(3):
        record(f"lost-{i}-{uuid.uuid4().hex}", "queued", lonely_queue)
    with CaptureQueriesContext(connection) as queries:
        out = reconcile("--dry-run", "--batch-size", "1")
    assert out == "checked 3 unfinished job record(s), would update 3\n"
    assert updates(queries) == 0
    assert not JobRecord.objects.exclude(status="queued").exists()


def test_unknown_aliases_are_named_sorted() -> None:
    with pytest.raises(CommandError) as info:
        reconcile("--alias", "zed", "--alias", "default", "--alias", "abe")
    assert str(info.value) == "unknown alias(es): abe, zed" and info.value.returncode == 2


def test_unreadable_jobs_are_counted_and_reported_on_stderr(redis_client: Any, lonely_queue: str) -> None:
    bad = [f"unreadable-{i}-{uuid.uuid4().hex}" for i in range(2)]
    for job_id in bad:
        redis_client.psetex(f"arq:job:{job_id}", 60_000, b"\x80 not a payload")
        redis_client.zadd(lonely_queue, {job_id: 1})
        record(job_id, "queued", lonely_queue)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("arq_reconcile", "--alias", "default", stdout=out, stderr=err)
    assert str(info.value) == "2 job(s) could not be read, see above" and info.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and all(
        line.startswith(f"job {job_id} (alias default): ") for line, job_id in zip(lines, bad, strict=True)
    )
    assert out.getvalue() == "checked 2 unfinished job record(s), updated 0\n"


def test_an_alias_whose_redis_is_down_does_not_stop_the_others(lonely_queue: str) -> None:
    down = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    first = record(f"down-{uuid.uuid4().hex}", "queued", lonely_queue, alias="down")
    later = record(f"lost-{uuid.uuid4().hex}", "queued", lonely_queue)
    out = io.StringIO()
    with (
        override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "down": down}),
        pytest.raises(CommandError) as info,
    ):
        call_command("arq_reconcile", stdout=out, stderr=io.StringIO())
    assert info.value.returncode == 5
    assert str(info.value).startswith("Redis unavailable for alias 'down' (") and "not checked" in str(
        info.value
    )
    assert out.getvalue() == "checked 1 unfinished job record(s), updated 1\n"
    assert JobRecord.objects.get(pk=first.pk).status == "queued"
    assert JobRecord.objects.get(pk=later.pk).status == "not_found"


def test_a_record_its_worker_wrote_after_the_read_is_left_as_the_worker_wrote_it(
    redis_client: Any, lonely_queue: str
) -> None:
    """Redis says the job runs; before the command's UPDATE, its worker records the job complete:
    the record stays complete (not set back to in progress, its start time and result cleared)."""
    queue = get_queue()
    job = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue)
    assert job is not None
    fields = {"status": "queued", "queue_name": lonely_queue, "name": "tests.jobs.add"}
    JobRecord.objects.update_or_create(job_id=job.id, defaults={**fields, "enqueue_time": timezone.now()})
    redis_client.psetex(f"arq:in-progress:{job.id}", 60_000, b"1")
    start, end = timezone.now(), timezone.now() + dt.timedelta(seconds=1)
    done = {"status": "complete", "start_time": start, "finish_time": end, "success": True, "result": 3}
    written: list[str] = []

    def worker_writes_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("UPDATE") and not written:  # the job ended, its worker's flush came first
            written.append(sql)
            update_records("default", "default", {job.id: done}, end)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(worker_writes_first):
            out = reconcile("--alias", "default")
    finally:
        redis_client.delete(f"arq:in-progress:{job.id}", f"arq:job:{job.id}")
        redis_client.zrem(lonely_queue, job.id)
    assert written
    rec = JobRecord.objects.get(job_id=job.id)
    assert (rec.status, rec.start_time, rec.finish_time, rec.success, rec.result) == (
        "complete", start, end, True, 3
    )  # fmt: skip
    assert out == "checked 1 unfinished job record(s), updated 0\n"


def test_a_large_batch_is_written_whatever_the_database_s_limits() -> None:
    """More records than SQLite nests expressions deep, with one record changed by someone else."""
    values = {"name": "tests.jobs.add", "enqueue_time": timezone.now(), "queue_name": "q"}
    JobRecord.objects.bulk_create(JobRecord(job_id=f"many-{i}", **values) for i in range(1200))
    records = list(JobRecord.objects.order_by("pk"))
    JobRecord.objects.filter(job_id="many-7").update(updated_at=timezone.now() + dt.timedelta(seconds=1))
    for record in records:
        record.status = "not_found"
    assert write([(record, record.updated_at) for record in records]) == 1199
    assert JobRecord.objects.filter(status="not_found").count() == 1199
    assert JobRecord.objects.get(job_id="many-7").status == "queued"
