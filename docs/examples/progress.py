"""docs/progress.md: jobs that say how far they are, and code that reads it.

Tested by ``tests/docs/test_progress_example.py``: the jobs run on ``MockArqQueue``, and a
real ``manage.py arq_worker`` runs ``import_rows`` while an HTTP client follows it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from django_arq import get_queue, report_progress, report_progress_sync


# An async job: one call per row is fine; reports closer together than PROGRESS_INTERVAL
# are coalesced, and the last one is always stored.
async def import_rows(ctx: dict[str, Any], rows: list[dict[str, Any]]) -> int:
    for number, row in enumerate(rows, 1):
        ...  # the real work: save the row
        await report_progress(ctx, number, total=len(rows), message=f"row {number}: {row.get('name', '')}")
    return len(rows)


# A sync job (the worker runs it in a thread): the sync twin. Without a total, a count.
def resize_images(ctx: dict[str, Any], paths: list[str]) -> int:
    for done, path in enumerate(paths, 1):
        ...  # the real work: resize the image at path
        report_progress_sync(ctx, done, message=path)
    return len(paths)


# Anywhere in the project: the last report, with the job's metadata (None before the first).
def how_far(job_id: str, queue_name: str | None = None) -> str:
    progress = get_queue().get_job_metadata_sync(job_id, queue_name).progress
    return "no progress reported yet" if progress is None else progress.summary()  # "40/100 (40%) ..."


# Another service, through the HTTP API: long-poll for each new report until the job ends.
def follow(api: httpx.Client, job_id: str, queue: str, *, timeout: float = 60) -> list[str]:
    seen: list[str] = []
    last = ""  # the progress.time of the last report seen; empty: none yet
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        params = {"queue": queue, "wait": 10, "progress": last}
        job = api.get(f"/arq/jobs/{job_id}/", params=params).raise_for_status().json()
        if job["progress"] is not None and job["progress"]["time"] != last:
            last = job["progress"]["time"]
            seen.append(f"{job['progress']['done']}/{job['progress']['total']} {job['progress']['message']}")
        if "finish_time" in job:  # finished: success, result and the last report are in
            break
    return seen
