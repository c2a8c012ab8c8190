"""``manage.py arq_abort JOB_ID``: abort a queued, deferred or running job."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import CommandError

from ...audit.lookup import find_job
from ...handler import get_queue
from ..cli import EXIT_FAILED, EXIT_TIMEOUT, JobCommand, job_id, seconds


class Command(JobCommand):
    help = (
        "Abort a queued, deferred or running job and wait for a worker to confirm. Exit 0 once aborted, "
        "1 if the job had already finished, 3 if it is unknown, 4 if no worker confirmed within "
        "--timeout (the request stays: a worker aborts the job when it next sees it)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("job_id", type=job_id, help="the job's id")
        self.add_location_arguments(parser)
        parser.add_argument(
            "--timeout",
            type=seconds,
            help="seconds to wait for a worker (default: the alias's ABORT_TIMEOUT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias, job, queue_name = options["alias"], options["job_id"], options["queue"]
        queue = get_queue(alias)
        try:
            aborted = queue.abort_job_sync(job, queue_name, timeout=options["timeout"])
        except TimeoutError as exc:
            raise CommandError(str(exc), returncode=EXIT_TIMEOUT) from None
        if aborted:
            self.stdout.write(f"aborted job {job}")
            return
        found = async_to_sync(find_job)(alias, job, queue_name)  # JobNotFound: exit 3
        status = found.job.status.value
        raise CommandError(f"job {job!r} is {status}; there is nothing to abort", returncode=EXIT_FAILED)
