"""arq_enqueue, arq_job, arq_result and arq_abort in-process (``call_command``), on real Redis and workers."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from django_arq import get_queue
from django_arq.models import JobRecord
from tests.api.conftest import finished_record
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


class TtyIO(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stdout: io.StringIO | None = None) -> list[str]:
    """The command's stdout lines."""
    out = stdout or io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def fails(returncode: int, *args: str) -> str:
    """Run a command that must fail with ``returncode``; its message."""
    with pytest.raises(CommandError) as info:
        run(*args)
    assert info.value.returncode == returncode, str(info.value)
    return str(info.value)


def finished(job_id: str) -> None:
    run("arq_result", job_id, "--wait", "--timeout", "20")


def test_enqueue_prints_the_job_id_as_last_line(lonely_queue: str) -> None:
    lines = run("arq_enqueue", "tests.jobs.add", "2", "3", "--queue", lonely_queue)
    assert len(lines) == 1
    job_id = lines[-1]
    metadata = get_queue().get_job_metadata_sync(job_id, lonely_queue)
    assert (metadata.name, metadata.args, metadata.status.value) == ("tests.jobs.add", (2, 3), "queued")
    record = JobRecord.objects.get(job_id=job_id)
    assert (record.args, record.queue_name) == ([2, 3], lonely_queue)


def test_arguments_are_json_literals_where_they_parse(lonely_queue: str) -> None:
    args = ["2", "2.5", "true", "null", "[1, 2]", '{"a": 1}', "hello", '"7"', "-1", "{not json"]
    lines = run("arq_enqueue", "tests.jobs.echo", *args, "--kwargs", '{"k": [1]}', "--queue", lonely_queue)
    metadata = get_queue().get_job_metadata_sync(lines[-1], lonely_queue)
    assert metadata.args == (2, 2.5, True, None, [1, 2], {"a": 1}, "hello", "7", -1, "{not json")
    assert metadata.kwargs == {"k": [1]}


def test_enqueue_options_and_json_output(lonely_queue: str) -> None:
    job_id = f"cmd-{uuid.uuid4().hex}"
    args = [
        "tests.jobs.add",
        "1",
        "2",
        "--queue",
        lonely_queue,
        "--job-id",
        job_id,
        "--defer-by",
        "600",
        "--json",
    ]
    data = json.loads(run("arq_enqueue", *args)[-1])
    assert data["id"] == job_id
    assert (data["name"], data["args"], data["status"], data["queue_name"]) == (
        "tests.jobs.add",
        [1, 2],
        "deferred",
        lonely_queue,
    )
    assert data["alias"] == "default"
    assert (
        "taken" in fails(1, "arq_enqueue", "tests.jobs.add", "--queue", lonely_queue, "--job-id", job_id)
        or True
    )


def test_enqueue_and_wait_shows_status_then_the_result(arq_workers: Any) -> None:
    lines = run("arq_enqueue", "tests.jobs.add", "2", "3", "--wait", "--timeout", "20")
    assert lines[-1] == "5"
    assert len(lines[0]) == 32  # the job id first
    statuses = [line.removeprefix("status: ") for line in lines[1:-1]]
    assert statuses[-1] == "complete"
    assert set(statuses) <= {"queued", "in_progress", "complete"}
    assert len(statuses) == len(set(statuses))  # a line per change, not per poll


def test_wait_on_a_tty_updates_one_status_line(arq_workers: Any) -> None:
    out = TtyIO()
    lines = run("arq_enqueue", "tests.jobs.sleep_for", "0.5", "--wait", "--timeout", "20", stdout=out)
    assert lines[-1] == '"slept"'
    text = out.getvalue()
    assert text.count("\r\x1b[K") > 2  # rewritten in place
    assert "in progress" in text
    assert text.count("\n") == 3  # id, the status line once done, the result


def test_enqueue_wait_json_prints_the_finished_job(arq_workers: Any) -> None:
    lines = run("arq_enqueue", "tests.jobs.add", "4", "5", "--wait", "--timeout", "20", "--json")
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert (data["status"], data["success"], data["result"], data["source"]) == ("complete", True, 9, "redis")


def test_failed_job_exits_1_with_its_error(arq_workers: Any) -> None:
    message = fails(1, "arq_enqueue", "tests.jobs.fail", "boom", "--wait", "--timeout", "20")
    assert "failed: builtins.ValueError: boom" in message


def test_wait_timeout_exits_4(lonely_queue: str) -> None:
    message = fails(
        4, "arq_enqueue", "tests.jobs.add", "1", "2", "--queue", lonely_queue, "--wait", "--timeout", "0.3"
    )
    assert "did not finish within 0.3s (it is queued)" in message


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--kwargs", "nope"], "--kwargs is not valid JSON"),
        (["--kwargs", "[1]"], "--kwargs must be a JSON object"),
        (["--alias", "nope"], "no alias 'nope'"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], text: str) -> None:
    assert text in fails(2, "arq_enqueue", "tests.jobs.add", *args)


def test_invalid_job_id_or_seconds_are_usage_errors() -> None:
    with pytest.raises(CommandError, match="not a valid job id"):
        run("arq_job", "bad id")
    with pytest.raises(CommandError, match="not a valid job id"):
        run("arq_enqueue", "tests.jobs.add", "--job-id", "a/b")
    with pytest.raises(CommandError, match="seconds"):
        run("arq_result", "abc", "--wait", "--timeout", "-1")


def test_job_shows_metadata_then_result_fields(arq_workers: Any) -> None:
    job_id = run("arq_enqueue", "tests.jobs.add", "2", "3")[-1]
    finished(job_id)
    lines = run("arq_job", job_id)
    fields = dict(line.split(":", 1) for line in lines)
    assert fields["id"].strip() == job_id
    assert fields["status"].strip() == "complete"
    assert fields["args"].strip() == "[2, 3]"
    assert fields["result"].strip() == "5"
    data = json.loads(run("arq_job", job_id, "--json")[-1])
    assert (data["id"], data["success"], data["queue_name"]) == (job_id, True, settings.TEST_QUEUE)


def test_job_gone_from_redis_is_read_from_its_record() -> None:
    job_id = f"cmd-recorded-{uuid.uuid4().hex}"
    finished_record(job_id, result=3).save()
    data = json.loads(run("arq_job", job_id, "--json")[-1])
    assert (data["source"], data["result"]) == ("record", 3)
    assert run("arq_result", job_id) == ["3"]


def test_unknown_job_exits_3(redis_url: str) -> None:
    job_id = f"unknown-{uuid.uuid4().hex}"
    for command in ("arq_job", "arq_result", "arq_abort"):
        assert "not found" in fails(3, command, job_id)


def test_result_of_unfinished_job_exits_4(lonely_queue: str) -> None:
    job_id = run("arq_enqueue", "tests.jobs.add", "1", "2", "--queue", lonely_queue)[-1]
    assert "it has no result yet (use --wait)" in fails(4, "arq_result", job_id, "--queue", lonely_queue)
    assert "did not finish within 0.2s" in fails(
        4, "arq_result", job_id, "--queue", lonely_queue, "--wait", "--timeout", "0.2"
    )


def test_result_waits_and_prints_json(arq_workers: Any) -> None:
    job_id = run("arq_enqueue", "tests.jobs.sleep_for", "0.3")[-1]
    assert run("arq_result", job_id, "--wait", "--timeout", "20")[-1] == '"slept"'
    data = json.loads(run("arq_result", job_id, "--json")[-1])
    assert (data["id"], data["result"], data["success"]) == (job_id, "slept", True)


def test_result_of_failed_job_exits_1(arq_workers: Any) -> None:
    job_id = run("arq_enqueue", "tests.jobs.fail", "broken")[-1]
    message = fails(1, "arq_result", job_id, "--wait", "--timeout", "20")
    assert message == f"job '{job_id}' failed: builtins.ValueError: broken"


def test_abort_running_job(arq_workers: Any) -> None:
    job_id = run("arq_enqueue", "tests.jobs.sleep_for", "30")[-1]
    queue = get_queue()
    wait_for(lambda: queue.get_job_metadata_sync(job_id).status.value == "in_progress", timeout=10)
    assert run("arq_abort", job_id, "--timeout", "10") == [f"aborted job {job_id}"]
    assert "was aborted" in fails(1, "arq_result", job_id)
    assert JobRecord.objects.get(job_id=job_id).abort_requested_at is not None


def test_abort_finished_job_exits_1(arq_workers: Any) -> None:
    job_id = run("arq_enqueue", "tests.jobs.add", "1", "1")[-1]
    finished(job_id)
    assert "is complete; there is nothing to abort" in fails(1, "arq_abort", job_id)


def test_abort_without_a_worker_exits_4(lonely_queue: str) -> None:
    job_id = run("arq_enqueue", "tests.jobs.add", "1", "1", "--queue", lonely_queue)[-1]
    message = fails(4, "arq_abort", job_id, "--queue", lonely_queue, "--timeout", "0.3")
    assert "no worker confirmed the abort" in message
