"""``manage.py arq_prune``: delete old JobRecords in batches."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from django_arq.models import JobRecord
from django_arq.queues.jobs import JobStatus

from ..cli import ArqCommand, days, positive_int

STATUSES = [s.value for s in JobStatus]


class Command(ArqCommand):
    help = (
        "Delete JobRecords older than --older-than days: finished jobs by their finish time, others by "
        "their enqueue time. Only complete jobs unless --status says otherwise. Deletes in batches."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than", type=days, required=True, metavar="DAYS", help="age in days (> 0)"
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=[*STATUSES, "all"],
            help="status to prune; repeat for several (default: complete)",
        )
        parser.add_argument("--alias", help="only records of this ARQ_QUEUES alias")
        parser.add_argument(
            "--batch-size", type=positive_int, default=1000, help="rows per DELETE (default: %(default)s)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        age, batch_size = options["older_than"], options["batch_size"]
        cutoff = timezone.now() - timedelta(days=age)
        old = Q(finish_time__lt=cutoff) | Q(finish_time__isnull=True, enqueue_time__lt=cutoff)
        records = JobRecord.objects.filter(old)
        statuses = options["status"] or [JobStatus.complete.value]
        if "all" not in statuses:
            records = records.filter(status__in=statuses)
        if options["alias"]:
            records = records.filter(alias=options["alias"])
        what = f"older than {age:g} day(s), status {' or '.join(statuses)}"
        if options["dry_run"]:
            self.stdout.write(f"would delete {records.count()} job record(s) {what}")
            return
        deleted = 0
        while True:
            ids = list(records.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += JobRecord.objects.filter(pk__in=ids).delete()[1].get(JobRecord._meta.label, 0)
            if options["verbosity"] > 1:
                self.stdout.write(f"  deleted {deleted} so far")
        self.stdout.write(f"deleted {deleted} job record(s) {what}")
