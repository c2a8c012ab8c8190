"""Every job command's bad arguments: one line, the exit status of README's table, no traceback.

Plus ``arq_enqueue`` with any arguments (Hypothesis), the live status with a job that really
changes status twice, and ``arq_reconcile`` going on past a job it cannot read.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import uuid
from typing import Any

import pytest
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_arq import get_queue
from django_arq.management.commands.arq_enqueue import literal
from django_arq.models import JobRecord
from tests.api.conftest import live_env
from tests.core.strategies import any_text, json_values
from tests.helpers import ROOT, free_port, wait_for

pytestmark = pytest.mark.django_db

USAGE, FAILED, UNAVAILABLE = 2, 1, 5
NO_JOB = "no-such-job"

#: (command, arguments, exit status): every command this app ships but arq_worker.
BAD_ARGUMENTS = [
    ("arq_enqueue", [], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "1e306"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "1e300"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "nan"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "inf"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "-1"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "soon"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--queue", "arq:abort"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--queue", "arq:result:x"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--queue", "q:health-check"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--job-id", "abc\n"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--job-id", ".."], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--wait", "--timeout", "nan"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--kwargs", "nope"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--kwargs", "[1]"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--alias", "nope"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--bogus"], USAGE),
    ("arq_job", [], USAGE),
    ("arq_job", ["bad id"], USAGE),
    ("arq_job", ["."], USAGE),
    ("arq_job", ["abc\n"], USAGE),
    ("arq_job", [NO_JOB, "--alias", "nope"], USAGE),
    ("arq_result", [NO_JOB, "--wait", "--timeout", "nan"], USAGE),
    ("arq_result", [NO_JOB, "--wait", "--timeout", "inf"], USAGE),
    ("arq_result", [NO_JOB, "--wait", "--timeout", "-1"], USAGE),
    ("arq_result", [NO_JOB, "--wait", "--timeout", "1e306"], USAGE),
    ("arq_result", ["..", "--wait"], USAGE),
    ("arq_result", [NO_JOB, "--alias", "nope"], USAGE),
    ("arq_abort", [NO_JOB, "--timeout", "nan"], USAGE),
    ("arq_abort", [NO_JOB, "--timeout", "inf"], USAGE),
    ("arq_abort", [NO_JOB, "--timeout", "-0.5"], USAGE),
    ("arq_abort", ["a/b"], USAGE),
    ("arq_abort", [NO_JOB, "--alias", "nope"], USAGE),
    ("arq_prune", [], USAGE),
    ("arq_prune", ["--older-than", "nan"], USAGE),
    ("arq_prune", ["--older-than", "inf"], USAGE),
    ("arq_prune", ["--older-than", "1e6"], USAGE),
    ("arq_prune", ["--older-than", "0"], USAGE),
    ("arq_prune", ["--older-than", "-3"], USAGE),
    ("arq_prune", ["--older-than", "old"], USAGE),
    ("arq_prune", ["--older-than", "30", "--batch-size", "0"], USAGE),
    ("arq_prune", ["--older-than", "30", "--status", "bogus"], USAGE),
    ("arq_reconcile", ["--batch-size", "0"], USAGE),
    ("arq_reconcile", ["--batch-size", "-5"], USAGE),
    ("arq_reconcile", ["--batch-size", "many"], USAGE),
    ("arq_reconcile", ["--alias", "nope"], USAGE),
]


def run(*args: str, stdout: io.StringIO | None = None, stderr: io.StringIO | None = None) -> list[str]:
    out = stdout or io.StringIO()
    call_command(*args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue().splitlines()


@pytest.mark.parametrize(("command", "args", "code"), BAD_ARGUMENTS, ids=lambda v: repr(v))
def test_bad_arguments_are_one_line_errors_with_the_documented_status(
    command: str, args: list[str], code: int
) -> None:
    with pytest.raises(CommandError) as info:
        run(command, *args)
    assert info.value.returncode == code, str(info.value)
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message
    assert not JobRecord.objects.exists()


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "django", *args]
    return subprocess.run(command, cwd=ROOT, env=live_env(**env), capture_output=True, text=True, timeout=120)


SHELL_CASES = [
    ("arq_enqueue", ["tests.jobs.add", "--defer-by", "1e306"], USAGE),
    ("arq_enqueue", ["tests.jobs.add", "--queue", "arq:abort"], USAGE),
    ("arq_result", [NO_JOB, "--wait", "--timeout", "nan"], USAGE),
    ("arq_abort", [NO_JOB, "--timeout", "inf"], USAGE),
    ("arq_prune", ["--older-than", "1e6"], USAGE),
    ("arq_prune", ["--older-than", "0"], USAGE),
    ("arq_reconcile", ["--batch-size", "0"], USAGE),
    ("arq_reconcile", ["--alias", "nope"], USAGE),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("command", "args", "code"), SHELL_CASES, ids=lambda v: repr(v))
def test_bad_arguments_from_a_shell(command: str, args: list[str], code: int) -> None:
    """As a shell runs them: the usage line is not printed, only the error, on one line."""
    done = manage(command, *args)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0].lower(), done.stderr


@pytest.mark.django_db(transaction=True)
def test_reconcile_with_redis_down_exits_5() -> None:
    down = f"redis://127.0.0.1:{free_port()}/4"
    JobRecord.objects.create(
        job_id="down-1", name="tests.jobs.add", enqueue_time=timezone.now(), status="queued", queue_name="q"
    )
    done = manage("arq_reconcile", DJANGO_ARQ_TEST_REDIS=down)
    assert done.returncode == UNAVAILABLE, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert down in done.stderr


def test_reconcile_reports_a_job_it_cannot_read_and_goes_on(redis_client: Any, lonely_queue: str) -> None:
    bad, gone = f"unreadable-{uuid.uuid4().hex}", f"gone-{uuid.uuid4().hex}"
    redis_client.psetex(f"arq:job:{bad}", 60_000, b"\x80 not a payload")
    redis_client.zadd(lonely_queue, {bad: 1})
    for job_id in (bad, gone):
        JobRecord.objects.create(
            job_id=job_id, name="tests.jobs.add", enqueue_time=timezone.now(), status="queued",
            queue_name=lonely_queue,
        )  # fmt: skip
    err = io.StringIO()
    with pytest.raises(CommandError) as info:
        run("arq_reconcile", stderr=err)
    assert info.value.returncode == FAILED and "1 job(s) could not be read" in str(info.value)
    (line,) = err.getvalue().splitlines()
    assert bad in line and "cannot be read" in line
    assert JobRecord.objects.get(job_id=bad).status == "queued"
    assert JobRecord.objects.get(job_id=gone).status == "not_found"  # the records after it: done


@pytest.mark.django_db(transaction=True)
def test_wait_prints_one_line_per_status_change(redis_client: Any, lonely_queue: str) -> None:
    """The job goes queued -> in progress -> complete while the command watches it."""
    out, errors = io.StringIO(), []

    def enqueue_and_wait() -> None:
        try:
            command = ["arq_enqueue", "tests.jobs.add", "1", "2", "--queue", lonely_queue]
            run(*command, "--wait", "--timeout", "60", stdout=out)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=enqueue_and_wait)
    thread.start()
    wait_for(lambda: "status: queued" in out.getvalue(), timeout=30)
    job_id = out.getvalue().splitlines()[0]
    redis_client.psetex(f"arq:in-progress:{job_id}", 60_000, b"1")  # a worker picked it up
    wait_for(lambda: "status: in_progress" in out.getvalue(), timeout=30)
    now = timestamp_ms()
    result = serialize_result(
        "tests.jobs.add", (1, 2), {}, 1, now, True, 3, now, now, "r", lonely_queue, job_id
    )
    with redis_client.pipeline() as pipe:  # ... and finished it
        pipe.set(f"arq:result:{job_id}", result).zrem(lonely_queue, job_id).delete(
            f"arq:in-progress:{job_id}"
        )
        pipe.execute()
    thread.join(60)
    assert errors == []
    assert out.getvalue().splitlines() == [
        job_id,
        "status: queued",
        "status: in_progress",
        "status: complete",
        "3",
    ]
    redis_client.delete(f"arq:result:{job_id}")


def test_lone_surrogates_and_nul_in_job_data_are_printed_without_error(lonely_queue: str) -> None:
    """JSON output escapes them; the text output of ``arq_job`` replaces them."""
    name = "tests.jobs.echo\ud800"
    meta = get_queue().enqueue_sync(name, "a\ud800b", "nul\x00", _queue_name=lonely_queue, k="\udcff")
    for args in ([], ["--json"]):
        out = run("arq_job", meta.id, "--queue", lonely_queue, *args)
        text = "\n".join(out)
        text.encode("utf-8")  # writable to any UTF-8 stream
        if args:
            data = json.loads(text)
            assert data["args"] == ["a\ud800b", "nul\x00"] and data["kwargs"] == {"k": "\udcff"}
            assert data["name"] == name
        else:
            assert '"a\\ud800b"' in text  # args are JSON in the text output too
            assert "tests.jobs.echo\ufffd" in text  # plain text: replaced
    JobRecord.objects.filter(job_id=meta.id).delete()


@pytest.mark.django_db(transaction=True)
def test_lone_surrogates_in_a_shells_output(lonely_queue: str) -> None:
    job_id = get_queue().enqueue_sync("tests.jobs.echo", "\ud800", _queue_name=lonely_queue).id
    for args in ([], ["--json"]):
        done = manage("arq_job", job_id, "--queue", lonely_queue, *args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert "\\ud800" in done.stdout


NO_AUDIT = {
    **settings.ARQ_QUEUES,
    "default": {**settings.ARQ_QUEUES["default"], "AUDIT": False},
}
PROPERTY = hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def json_text(value: Any) -> str:
    try:
        return json.dumps(value)
    except ValueError:  # an int beyond Python's digit limit
        return "1e999"


#: What a shell can pass: any text (lone surrogates stand for undecodable bytes), or JSON text.
cli_text = st.one_of(any_text.filter(lambda t: "\x00" not in t), json_values.map(json_text))


@override_settings(ARQ_QUEUES=NO_AUDIT)  # records are the audit layer's tests' concern
@PROPERTY
@given(
    args=st.lists(cli_text.filter(lambda t: not t.startswith("-")), max_size=4),  # else an option
    kwargs=st.one_of(st.dictionaries(any_text, json_values, max_size=3).map(json_text), cli_text),
    queue=st.one_of(st.none(), cli_text),
    job_id=st.one_of(st.none(), cli_text, st.uuids().map(lambda u: u.hex)),
    defer_by=st.one_of(st.none(), cli_text, st.floats().map(repr)),
)
def test_arq_enqueue_enqueues_what_it_was_given_or_refuses_clearly(
    lonely_queue: str,
    args: list[str],
    kwargs: str,
    queue: str | None,
    job_id: str | None,
    defer_by: str | None,
) -> None:
    options = ["--kwargs", kwargs, "--queue", queue or lonely_queue]
    if job_id is not None:
        options += ["--job-id", f"{job_id}{uuid.uuid4().hex}" if job_id else job_id]
    if defer_by is not None:
        options += ["--defer-by", defer_by]
    try:
        (printed,) = run("arq_enqueue", "tests.jobs.echo", *args, *options)
    except CommandError as exc:
        message = str(exc)
        assert exc.returncode in (USAGE, FAILED) and message and "\n" not in message, message
        event(f"refused: exit {exc.returncode}")
        return
    event("enqueued")
    meta = get_queue().get_job_metadata_sync(printed, queue or lonely_queue)
    assert repr(meta.args) == repr(tuple(literal(a)[0] for a in args))  # repr: NaN equals NaN
    assert repr(meta.kwargs) == repr(json.loads(kwargs))
    assert meta.name == "tests.jobs.echo"


WORKER_BAD_ARGUMENTS = [
    ["--max-memory", "-1"],
    ["--max-memory", "0"],
    ["--max-jobs-per-process", "0"],
    ["--max-jobs", "0"],  # arq's semaphore of 0: a worker that never runs a job
    ["--max-tries", "-2"],
    ["--max-burst-jobs", "0"],
    ["--poll-delay", "nan"],
    ["--poll-delay", "-1"],
    ["--job-timeout", "inf"],
]


@pytest.mark.parametrize("args", WORKER_BAD_ARGUMENTS, ids=" ".join)
def test_arq_worker_refuses_bad_numbers_before_it_starts(args: list[str]) -> None:
    """Refused by the parser, in one line naming the option (``--check``: never a worker left running)."""
    with pytest.raises(CommandError) as info:
        call_command("arq_worker", *args, "--check")
    message = str(info.value)
    assert f"argument {args[0]}" in message and "\n" not in message, message
