"""Results read by a different process than the one that enqueued; Django queues on their own arq queue."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone

from tests.helpers import ROOT
from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_QUEUE
from tests.tasks.support import run_burst_worker, task_env, wait_finished

pytestmark = pytest.mark.usefixtures("task_worker")

SETUP = "import django, json; django.setup(); from tests.tasks import sample_tasks; "


def run_child(code: str) -> str:
    """Run Python code in a fresh process with the tasks settings; its last output line."""
    done = subprocess.run(
        [sys.executable, "-c", SETUP + code],
        env=task_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_enqueued_elsewhere_read_here() -> None:
    result_id = run_child("print(sample_tasks.add.enqueue(5, 6).id)")
    result = wait_finished(sample_tasks.add.get_result(result_id))
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 11
    assert result.args == [5, 6]


def test_enqueued_here_read_elsewhere() -> None:
    result = wait_finished(sample_tasks.fail.enqueue("far away"))
    seen = json.loads(
        run_child(
            f"r = sample_tasks.fail.get_result({result.id!r}); "
            "print(json.dumps({'status': r.status, 'errors': [e.exception_class_path for e in r.errors], "
            "'workers': r.worker_ids, 'finished': r.finished_at.isoformat()}))"
        )
    )
    assert seen == {
        "status": "FAILED",
        "errors": ["tests.tasks.sample_tasks.TaskBoom"],
        "workers": result.worker_ids,
        "finished": result.finished_at.isoformat(),
    }


def test_other_django_queue_runs_on_a_worker_for_its_arq_queue() -> None:
    result = sample_tasks.pid.using(queue_name="other").enqueue()
    worker = run_burst_worker(queue=f"{TASKS_QUEUE}:other")
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == worker.proc.pid
    assert result.worker_ids == [f"{socket.gethostname()}:{worker.proc.pid}"]
    assert "django_arq.tasks.run_task" in worker.output()  # the banner lists the function


def test_a_plain_arq_worker_with_worker_functions_runs_tasks() -> None:
    result = sample_tasks.pid.using(queue_name="other").enqueue()
    worker = run_burst_worker(queue=f"{TASKS_QUEUE}:other", plain=True)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == worker.proc.pid


def test_json_serializer_keeps_results_and_tracebacks() -> None:
    run_after = timezone.now() - timedelta(seconds=1)
    ok = sample_tasks.echo.using(backend="json", run_after=run_after).enqueue([1, "a"], k=None)
    bad = sample_tasks.fail.using(backend="json").enqueue("as json")
    worker = run_burst_worker("tasks_json")
    assert "django_arq.tasks.run_task" in worker.output()
    ok.refresh()
    bad.refresh()
    assert ok.status == TaskResultStatus.SUCCESSFUL
    assert ok.return_value == {"args": [[1, "a"]], "kwargs": {"k": None}}
    assert ok.task.run_after == run_after
    (error,) = bad.errors
    assert error.exception_class_path == "tests.tasks.sample_tasks.TaskBoom"
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert error.traceback.rstrip().endswith("tests.tasks.sample_tasks.TaskBoom: as json")


def test_a_result_whose_keys_json_would_write_as_one_fails_the_task_on_a_json_alias() -> None:
    result = sample_tasks.collides.using(backend="json").enqueue()
    run_burst_worker("tasks_json")
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class_path == "builtins.TypeError"
    assert "the keys 1 and '1' of one dict are both written as '1'" in error.traceback
