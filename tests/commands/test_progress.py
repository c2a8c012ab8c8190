"""Progress in the commands: ``arq_job`` prints it; ``--wait`` draws a bar redrawn in place on a
terminal (a real pty) and prints ``progress ...`` lines when stdout is not a terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_arq.management.cli import BAR_WIDTH
from tests.api.conftest import finished_record, live_env
from tests.helpers import ROOT

EXIT_TIMEOUT = 4
WHEN = "2026-12-01T10:00:00+00:00"


def running_job(message: str | None = "rows 400/1000", done: float = 40, total: float | None = 100) -> str:
    """A running job only its record knows, with a progress report."""
    job_id = f"cmd-progress-{uuid.uuid4().hex}"
    record = finished_record(job_id, None)
    record.status, record.finish_time, record.success = "in_progress", None, None
    record.progress = {"done": done, "total": total, "message": message, "time": WHEN}
    record.save()
    return job_id


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_arq_job_prints_the_progress_as_a_line_and_as_json() -> None:
    job_id = running_job()
    fields = dict(line.split(":", 1) for line in run("arq_job", job_id))
    assert fields["progress"].strip() == f"40/100 (40%) rows 400/1000 (reported at {WHEN})"
    data = json.loads(run("arq_job", job_id, "--json")[-1])
    assert data["progress"] == {
        "done": 40,
        "total": 100,
        "fraction": 0.4,
        "message": "rows 400/1000",
        "time": WHEN,
    }
    silent = f"cmd-progress-{uuid.uuid4().hex}"
    finished_record(silent, 3).save()
    assert dict(line.split(":", 1) for line in run("arq_job", silent))["progress"].strip() == "null"


@pytest.mark.django_db
def test_wait_not_on_a_terminal_prints_plain_progress_lines() -> None:
    job_id = running_job(message="step\r\n\x1b[2Jtwo", done=7, total=None)  # a message that would redraw
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("arq_result", job_id, "--wait", "--timeout", "0.3", stdout=out, stderr=io.StringIO())
    assert info.value.returncode == EXIT_TIMEOUT
    assert out.getvalue().splitlines() == ["status: in_progress", "progress 7 step   [2Jtwo"]


def run_on_a_pty(*args: str) -> tuple[int, str]:
    """``manage.py ARGS`` with its stdout on a pseudo-terminal 160 columns wide; status and output."""
    leader, follower = os.openpty()
    env = live_env(COLUMNS="160")
    process = subprocess.Popen(
        [sys.executable, "-m", "django", *args], cwd=ROOT, env=env, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    process.wait(60)
    assert process.stderr is not None
    process.stderr.close()
    return process.returncode, b"".join(chunks).decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", ["arq_result", "arq_job"])
def test_wait_on_a_terminal_draws_a_bar_on_one_line(command: str) -> None:
    long = "x" * 300  # longer than the terminal: cut, so that the line can still be redrawn
    job_id = running_job(message=f"rows 400/1000 \x1b[31m{long}")
    if command == "arq_job":  # no live line: a terminal changes nothing
        code, text = run_on_a_pty(command, job_id)
        assert code == 0 and "progress:" in text and "\r\x1b[K" not in text
        return
    code, text = run_on_a_pty(command, job_id, "--wait", "--timeout", "0.5")
    assert code == EXIT_TIMEOUT
    bar = "[" + "#" * (BAR_WIDTH * 40 // 100) + "-" * (BAR_WIDTH * 60 // 100) + "]"
    drawn = [line for line in text.split("\r\x1b[K") if line]
    start = f"job {job_id}: in progress {bar} 40/100 (40%) rows 400/1000  [31mxxx"  # ESC made a space
    assert drawn and all(line.startswith(start) for line in drawn), drawn
    assert all(re.search(r"x… \(\d+\.\ds\)(\r\n)?$", line) for line in drawn), drawn  # the time stays
    assert all(len(line.rstrip("\r\n")) == 159 for line in drawn)  # never wraps on 160 columns
    assert "\x1b[31m" not in text  # the message's escape code is not passed to the terminal
    assert text.endswith("\r\n")  # the line is ended once the wait is over


def test_the_bar_is_full_at_the_end_and_empty_at_the_start() -> None:
    from datetime import UTC, datetime

    from django_arq.management.cli import progress_bar
    from django_arq.queues.progress import make_progress

    now = datetime.now(UTC)
    assert progress_bar(make_progress(0, 3, time=now)) == f"[{'-' * BAR_WIDTH}] 0/3 (0%)"
    assert progress_bar(make_progress(3, 3, time=now)) == f"[{'#' * BAR_WIDTH}] 3/3 (100%)"
    assert progress_bar(make_progress(2.5, 1000, time=now)).endswith("] 2.5/1000 (0%)")  # never rounded up
    assert progress_bar(make_progress(12, None, "files", time=now)) == "12 files"
