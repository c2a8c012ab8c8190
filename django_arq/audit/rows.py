"""JobRecord rows of freshly enqueued jobs, and the database they are written to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import router

from ..queues.jobs import JobMetadata
from .payloads import json_text

__all__ = ["record_rows", "records_db"]


def record_rows(alias: str, jobs: Sequence[JobMetadata]) -> list[dict[str, Any]]:
    """The JobRecord fields of freshly enqueued jobs, as ``upsert_records`` takes them."""
    return [
        {
            "job_id": m.id,
            "name": m.name,
            "args": json_text(m.args),
            "kwargs": json_text(dict(m.kwargs)),
            "enqueue_time": m.enqueue_time,
            "status": m.status.value,
            "queue_name": m.queue_name,
            "alias": alias,
        }
        for m in jobs
    ]


def records_db() -> str:
    """The database JobRecords are written to (``DATABASE_ROUTERS`` decide)."""
    from ..models import JobRecord

    return router.db_for_write(JobRecord)
