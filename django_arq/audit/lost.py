"""The records of jobs re-queued because their worker was lost (``queues.heartbeats``).

Each record gets an entry in ``try_errors`` for the lost try, and, unless a worker already started
the job again, the status "queued" with the error "worker <id> lost, re-queued as try N". The
entries are merged as the worker's own updates merge them (``tries.merged_try_errors``): one per
try, in try order, entries edited by hand into another shape left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from arq.jobs import JobStatus
from django.db import transaction

from ..queues.heartbeats import LostJob
from .rows import storable_id
from .tries import merged_try_errors, try_error

__all__ = ["lost_error", "record_lost_jobs"]

IN_PROGRESS = JobStatus.in_progress.value


def lost_error(job: LostJob) -> str:
    """What a lost job's record says of it."""
    return f"worker {job.worker_id} lost, re-queued as try {job.tries + 1}"


def record_lost_jobs(using: str, alias: str, jobs: Sequence[LostJob], now: datetime) -> None:
    """Write the lost tries of ``jobs`` into their records, in one transaction."""
    from ..models import JobRecord

    by_id = {storable_id(job.job_id): job for job in jobs}
    with transaction.atomic(using=using):
        records = JobRecord.objects.using(using).select_for_update().filter(alias=alias, job_id__in=by_id)
        for record in records:
            job = by_id[record.job_id]
            entry = try_error(job.tries, f"worker {job.worker_id} lost", now, lost=True)
            record.try_errors = merged_try_errors(record.try_errors, [entry])
            fields = ["try_errors", "updated_at"]
            if record.status == IN_PROGRESS and record.worker_id in ("", job.worker_id):
                record.status = JobStatus.queued.value
                record.error = lost_error(job)
                fields += ["status", "error"]
            record.save(update_fields=fields)
