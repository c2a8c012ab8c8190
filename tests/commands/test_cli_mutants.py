"""The commands' shared parts (``management/cli.py``), in process: what bin/mutate found no test pinning."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from argparse import ArgumentTypeError
from collections.abc import Iterator
from typing import Any

import pytest
from arq.jobs import serialize_result
from arq.utils import timestamp_ms
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from django_arq import get_queue
from django_arq.management.cli import ArqCommand, StatusLine, describe_error, dumps, job_id, seconds
from django_arq.queues.exceptions import ArqJobError, InvalidJob, JobNotFound, RedisUnavailable

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    """Output that says it is a terminal, as a shell's stdout is."""

    def isatty(self) -> bool:
        return True


class Found:
    """What ``StatusLine`` reads of a lookup: the job's status."""

    def __init__(self, status: str) -> None:
        self.job = type("Job", (), {"status": type("Status", (), {"value": status})(), "progress": None})()
        self.finished = status == "complete"


def test_job_id_argument() -> None:
    assert job_id("ok.1:a@b+c-d_e") == "ok.1:a@b+c-d_e"
    with pytest.raises(ArgumentTypeError) as info:
        job_id("bad id")
    assert str(info.value) == "'bad id' is not a valid job id (1-200 letters, digits or . _ : @ + -)"


def test_dumps_writes_text_as_it_is_unless_it_holds_lone_surrogates() -> None:
    assert dumps({"name": "café ✓"}) == '{"name": "café ✓"}'
    assert dumps(["é", "\ud800"]) == '["\\u00e9", "\\ud800"]'


@pytest.mark.parametrize(
    ("result", "line"),
    [
        ({"exception": "ValueError", "message": "bad value\nsecond line"}, "ValueError: bad value"),
        ({"exception": "ValueError"}, "ValueError"),
        ({"exception": "ValueError", "message": ""}, "ValueError"),
        ({"exception": "E\ud800", "message": "x"}, "E\ufffd: x"),
        ({"other": 1}, '{"other": 1}'),
        ("no exception here", '"no exception here"'),
        ([1, "exception"], '[1, "exception"]'),
    ],
)
def test_describe_error(result: Any, line: str) -> None:
    assert describe_error(result) == line


def test_status_line_on_a_terminal_is_rewritten_in_place_and_ended_once() -> None:
    out = Terminal()
    line = StatusLine(OutputWrapper(out), "job-1")
    line(Found("queued"))
    line(Found("in_progress"))
    line.close()
    first, second = out.getvalue().split("\r")[1:]
    assert first.startswith("\x1b[Kjob job-1: queued (") and first.endswith("s)")
    assert second.startswith("\x1b[Kjob job-1: in progress (") and second.endswith("s)\n")
    assert 0 <= float(first.removeprefix("\x1b[Kjob job-1: queued (").removesuffix("s)")) < 60


def test_status_line_that_showed_nothing_writes_nothing() -> None:
    for out in (Terminal(), io.StringIO()):
        StatusLine(OutputWrapper(out), "job-1").close()
        assert out.getvalue() == ""


def test_status_line_elsewhere_is_one_line_per_change() -> None:
    out = io.StringIO()
    line = StatusLine(OutputWrapper(out), "job-1")
    for status in ("queued", "queued", "in_progress", "complete"):
        line(Found(status))
    line.close()
    assert out.getvalue() == "status: queued\nstatus: in_progress\nstatus: complete\n"


@pytest.fixture
def finished(redis_client: Any, lonely_queue: str) -> Iterator[Any]:
    """Plants the result of a finished job in Redis: ``finished(success, result) -> job id``."""
    ids: list[str] = []

    def plant(success: bool, result: Any) -> str:
        ids.append(job := uuid.uuid4().hex)
        now = timestamp_ms()
        data = serialize_result(
            "tests.jobs.add", (1, 2), {}, 1, now, success, result, now, now, "r", lonely_queue, job
        )
        redis_client.set(f"arq:result:{job}", data)
        return job

    yield plant
    if ids:
        redis_client.delete(*[f"arq:result:{i}" for i in ids])


def run(*args: str | BaseCommand, stdout: io.StringIO | None = None) -> str:
    out = stdout or io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_result_and_job_as_json_name_the_alias(finished: Any) -> None:
    job = finished(True, 3)
    for command in ("arq_result", "arq_job"):
        data = json.loads(run(command, job, "--json"))
        assert (data["id"], data["alias"], data["result"]) == (job, "default", 3)


def test_job_as_text_lines_up_its_values_one_space_after_the_longest_key(finished: Any) -> None:
    job = finished(True, 3)
    lines = run("arq_job", job).splitlines()
    keys = [line.split(":", 1)[0] for line in lines]
    column = max(map(len, keys)) + 2
    assert lines[0] == f"{'id:':<{column - 1}} {job}"
    for line in lines:
        assert line[column - 1] == " " and line[column : column + 1] != " ", line  # "" for an empty value


def test_an_aborted_job_says_so(finished: Any) -> None:
    job = finished(False, asyncio.CancelledError())
    with pytest.raises(CommandError) as info:
        run("arq_result", job)
    assert str(info.value).startswith(f"job {job!r} was aborted: ") and info.value.returncode == 1
    failed = finished(False, ValueError("no"))
    with pytest.raises(CommandError) as info:
        run("arq_result", failed)
    assert str(info.value) == f"job {failed!r} failed: builtins.ValueError: no" and info.value.returncode == 1


def test_wait_on_a_terminal_shows_the_job_id(finished: Any) -> None:
    job = finished(True, 3)
    out = Terminal()
    run("arq_result", job, "--wait", stdout=out)
    assert out.getvalue().startswith(f"\r\x1b[Kjob {job}: complete (")


def test_result_of_a_job_queued_elsewhere_is_looked_for_on_that_queue(lonely_queue: str) -> None:
    queue = get_queue().backend  # no record: only Redis can say where the job is
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue, _defer_by=600)
    with pytest.raises(CommandError) as info:
        run("arq_result", meta.id, "--queue", lonely_queue)
    assert str(info.value) == f"job {meta.id!r} is deferred; it has no result yet (use --wait)"
    assert info.value.returncode == 4


class Raises(ArqCommand):
    """A command that receives its arguments and raises what it is told to."""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("word")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(options["word"])
        if options["word"] in ERRORS:
            raise ERRORS[options["word"]]


ERRORS: dict[str, BaseException] = {
    "missing": JobNotFound("no job 'x'", "x"),
    "down": RedisUnavailable("Redis at redis://h:1/0 is unavailable"),
    "invalid": InvalidJob("a delay must be >= 0"),
    "failed": ArqJobError("it failed", "x"),
    "settings": ImproperlyConfigured("ARQ_QUEUES is wrong"),
    "interrupted": KeyboardInterrupt(),
}


@pytest.mark.parametrize(
    ("word", "message", "code"),
    [
        ("missing", "no job 'x'", 3),
        ("down", "Redis at redis://h:1/0 is unavailable", 5),
        ("invalid", "a delay must be >= 0", 2),
        ("failed", "it failed", 1),
        ("settings", "ARQ_QUEUES is wrong", 2),
        ("interrupted", "interrupted", 130),
    ],
)
def test_expected_errors_are_one_line_and_their_exit_status(word: str, message: str, code: int) -> None:
    with pytest.raises(CommandError) as info:
        run(Raises(), word)
    assert (str(info.value), info.value.returncode) == (message, code)


def test_a_command_receives_its_arguments() -> None:
    assert run(Raises(), "fine") == "fine\n"


def test_seconds_out_of_range_names_the_range() -> None:
    with pytest.raises(ArgumentTypeError) as info:
        seconds("-1")
    assert str(info.value) == f"'-1' must be a finite number of seconds from 0 to {366 * 1000 * 86400}"
    with pytest.raises(ArgumentTypeError) as info:
        seconds("soon")
    assert str(info.value) == "'soon' is not a number of seconds"


def test_usage_errors_from_a_shell_name_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Raises().create_parser("manage.py", "raises")
    parser.called_from_command_line = True
    with pytest.raises(SystemExit) as info:
        parser.parse_args([])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "manage.py raises: error: the following arguments are required: word"
    )


def test_the_shared_options_explain_themselves_in_help() -> None:
    from django_arq.management.commands.arq_result import Command as ArqResult

    text = " ".join(ArqResult().create_parser("manage.py", "arq_result").format_help().split())
    for line in (
        "--alias ALIAS ARQ_QUEUES alias (default: default)",
        "--queue QUEUE arq queue name (default: the alias's DEFAULT_QUEUE_NAME)",
        "--json print the job as one line of JSON",
        "--wait wait until the job finishes, then print the result",
        "--timeout TIMEOUT with --wait: give up after this many seconds (exit 4); default: no limit",
    ):
        assert line in text, text
