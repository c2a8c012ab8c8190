"""``manage.py arq_result JOB_ID``: a finished job's result; ``--wait`` until it has one."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from ..cli import JobCommand, job_id


class Command(JobCommand):
    help = (
        "Print a finished job's result as JSON (the whole job with --json). Exit 1 if the job failed "
        "or was aborted (the error goes to stderr), 3 if it is unknown, 4 if it has no result yet "
        "(or, with --wait, none within --timeout)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("job_id", type=job_id, help="the job's id")
        self.add_location_arguments(parser)
        self.add_wait_arguments(parser, "print the result")
        self.add_json_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        alias, job = options["alias"], options["job_id"]
        timeout = options["timeout"] if options["wait"] else 0
        found = self.wait(alias, job, options["queue"], timeout, live=options["wait"] and not options["json"])
        self.show_result(found, alias, options["json"])
