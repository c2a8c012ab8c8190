"""A job's last progress report as the admin shows it: a bar with its text, read from the JobRecord.

The job list puts a small bar under the status of a running job, a job's page shows the report
in full, and the dashboard lists each queue's running jobs with theirs. Every one of them reads
``JobRecord.progress`` (the worker's recorder keeps it current): no Redis call per job.
"""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import JobRecord
from ..queues.jobs import JobProgress, JobStatus
from ..queues.progress import progress_from_json

__all__ = ["progress_bar", "record_progress", "running_progress"]


def record_progress(record: JobRecord) -> JobProgress | None:
    """The record's last progress report; None if the job reported none (or the field is unreadable)."""
    return progress_from_json(record.progress)


def progress_bar(progress: JobProgress, *, css: str = "arq-progress") -> SafeString:
    """A ``<progress>`` element (indeterminate without a total) followed by the report as text.

    The text is the bar's accessible name too, so a screen reader reads "40/100 (40%) rows ...".
    """
    summary = progress.summary()
    if progress.fraction is None:
        bar = format_html('<progress aria-label="{}"></progress>', summary)
    else:
        value = f"{min(max(progress.fraction, 0.0), 1.0):.4f}"
        bar = format_html('<progress max="1" value="{}" aria-label="{}"></progress>', value, summary)
    return format_html(
        '<span class="{}" title="{}">{} <span class="arq-progress-text">{}</span></span>',
        css,
        summary,
        bar,
        summary,
    )


def running_progress(record: JobRecord) -> SafeString | str:
    """The bar of a running job that reported progress; empty for any other job."""
    if record.status != JobStatus.in_progress.value:
        return ""
    progress = record_progress(record)
    return progress_bar(progress) if progress is not None else ""
