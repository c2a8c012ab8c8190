"""The commands as a shell runs them: exit status, one-line errors on stderr, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from django_arq.models import JobRecord
from tests.api.conftest import live_env
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "django", *args]
    return subprocess.run(command, cwd=ROOT, env=live_env(**env), capture_output=True, text=True, timeout=60)


def assert_one_line_error(done: subprocess.CompletedProcess[str], returncode: int, text: str) -> None:
    assert done.returncode == returncode, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert text in lines[0]


def test_enqueue_wait_succeeds(arq_workers: Any) -> None:
    done = manage("arq_enqueue", "tests.jobs.add", "20", "22", "--wait", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "42"
    assert lines[-2] == "status: complete"
    assert JobRecord.objects.filter(job_id=lines[0], name="tests.jobs.add").exists()
    assert manage("arq_result", lines[0]).stdout.strip() == "42"


def test_failed_job(arq_workers: Any) -> None:
    done = manage("arq_enqueue", "tests.jobs.fail", "no luck", "--wait", "--timeout", "30")
    assert_one_line_error(done, 1, "failed: builtins.ValueError: no luck")


def test_unknown_job(redis_url: str) -> None:
    for command in ("arq_job", "arq_result", "arq_abort"):
        assert_one_line_error(manage(command, "no-such-job"), 3, "'no-such-job' not found")


def test_timeout(lonely_queue: str) -> None:
    job_id = manage("arq_enqueue", "tests.jobs.add", "1", "2", "--queue", lonely_queue).stdout.strip()
    done = manage("arq_result", job_id, "--queue", lonely_queue, "--wait", "--timeout", "0.3")
    assert_one_line_error(done, 4, "did not finish within 0.3s")


def test_redis_down() -> None:
    down = f"redis://127.0.0.1:{free_port()}/11"
    assert_one_line_error(
        manage("arq_enqueue", "tests.jobs.add", "1", "2", DJANGO_ARQ_TEST_REDIS=down), 5, down
    )
    assert_one_line_error(manage("arq_job", "some-job", DJANGO_ARQ_TEST_REDIS=down), 5, "unavailable")
    assert not JobRecord.objects.exists()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (
            "arq_enqueue",
            ["TASK", "JSON literal", "--kwargs", "--defer-by", "--wait", "--timeout", "--json", "--job-id"],
        ),
        ("arq_job", ["metadata", "JobRecord", "--alias", "--queue", "--json"]),
        ("arq_result", ["--wait", "--timeout", "Exit 1", "--json"]),
        ("arq_abort", ["--timeout", "ABORT_TIMEOUT", "no worker confirmed"]),
    ],
)
def test_help(command: str, words: list[str]) -> None:
    done = manage(command, "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for word in words:
        assert word in text, word


def manage_bytes(*args: str | bytes, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage`` with arguments given as the OS gives them: bytes that need not be UTF-8."""
    command: list[str | bytes] = [sys.executable, "-m", "django", *args]
    return subprocess.run(command, cwd=ROOT, env=live_env(**env), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args",
    [
        ("arq_job", "abc", "--queue", b"q\xff"),
        ("arq_result", "abc", "--queue", b"\xff"),
        ("arq_abort", "abc", "--queue", b"\xfe\xff"),
        ("arq_prune", "--older-than", "30", "--alias", b"\xff"),
        ("arq_worker", "--burst", "--queue", b"\xff"),
        ("arq_schedules", "--alias", b"\xff"),
    ],
)
def test_arguments_that_are_not_utf8_are_a_one_line_usage_error(args: tuple[str | bytes, ...]) -> None:
    """Python keeps such bytes as lone surrogates: Redis, the database and the terminal refuse them
    (a traceback before; a burst worker started, then died)."""
    assert_one_line_error(manage_bytes(*args), 2, "holds bytes that are not UTF-8")


def test_a_count_past_what_redis_and_sql_take_is_a_usage_error() -> None:
    for command in (("arq_prune", "--older-than", "30"), ("arq_reconcile",)):
        done = manage(*command, "--batch-size", "1" + "0" * 400)
        assert_one_line_error(done, 2, "must be from 1 to 2147483647")
    assert_one_line_error(manage("arq_worker", "--max-jobs", "10" * 15), 2, "must be from 1 to 2147483647")
    for option in ("--poll-delay", "--job-timeout"):  # 0: a poll without a pause, or every job failing
        assert_one_line_error(manage("arq_worker", option, "0"), 2, "must be a number of seconds > 0")


@pytest.mark.parametrize("queue", ["arq:abort", "arq:job:x", "django-arq:workers:q"])
def test_a_worker_refuses_a_queue_that_names_arqs_or_django_arqs_own_keys(queue: str) -> None:
    """A worker on ``arq:abort`` once read the pending abort requests as its queue."""
    done = manage("arq_worker", "--burst", "--queue", queue)
    assert_one_line_error(done, 1, f"queue name {queue!r} names one of")
