"""``manage.py arq_job JOB_ID``: a job's metadata, and its result fields once finished."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from asgiref.sync import async_to_sync

from ...audit.lookup import find_job, read_tries
from ..cli import JobCommand, job_id


class Command(JobCommand):
    help = (
        "Show a job's metadata (id, name, args, kwargs, enqueue_time, status, queue_name), plus "
        "start_time, finish_time, success and result once it has finished, and its tries (try_status, "
        "next_try_at, try_errors) as its JobRecord shows them. Read from Redis, or from "
        "its JobRecord when Redis no longer has it. Exit 3 if the job is unknown."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("job_id", type=job_id, help="the job's id")
        self.add_location_arguments(parser)
        self.add_json_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        found = async_to_sync(find_job)(options["alias"], options["job_id"], options["queue"])
        tries = async_to_sync(read_tries)(options["alias"], options["job_id"])
        self.show_job(found, options["alias"], options["json"], tries)
