"""arq_prune, arq_reconcile and arq_worker --check."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_arq import get_queue
from django_arq.audit.state import FORGOTTEN, apply_state
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobMetadata, JobResult, JobStatus
from tests.helpers import ROOT, free_port, wait_for
from tests.worker.conftest import WorkerRunner

pytestmark = pytest.mark.django_db


def make(
    job_id: str, days_ago: float, status: str = "complete", finished: bool = True, alias: str = "default"
) -> JobRecord:
    when = timezone.now() - dt.timedelta(days=days_ago)
    return JobRecord.objects.create(
        job_id=job_id, name="tests.jobs.add", enqueue_time=when, status=status, queue_name="q", alias=alias,
        finish_time=when if finished else None,
    )  # fmt: skip


def prune(*args: str) -> str:
    out = StringIO()
    call_command("arq_prune", *args, stdout=out)
    return out.getvalue()


def test_prune_old_complete_records_in_batches() -> None:
    for i in range(25):
        make(f"old-{i}", 40)
    make("new", 1)
    make("old-running", 40, status="in_progress", finished=False)
    make("old-mock", 40, alias="mock")
    assert "would delete 26 job record(s)" in prune("--older-than", "30", "--dry-run")
    assert JobRecord.objects.count() == 28
    with CaptureQueriesContext(connection) as queries:
        out = prune("--older-than", "30", "--batch-size", "10", "--alias", "default")
    assert "deleted 25 job record(s) older than 30 day(s), status complete" in out
    deletes = [q for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 10 + 10 + 5
    assert set(JobRecord.objects.values_list("job_id", flat=True)) == {"new", "old-running", "old-mock"}


def test_prune_by_status_and_all() -> None:
    make("run", 40, status="in_progress", finished=False)
    make("q", 40, status="queued", finished=False)
    make("done", 40)
    assert "deleted 1 " in prune("--older-than", "30", "--status", "in_progress")
    assert "deleted 2 " in prune("--older-than", "30", "--status", "all")
    assert not JobRecord.objects.exists()


@pytest.mark.parametrize("args", [["--older-than", "0"], ["--older-than", "1", "--batch-size", "0"]])
def test_prune_rejects_bad_input(args: list[str]) -> None:
    with pytest.raises(CommandError):
        prune(*args)


@pytest.mark.django_db(transaction=True)
def test_reconcile_restores_lost_updates(workers: WorkerRunner) -> None:
    queue = get_queue()
    ran = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=workers.queue_name)
    waiting = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=workers.queue_name, _defer_by=3600)
    workers.burst("--max-burst-jobs", "1")  # arq's burst mode would otherwise wait for the deferred job
    lost = timezone.now() - dt.timedelta(days=1)
    JobRecord.objects.filter(job_id=ran.id).update(
        status="in_progress", success=None, result=None, finish_time=None
    )
    make("vanished", 1, status="queued", finished=False)
    JobRecord.objects.filter(job_id="vanished").update(queue_name=workers.queue_name, enqueue_time=lost)
    out = StringIO()
    call_command("arq_reconcile", "--alias", "default", stdout=out)
    assert "checked 3 unfinished job record(s), updated 2" in out.getvalue()
    rec = JobRecord.objects.get(job_id=ran.id)
    assert (rec.status, rec.success, rec.result) == ("complete", True, 3)
    assert JobRecord.objects.get(job_id=waiting.id).status == "deferred"
    assert JobRecord.objects.get(job_id="vanished").status == "not_found"


def test_apply_state_is_shared_by_reconcile_and_refresh() -> None:
    """One copy of Redis's view onto a record; only the caller decides what a forgotten job means."""
    now = timezone.now()
    meta = JobMetadata("j", "tests.jobs.add", (1,), {}, now, JobStatus.in_progress, "q")
    record = make("j", 0, status="queued", finished=False)
    assert apply_state(record, meta) == ["status"] and record.status == "in_progress"

    failed = JobResult(
        "j", "tests.jobs.add", (1,), {}, now, JobStatus.complete, "q",
        start_time=now, finish_time=now, success=False, result=ValueError("x"),
    )  # fmt: skip
    record.error = "Traceback ... ValueError: x"
    apply_state(record, failed)
    assert (record.status, record.success, record.error) == ("complete", False, "Traceback ... ValueError: x")
    record.error = ""
    apply_state(record, failed)
    assert record.error == "ValueError('x')"

    done = dataclasses.replace(failed, success=True, result=3)
    apply_state(record, done)
    assert (record.success, record.result, record.error) == (True, 3, "")

    assert apply_state(record, None) == [] and record.status == "complete"  # refresh: record kept
    assert apply_state(record, None, mark_forgotten=True) == ["status", "error"]  # reconcile
    assert (record.status, record.error) == ("not_found", FORGOTTEN)


DOWN = """
import tests.settings as s
s.ARQ_QUEUES["down"] = {
    "BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": "redis://:s3cret@127.0.0.1:%d/0",
    "OPTIONS": {"conn_retries": 0}, "WORKER": {"FUNCTIONS": ["tests.jobs.add"]},
}
import django
django.setup()
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "arq_worker", "--check", "--alias", "down"])
"""


def test_worker_check_with_redis_down_is_one_line_without_the_password() -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-c", DOWN % port], env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"CommandError: cannot reach Redis at redis://:***@127.0.0.1:{port}/0: ")
    assert "s3cret" not in done.stderr


def test_worker_check_of_a_running_worker(workers: WorkerRunner) -> None:
    """--check passes while a worker runs (it writes its health key), fails without one."""

    def healthy() -> bool:
        try:
            call_command("arq_worker", "--check", "--queue", workers.queue_name, verbosity=0)
        except CommandError as exc:
            assert "no recent health check" in str(exc)
            return False
        return True

    assert not healthy()
    workers.start()
    wait_for(healthy, timeout=20)
