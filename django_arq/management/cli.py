"""Shared parts of the commands (``arq_enqueue``, ``arq_job``, ``arq_result``, ``arq_abort``,
``arq_prune``, ``arq_reconcile``).

Argument types, common options, output of a job as text or JSON, a live status line (with the
job's progress) while waiting, and the translation of bad arguments and expected errors into a
one-line message and an exit status:

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
import re
import shutil
import time
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NoReturn

from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.utils import timezone

from ..audit.lookup import FoundJob, wait_for_job
from ..audit.migrated import not_migrated
from ..audit.payloads import job_json
from ..function_options import MAX_SECONDS
from ..queues.exceptions import ArqJobError, InvalidJob, JobNotFound, RedisUnavailable
from ..queues.jobs import (
    MAX_COUNT,
    MAX_DELAY,
    JobProgress,
    JobResult,
    check_delay,
    is_abort_result,
    is_valid_job_id,
)
from ..queues.text import storable_text, unstorable

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_TIMEOUT",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "ArqCommand",
    "JobCommand",
    "OneLineUsage",
    "StatusLine",
    "one_line",
    "progress_bar",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_TIMEOUT = 4
EXIT_UNAVAILABLE = 5


def seconds(value: str) -> float:
    """argparse type: a number of seconds, by the rule of a job's ``_defer_by`` (0 to ``MAX_DELAY``)."""
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    try:
        check_delay("seconds", number)
    except InvalidJob:
        limit = f"{MAX_DELAY.total_seconds():.0f}"
        raise ArgumentTypeError(f"{value!r} must be a finite number of seconds from 0 to {limit}") from None
    return number


def positive_seconds(value: str) -> float:
    """argparse type: a number of seconds > 0, at most ``MAX_SECONDS`` (a worker's poll delay or job
    timeout, as its WORKER setting takes them: 0 would poll without a pause, or fail every job)."""
    number = seconds(value)
    if not 0 < number <= MAX_SECONDS:
        raise ArgumentTypeError(f"{value!r} must be a number of seconds > 0 and at most {MAX_SECONDS}")
    return number


def days(value: str) -> float:
    """argparse type: a number of days > 0 that reaches back no further than year 1."""
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a number of days") from None
    if not number > 0:  # also NaN
        raise ArgumentTypeError(f"{value!r} must be a number of days > 0")
    try:
        timezone.now() - timedelta(days=number)
    except OverflowError:
        raise ArgumentTypeError(f"{value!r} days reaches back before year 1") from None
    return number


def positive_int(value: str) -> int:
    """argparse type: a whole number from 1 to ``MAX_COUNT``."""
    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_COUNT:
        raise ArgumentTypeError(f"{value!r} must be from 1 to {MAX_COUNT}")
    return number


def job_id(value: str) -> str:
    """argparse type: a job id as ``is_valid_job_id`` accepts it."""
    if not is_valid_job_id(value):
        raise ArgumentTypeError(f"{value!r} is not a valid job id (1-200 letters, digits or . _ : @ + -)")
    return value


def dumps(value: Any) -> str:
    """One line of JSON (values JSON cannot hold are already made readable by ``jsonable``).

    Text is written as it is, unless it holds lone surrogates (which no output encoding can
    write): then every non-ASCII character is escaped, so that the line is still exact JSON.
    """
    text = json.dumps(value, ensure_ascii=False)
    return json.dumps(value) if unstorable(text) else text


def printable(text: str) -> str:
    """``text`` with lone surrogates (and NUL) replaced by U+FFFD, so that any UTF-8 output can write it."""
    return storable_text(text)


class UsageParser(CommandParser):
    """A command's parser whose errors are one line: on stderr with exit 2 from a shell,
    ``CommandError`` with ``returncode`` 2 from ``call_command``."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)}\n")
        raise CommandError(f"Error: {message}", returncode=EXIT_USAGE)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """The arguments; an error for text no UTF-8 can hold (bytes of argv that were not UTF-8,
        which Python keeps as lone surrogates: Redis, the database and the terminal refuse them)."""
        parsed = super().parse_args(args, namespace)
        for name, value in vars(parsed).items():
            values = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(v, str) and unstorable(v) for v in values):
                self.error(f"argument {name}: {printable(str(value))!r} holds bytes that are not UTF-8")
        return parsed


class OneLineUsage(BaseCommand):
    """A command whose argument errors are one line (``UsageParser``), exit status 2."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = UsageParser  # the same parser, with one-line errors
        return parser


class ArqCommand(OneLineUsage):
    """A django-arq command: bad arguments and expected errors become one line on stderr and an
    exit status from the table above, never a traceback."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except JobNotFound as exc:
            raise CommandError(str(exc), returncode=EXIT_NOT_FOUND) from None
        except RedisUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_UNAVAILABLE) from None
        except InvalidJob as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except ArqJobError as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except (OperationalError, InterfaceError, ProgrammingError) as exc:  # down, unreachable, not migrated
            missing = not_migrated(exc)
            if missing is None and isinstance(exc, ProgrammingError):
                raise  # a query the database cannot run: a bug to see whole, not a database down
            raise CommandError(
                missing or f"the database failed: {one_line(str(exc))}", returncode=EXIT_UNAVAILABLE
            ) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted", returncode=130) from None


#: Characters of the progress bar drawn on a terminal.
BAR_WIDTH = 20
#: Control characters (escapes, CR, LF) and the marks that reorder text shown right to left, which
#: could make a printed name read as another.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` safe to print on one line as it reads: control characters and bidirectional marks
    become spaces."""
    return printable(_CONTROL.sub(" ", text))


def progress_bar(progress: JobProgress) -> str:
    """``[########------------] 40/100 (40%) message``; without a total, the count and message only."""
    summary = one_line(progress.summary())
    if progress.fraction is None:
        return summary
    filled = round(min(max(progress.fraction, 0.0), 1.0) * BAR_WIDTH)
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {summary}"


class StatusLine:
    """Live status while waiting: on a TTY one line redrawn in place (status, progress bar, time),
    otherwise a line per change (``status: in_progress``, ``progress 40/100 (40%) rows``)."""

    def __init__(self, stream: OutputWrapper, job_id: str) -> None:
        self.stream = stream
        self.job_id = job_id
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last: str | None = None
        self.last_progress: JobProgress | None = None

    def __call__(self, found: FoundJob) -> None:
        status = found.job.status.value
        progress = found.job.progress
        if self.tty:
            elapsed = time.monotonic() - self.started
            head, tail = f"job {self.job_id}: {status.replace('_', ' ')}", f" ({elapsed:.1f}s)"
            bar = f" {progress_bar(progress)}" if progress is not None and not found.finished else ""
            room = shutil.get_terminal_size().columns - 1 - len(head) - len(tail)  # a wrapped line stays
            if len(bar) > room:  # the message is cut, not the time
                bar = bar[: max(room - 1, 0)] + "…" if room > 1 else ""
            self.stream.write(f"\r\x1b[K{head}{bar}{tail}", ending="")
            self.stream.flush()
        else:
            if status != self.last:
                self.stream.write(f"status: {status}")
            if progress is not None and progress != self.last_progress:
                self.stream.write(f"progress {one_line(progress.summary())}")
        self.last = status
        self.last_progress = progress

    def close(self) -> None:
        if self.tty and self.last is not None:
            self.stream.write("")


class JobCommand(ArqCommand):
    """A command about one job: its location, ``--json``, ``--wait`` and how a job is shown."""

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

    def show_job(
        self, found: FoundJob, alias: str, as_json: bool, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Print a job's metadata (and result fields once finished, and ``extra``), as text or JSON."""
        data = job_json(found.job, alias=alias, source=found.source, **(extra or {}))
        if as_json:
            self.stdout.write(dumps(data))
            return
        width = max(map(len, data)) + 1
        progress = found.job.progress
        for key, value in data.items():
            if value == "":  # nothing to say (a job never retried has no try_status)
                continue
            if key == "progress" and progress is not None:
                text = f"{one_line(progress.summary())} (reported at {progress.time.isoformat()})"
            else:
                text = printable(value) if isinstance(value, str) else dumps(value)
            self.stdout.write(f"{key + ':':<{width}} {text}")


def describe_error(result: Any) -> str:
    """One line naming a failed job's exception, from its JSON form."""
    if isinstance(result, dict) and "exception" in result:
        message = str(result.get("message", "")).splitlines()
        text = f"{result['exception']}: {message[0]}" if message else str(result["exception"])
        return printable(text)
    return dumps(result)
