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
