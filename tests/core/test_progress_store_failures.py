"""queues/reporting.py: what is logged when a report cannot be stored, or its mirror fails."""

from __future__ import annotations

import logging

import pytest

from django_arq import report_progress
from django_arq.queues.jobs import JobProgress
from tests.core.test_progress_reports import Recorded, job_ctx


async def test_a_report_that_cannot_be_stored_logs_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "django_arq.progress"):
        await report_progress(job_ctx(Recorded(fail=True)), 1)
    assert caplog.messages == ["job j: could not store its progress report (Redis is down)"]


class BadMirror(Recorded):
    def mirror(self, job_id: str, progress: JobProgress) -> None:
        super().mirror(job_id, progress)
        raise RuntimeError(f"the mirror of {job_id} broke")


async def test_a_mirror_that_fails_is_logged_with_its_traceback_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reports = BadMirror()
    with caplog.at_level(logging.WARNING, "django_arq.progress"):
        await report_progress(job_ctx(reports), 1)
    assert reports.done() == [1] and reports.mirrored == [1]
    assert caplog.messages == ["job j: could not mirror its progress report"]
    (record,) = caplog.records
    assert record.exc_info is not None and str(record.exc_info[1]) == "the mirror of j broke"
