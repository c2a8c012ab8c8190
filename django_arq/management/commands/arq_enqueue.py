"""``manage.py arq_enqueue TASK [ARG ...]``: enqueue a job, optionally wait for its result."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from ...audit.payloads import job_json
from ...handler import get_queue
from ...queues.jobs import JobSpec
from ..cli import EXIT_USAGE, JobCommand, dumps, job_id, one_line, seconds


def literal(text: str) -> tuple[Any, str | None]:
    """A command-line argument as the JSON literal it spells (``3``, ``true``, ``[1]``), else the
    string; and why a text that looks like JSON (an object or a list) is not, if so."""
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        looks_like_json = text.lstrip()[:1] in ("{", "[")
        return text, (one_line(str(exc)) if looks_like_json else None)


class Command(JobCommand):
    help = (
        "Enqueue TASK (a dotted path, as in the alias's WORKER FUNCTIONS) with positional arguments ARG, "
        'each read as a JSON literal where it is one (3, 2.5, true, null, [1, 2], {"a": 1}) and as a '
        "string otherwise. Prints the job id as the last line, or the job as JSON with --json. "
        "With --wait, shows the job's status until it finishes and prints its result (exit 1 if it failed)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("task", help="task name, e.g. myapp.jobs.send_email")
        parser.add_argument(
            "arguments", nargs="*", metavar="ARG", help="positional arguments (JSON literals or strings)"
        )
        parser.add_argument(
            "--kwargs", default="{}", metavar="JSON", help="keyword arguments as a JSON object"
        )
        self.add_location_arguments(parser)
        parser.add_argument(
            "--job-id", type=job_id, help="job id (default: a random one); taken ids are refused"
        )
        parser.add_argument("--defer-by", type=seconds, metavar="SECONDS", help="start no sooner than this")
        self.add_wait_arguments(parser, "print its result")
        self.add_json_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            kwargs = json.loads(options["kwargs"])
        except (ValueError, RecursionError) as exc:
            raise CommandError(f"--kwargs is not valid JSON: {exc}", returncode=EXIT_USAGE) from None
        if not isinstance(kwargs, dict):
            raise CommandError("--kwargs must be a JSON object", returncode=EXIT_USAGE)
        alias, task = options["alias"], options["task"]
        values = []
        for position, text in enumerate(options["arguments"], 1):
            value, not_json = literal(text)
            if not_json is not None:
                self.stderr.write(f"warning: ARG {position} is not valid JSON ({not_json}): sent as a string")
            values.append(value)
        queue = get_queue(alias)
        spec = JobSpec(
            task,
            tuple(values),
            kwargs,
            queue_name=options["queue"],
            job_id=options["job_id"],
            defer_by=options["defer_by"],
        )
        (metadata,) = queue.enqueue_many_sync([spec])
        if not options["wait"]:
            self.stdout.write(dumps(job_json(metadata, alias=alias)) if options["json"] else metadata.id)
            return
        if not options["json"]:
            self.stdout.write(metadata.id)
        found = self.wait(
            alias, metadata.id, metadata.queue_name, options["timeout"], live=not options["json"]
        )
        self.show_result(found, alias, options["json"])
