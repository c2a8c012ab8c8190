"""``manage.py arq_reconcile``: bring unfinished JobRecords up to date from Redis.

For when record updates were lost (a worker killed, or its database down past its last flush):
each record still queued, deferred or in progress is compared with what Redis holds. Workers may be
running meanwhile: a record is written only if it is as the command read it (its ``updated_at``),
so a worker's newer write (the job's end, recorded after Redis was read) is never set back.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import CommandError
from django.db import connections, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from django_arq.audit.rows import records_db
from django_arq.audit.state import apply_state
from django_arq.conf import queue_settings
from django_arq.handler import get_queue
from django_arq.models import JobRecord
from django_arq.queues.exceptions import ArqJobError, JobNotFound, JobResultUnavailable, RedisUnavailable
from django_arq.queues.jobs import JobMetadata, JobResult, JobStatus

from ..cli import EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_USAGE, ArqCommand, positive_int, printable

UNFINISHED = [JobStatus.queued.value, JobStatus.deferred.value, JobStatus.in_progress.value]
FIELDS = ["status", "start_time", "finish_time", "success", "result", "error", "updated_at"]


def reconcile(record: JobRecord) -> bool:
    """Update ``record`` (unsaved) from Redis; True if anything changed.

    A job Redis no longer has is marked ``not_found`` (its result expired, or it was never kept).
    """
    queue = get_queue(record.alias)
    before = [getattr(record, f) for f in FIELDS]
    state: JobMetadata | JobResult | None
    try:
        try:
            state = queue.get_job_result_sync(record.job_id, record.queue_name)
        except JobResultUnavailable:
            state = queue.get_job_metadata_sync(record.job_id, record.queue_name)
    except JobNotFound:
        state = None
    apply_state(record, state, mark_forgotten=True)
    if [getattr(record, f) for f in FIELDS] == before:
        return False
    record.updated_at = timezone.now()
    return True


def write(records: list[tuple[JobRecord, datetime]]) -> int:
    """Save ``records`` (each with the ``updated_at`` it was read with), one ``UPDATE`` per as many as
    the database takes parameters for, but only those no one wrote since they were read; how many
    were written.

    A worker records a job's end some time after Redis holds it, and the command reads the records
    (a cursor's snapshot) long before Redis: an unconditional write would set such a record back.
    """
    using = records_db()
    pk, updated_at = JobRecord._meta.pk, JobRecord._meta.get_field("updated_at")
    # Per record: its pk in the filter and the guard's CASE, its read time, then bulk_update's pk
    # and a value per field.
    params = [pk, pk, updated_at, pk, *(JobRecord._meta.get_field(f) for f in FIELDS for _ in "pv")]
    size = connections[using].ops.bulk_batch_size(params, records)
    written = 0
    with transaction.atomic(using=using):
        for i in range(0, len(records), size):
            batch = records[i : i + size]
            # One CASE, not a chain of ORs: SQLite refuses an expression nested a thousand deep.
            read = Case(*(When(pk=record.pk, then=Value(at, updated_at)) for record, at in batch))
            unchanged = JobRecord.objects.using(using).filter(
                pk__in=[r.pk for r, _ in batch], updated_at=read
            )
            written += unchanged.bulk_update([r for r, _ in batch], FIELDS)
    return written


class Command(ArqCommand):
    help = (
        "Update JobRecords that are still queued, deferred or in progress from what Redis holds about them. "
        "A job that cannot be read is reported on stderr and skipped (exit 1 at the end); so are the "
        "records of an alias whose Redis is unavailable (exit 5 at the end); exit 2 for bad arguments."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--alias", action="append", help="only this alias (repeatable; default: every alias on Redis)"
        )
        parser.add_argument(
            "--batch-size", type=positive_int, default=500, help="records per UPDATE (default: %(default)s)"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        # By default every alias on Redis: an in-memory mock holds nothing another process could read.
        aliases = options["alias"] or [a for a in queue_settings() if get_queue(a).redis_settings is not None]
        unknown = set(aliases) - set(queue_settings())
        if unknown:
            raise CommandError(f"unknown alias(es): {', '.join(sorted(unknown))}", returncode=EXIT_USAGE)
        records = JobRecord.objects.filter(alias__in=aliases, status__in=UNFINISHED).order_by("pk")
        checked, updated, unreadable = 0, 0, 0
        changed: list[tuple[JobRecord, datetime]] = []  # with the updated_at each was read with
        dry_run = options["dry_run"]
        down: dict[str, str] = {}  # alias -> why: its records are skipped, the others' still checked
        try:
            for record in records.iterator(chunk_size=options["batch_size"]):
                if record.alias in down:
                    continue
                read = record.updated_at
                try:
                    if reconcile(record):
                        if dry_run:
                            updated += 1
                        else:
                            changed.append((record, read))
                except RedisUnavailable as exc:
                    down[record.alias] = str(exc)
                    continue
                except ArqJobError as exc:  # e.g. a payload the serializer cannot read: report, go on
                    unreadable += 1
                    self.stderr.write(printable(f"job {record.job_id} (alias {record.alias}): {exc}"))
                checked += 1
                if len(changed) >= options["batch_size"] and not dry_run:
                    updated += write(changed)
                    changed = []
        finally:
            if changed and not dry_run:
                updated += write(changed)
        verb = "would update" if dry_run else "updated"
        self.stdout.write(f"checked {checked} unfinished job record(s), {verb} {updated}")
        if down:
            causes = "; ".join(f"alias {alias!r} ({why})" for alias, why in sorted(down.items()))
            which = "its" if len(down) == 1 else "their"
            message = f"Redis unavailable for {causes}: {which} records were not checked"
            raise CommandError(printable(message), returncode=EXIT_UNAVAILABLE)
        if unreadable:
            raise CommandError(f"{unreadable} job(s) could not be read, see above", returncode=EXIT_FAILED)
