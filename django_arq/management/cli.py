"""Shared parts of the job commands (``arq_enqueue``, ``arq_job``, ``arq_result``, ``arq_abort``).

Common options, output of a job as text or JSON, a live status line while waiting, and the
translation of expected errors into a one-line message and an exit status:

====  ===========================================================
0     success
1     the job failed or was aborted, or nothing could be done
2     bad arguments or settings
3     no such job
4     timed out (no result yet, wait or abort not confirmed in time)
5     Redis is unavailable
====  ===========================================================
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from ..audit.lookup import FoundJob, wait_for_job
from ..audit.payloads import job_json
from ..queues.exceptions import ArqJobError, JobNotFound, RedisUnavailable
from ..queues.jobs import JobResult, is_abort_result, is_valid_job_id

__all__ = ["EXIT_FAILED", "EXIT_NOT_FOUND", "EXIT_TIMEOUT", "EXIT_UNAVAILABLE", "JobCommand", "StatusLine"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_TIMEOUT = 4
EXIT_UNAVAILABLE = 5


def seconds(value: str) -> float:
    """argparse type: a number of seconds >= 0."""
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number >= 0 or number == float("inf"):
        raise ArgumentTypeError(f"{value!r} must be a finite number of seconds >= 0")
    return number


def job_id(value: str) -> str:
    """argparse type: a job id as ``is_valid_job_id`` accepts it."""
    if not is_valid_job_id(value):
        raise ArgumentTypeError(f"{value!r} is not a valid job id (1-200 letters, digits or . _ : @ + -)")
    return value


def dumps(value: Any) -> str:
    """One line of JSON (values JSON cannot hold are already made readable by ``jsonable``)."""
    return json.dumps(value, ensure_ascii=False)


class StatusLine:
    """Live status while waiting: one line rewritten in place on a TTY, a line per change otherwise."""

    def __init__(self, stream: OutputWrapper, job_id: str) -> None:
        self.stream = stream
        self.job_id = job_id
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last: str | None = None

    def __call__(self, found: FoundJob) -> None:
        status = found.job.status.value
        if self.tty:
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r\x1b[Kjob {self.job_id}: {status.replace('_', ' ')} ({elapsed:.1f}s)", ending=""
            )
            self.stream.flush()
        elif status != self.last:
            self.stream.write(f"status: {status}")
        self.last = status

    def close(self) -> None:
        if self.tty and self.last is not None:
            self.stream.write("")


class JobCommand(BaseCommand):
    """A command about jobs: expected errors become one line on stderr and an exit status."""

    def add_location_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--alias", default="default", help="ARQ_QUEUES alias (default: %(default)s)")
        parser.add_argument("--queue", help="arq queue name (default: the alias's DEFAULT_QUEUE_NAME)")

    def add_json_argument(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the job as one line of JSON")

    def add_wait_arguments(self, parser: ArgumentParser, what: str) -> None:
        parser.add_argument("--wait", action="store_true", help=f"wait until the job finishes, then {what}")
        parser.add_argument(
            "--timeout",
            type=seconds,
            help="with --wait: give up after this many seconds (exit 4); default: no limit",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except JobNotFound as exc:
            raise CommandError(str(exc), returncode=EXIT_NOT_FOUND) from None
        except RedisUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_UNAVAILABLE) from None
        except ArqJobError as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted", returncode=130) from None

    def wait(
        self, alias: str, job_id: str, queue_name: str | None, timeout: float | None, live: bool
    ) -> FoundJob:
        """The job once finished (``--wait``), showing live status on stdout if ``live``."""
        line = StatusLine(self.stdout, job_id) if live else None
        try:
            found: FoundJob = async_to_sync(wait_for_job)(
                alias, job_id, queue_name, timeout=timeout, on_poll=line
            )
        finally:
            if line is not None:
                line.close()
        if not found.finished:
            status = found.job.status.value
            message = (
                f"job {job_id!r} is {status}; it has no result yet (use --wait)"
                if not timeout
                else f"job {job_id!r} did not finish within {timeout:g}s (it is {status})"
            )
            raise CommandError(message, returncode=EXIT_TIMEOUT)
        return found

    def show_result(self, found: FoundJob, alias: str, as_json: bool) -> None:
        """Print a finished job's result (or its JSON); ``CommandError`` (exit 1) if it failed."""
        job = found.job
        assert isinstance(job, JobResult)
        data = job_json(job, alias=alias, source=found.source)
        self.stdout.write(dumps(data) if as_json else dumps(data["result"]))
        if not job.success:
            what = "was aborted" if is_abort_result(job.success, job.result) else "failed"
            raise CommandError(
                f"job {job.id!r} {what}: {describe_error(data['result'])}", returncode=EXIT_FAILED
            )

    def show_job(self, found: FoundJob, alias: str, as_json: bool) -> None:
        """Print a job's metadata (and result fields once finished), as text or JSON."""
        data = job_json(found.job, alias=alias, source=found.source)
        if as_json:
            self.stdout.write(dumps(data))
            return
        width = max(map(len, data)) + 1
        for key, value in data.items():
            text = value if isinstance(value, str) else dumps(value)
            self.stdout.write(f"{key + ':':<{width}} {text}")


def describe_error(result: Any) -> str:
    """One line naming a failed job's exception, from its JSON form."""
    if isinstance(result, dict) and "exception" in result:
        message = str(result.get("message", "")).splitlines()
        return f"{result['exception']}: {message[0]}" if message else str(result["exception"])
    return dumps(result)
