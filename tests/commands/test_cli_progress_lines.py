"""The commands' progress output, in process (``management/cli.py``): the bar, the live line on a
terminal cut to its width, the plain lines elsewhere, and ``arq_job``'s tries."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.utils import timezone

from django_arq.audit.lookup import FoundJob
from django_arq.management.cli import BAR_WIDTH, StatusLine, one_line, progress_bar
from django_arq.queues.jobs import JobMetadata, JobProgress, JobResult, JobStatus
from django_arq.queues.progress import make_progress
from tests.api.conftest import finished_record

WHEN = datetime(2026, 12, 1, 10, tzinfo=UTC)
JOB = "job-1"
HEAD = f"job {JOB}: in progress"


class Terminal(io.StringIO):
    """Output that says it is a terminal, as a shell's stdout is."""

    def isatty(self) -> bool:
        return True


def report(done: float = 40, total: float | None = 100, message: str | None = "rows") -> JobProgress:
    return make_progress(done, total, message, time=WHEN)


def found(status: str, progress: JobProgress | None) -> FoundJob:
    """A job as a lookup finds it in Redis, finished once its status is ``complete``."""
    fields = dict(
        id=JOB,
        name="tests.jobs.add",
        args=(1, 2),
        kwargs={},
        enqueue_time=WHEN,
        status=JobStatus(status),
        queue_name="arq:queue",
        progress=progress,
    )
    if status != "complete":
        return FoundJob(JobMetadata(**fields), "redis")  # type: ignore[arg-type]
    return FoundJob(JobResult(**fields, start_time=WHEN, finish_time=WHEN, success=True, result=3), "redis")  # type: ignore[arg-type]


def drawn(columns: int, job: FoundJob, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """The live line drawn for ``job`` on a terminal ``columns`` wide: its head, bar and time."""
    monkeypatch.setenv("COLUMNS", str(columns))  # shutil.get_terminal_size reads it first
    out = Terminal()
    StatusLine(OutputWrapper(out), JOB)(job)
    text = out.getvalue()
    match = re.fullmatch(r"\r\x1b\[K(job job-1: (?:queued|in progress|complete))(.*)( \(\d+\.\ds\))", text)
    assert match, text
    head, bar, tail = match.groups()
    return head, bar, tail


def test_one_line_makes_control_characters_spaces_and_replaces_lone_surrogates() -> None:
    assert one_line("a\x00b\x1fc\x7fd\x9fe\ud800f\xa0g\r\n") == "a b c d e\ufffdf\xa0g  "
    # marks that reorder text shown right to left (a name that reads as another); other Unicode stays
    assert one_line("job\u202egnp.exe\u2066x\u2069\u200f\u061c é") == "job gnp.exe x    é"


def test_the_bar_is_clamped_to_its_width_and_its_message_kept_on_one_line() -> None:
    assert progress_bar(report()) == f"[{'#' * 8}{'-' * 12}] 40/100 (40%) rows"
    over = JobProgress(done=150, total=100, fraction=1.5, message=None, time=WHEN)  # a record edited by hand
    under = JobProgress(done=-5, total=100, fraction=-0.05, message=None, time=WHEN)
    assert progress_bar(over) == f"[{'#' * BAR_WIDTH}] 150/100 (100%)"
    assert progress_bar(under) == f"[{'-' * BAR_WIDTH}] -5/100 (0%)"
    assert progress_bar(report(message="a\x1b[2Jb")) == f"[{'#' * 8}{'-' * 12}] 40/100 (40%) a [2Jb"


def test_a_running_job_s_line_shows_its_bar_between_status_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    head, bar, tail = drawn(200, found("in_progress", report()), monkeypatch)
    assert (head, bar) == (HEAD, f" [{'#' * 8}{'-' * 12}] 40/100 (40%) rows")
    assert float(tail.strip(" ()s")) >= 0


def test_no_bar_without_a_report_nor_once_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    assert drawn(200, found("in_progress", None), monkeypatch)[:2] == (HEAD, "")
    assert drawn(200, found("complete", report()), monkeypatch)[:2] == (f"job {JOB}: complete", "")


@pytest.mark.parametrize("spare", [0, -1, -2, -39, -40, -41, -60])
def test_the_bar_is_cut_to_the_terminal_s_width_never_the_time(
    spare: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``spare``: the terminal's width minus what the whole line takes (one column kept free)."""
    whole = f" [{'#' * 8}{'-' * 12}] 40/100 (40%) rows"
    assert len(whole) == 41
    time_width = len(" (0.0s)")
    columns = 1 + len(HEAD) + len(whole) + time_width + spare
    head, bar, tail = drawn(columns, found("in_progress", report()), monkeypatch)
    room = columns - 1 - len(head) - len(tail)  # what the bar may take (the time's width as drawn)
    assert head == HEAD
    if room >= len(whole):
        assert bar == whole
    elif room >= 2:
        assert bar == whole[: room - 1] + "…"
        assert len(head + bar + tail) == columns - 1  # fills the line, and never wraps
    else:  # no room for even one character and the ellipsis: the status and time only
        assert bar == ""
    if len(tail) == time_width:  # the usual case (under 10 s): each edge as meant
        expected = {
            0: whole,
            -1: whole[:39] + "…",
            -2: whole[:38] + "…",
            -39: " …",
            -40: "",
            -41: "",
            -60: "",
        }
        assert bar == expected[spare]


def test_elsewhere_a_line_per_new_status_and_per_new_report() -> None:
    out = io.StringIO()
    line = StatusLine(OutputWrapper(out), JOB)
    for status, progress in [
        ("queued", None),
        ("in_progress", report()),
        ("in_progress", report()),  # an equal report: nothing new
        ("in_progress", report(50)),
        ("complete", report(50)),
    ]:
        line(found(status, progress))
    line.close()
    assert out.getvalue().splitlines() == [
        "status: queued",
        "status: in_progress",
        "progress 40/100 (40%) rows",
        "progress 50/100 (50%) rows",
        "status: complete",
    ]


@pytest.mark.django_db
def test_arq_job_shows_a_retrying_job_s_tries() -> None:
    now = timezone.now()
    next_at = now + timedelta(minutes=5)
    errors = [{"try": 1, "error": "ConnectionError: down", "time": now.isoformat(), "lost": False}]
    record = finished_record(f"cmd-tries-{uuid.uuid4().hex}", None)  # then made a retry's wait
    record.status, record.start_time, record.finish_time, record.success = "deferred", None, None, None
    record.job_try, record.next_try_at, record.try_errors = 1, next_at, errors
    record.save()
    out = io.StringIO()
    call_command("arq_job", record.job_id, "--json", stdout=out, stderr=io.StringIO())
    data = json.loads(out.getvalue())
    assert data["try_status"].startswith("retrying, try 2 of 5, next at ")
    assert (data["next_try_at"], data["try_errors"]) == (next_at.isoformat(), errors)
    out = io.StringIO()
    call_command("arq_job", record.job_id, stdout=out, stderr=io.StringIO())
    fields = {
        key: value.strip() for key, value in (line.split(":", 1) for line in out.getvalue().splitlines())
    }
    assert fields["try_status"] == data["try_status"]
    assert (fields["next_try_at"], json.loads(fields["try_errors"])) == (next_at.isoformat(), errors)
