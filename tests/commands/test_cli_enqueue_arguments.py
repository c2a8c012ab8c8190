"""``arq_enqueue``'s own argument handling, in process: ``--kwargs``, the FUNCTIONS warning, and
what is printed with and without ``--json`` and ``--wait`` (on a queue no worker serves)."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_arq import get_queue

pytestmark = pytest.mark.django_db

USAGE, TIMEOUT = 2, 4


def enqueue(*args: str) -> tuple[list[str], str]:
    """``arq_enqueue ARGS``: its stdout's lines and its stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("arq_enqueue", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


def refusal(*args: str) -> tuple[str, int]:
    with pytest.raises(CommandError) as info:
        enqueue(*args)
    return str(info.value), info.value.returncode


def test_kwargs_that_are_not_a_json_object_are_refused_by_name(lonely_queue: str) -> None:
    assert refusal("tests.jobs.add", "--kwargs", "[1]", "--queue", lonely_queue) == (
        "--kwargs must be a JSON object",
        USAGE,
    )
    message, code = refusal("tests.jobs.add", "--kwargs", "{nope", "--queue", lonely_queue)
    assert code == USAGE
    assert message.startswith("--kwargs is not valid JSON: Expecting property name enclosed in double quotes")
    assert refusal("tests.jobs.add", "--kwargs", "[" * 100_000, "--queue", lonely_queue)[1] == USAGE


def test_a_task_outside_functions_is_enqueued_with_one_warning(
    lonely_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"tests.jobs.not_listed_{uuid.uuid4().hex[:8]}"  # the alias warns once per name
    (job_id,), err = enqueue(name, "--queue", lonely_queue)
    warnings = [r.getMessage() for r in caplog.records if "is not in ARQ_QUEUES" in r.getMessage()]
    assert err == "" and len(warnings) == 1, (err, warnings)  # UNKNOWN_FUNCTIONS' warning, not a second one
    assert warnings[0].startswith(f"{name!r} is not in ARQ_QUEUES['default']['WORKER']['FUNCTIONS']")
    assert get_queue().get_job_metadata_sync(job_id, lonely_queue).name == name
    assert enqueue("tests.jobs.add", "--queue", lonely_queue)[1] == ""


def test_kwargs_and_defer_by_reach_the_job(lonely_queue: str) -> None:
    (job_id,), _ = enqueue("tests.jobs.echo", "--kwargs", '{"k": [1, "2"]}', "--queue", lonely_queue)
    metadata = get_queue().get_job_metadata_sync(job_id, lonely_queue)
    assert (metadata.args, metadata.kwargs, metadata.status.value) == ((), {"k": [1, "2"]}, "queued")
    (deferred,), _ = enqueue("tests.jobs.echo", "--defer-by", "600", "--queue", lonely_queue)
    assert get_queue().get_job_metadata_sync(deferred, lonely_queue).status.value == "deferred"


def test_wait_without_json_prints_the_id_then_the_live_status(lonely_queue: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "arq_enqueue", "tests.jobs.add", "--queue", lonely_queue, "--wait", "--timeout", "0.2",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert info.value.returncode == TIMEOUT
    job_id, *statuses = out.getvalue().splitlines()
    assert statuses == ["status: queued"]
    assert str(info.value) == f"job {job_id!r} did not finish within 0.2s (it is queued)"


def test_wait_looks_for_the_job_on_its_own_queue(lonely_queue: str) -> None:
    """Without a record to fall back on, only Redis's queue of the job knows it is queued."""
    no_audit = {**settings.ARQ_QUEUES, "default": {**settings.ARQ_QUEUES["default"], "AUDIT": False}}
    out = io.StringIO()
    with override_settings(ARQ_QUEUES=no_audit), pytest.raises(CommandError) as info:
        call_command(
            "arq_enqueue", "tests.jobs.add", "--queue", lonely_queue, "--wait", "--timeout", "0.2",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert info.value.returncode == TIMEOUT
    assert out.getvalue().splitlines()[1:] == ["status: queued"]


def test_wait_with_json_prints_nothing_but_the_job(lonely_queue: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "arq_enqueue", "tests.jobs.add", "--queue", lonely_queue, "--wait", "--timeout", "0.2", "--json",
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert info.value.returncode == TIMEOUT and out.getvalue() == ""  # no id, no status lines


def test_its_options_explain_themselves_in_help() -> None:
    from django_arq.management.commands.arq_enqueue import Command

    text = " ".join(Command().create_parser("manage.py", "arq_enqueue").format_help().split())
    for line in (
        "[--kwargs JSON] [--alias ALIAS] [--queue QUEUE] [--job-id JOB_ID] [--defer-by SECONDS] [--wait]",
        "task [ARG ...]",
        "task task name, e.g. myapp.jobs.send_email",
        "ARG positional arguments (JSON literals or strings)",
        "--kwargs JSON keyword arguments as a JSON object",
        "--job-id JOB_ID job id (default: a random one); taken ids are refused",
        "--defer-by SECONDS start no sooner than this",
        "--wait wait until the job finishes, then print its result",
        "--json print the job as one line of JSON",
    ):
        assert line in text, text


def test_an_argument_that_looks_like_json_but_is_not_is_sent_as_text_with_a_warning(
    lonely_queue: str,
) -> None:
    (job_id,), err = enqueue("tests.jobs.echo", "{'a': 1}", "[1, 2,]", "True", "x", "--queue", lonely_queue)
    assert get_queue().get_job_metadata_sync(job_id, lonely_queue).args == (
        "{'a': 1}",
        "[1, 2,]",
        "True",
        "x",
    )
    warnings = err.splitlines()  # the JSON decoder's own words differ between Python versions
    assert [w.split(" (", 1)[0] for w in warnings] == [
        "warning: ARG 1 is not valid JSON",
        "warning: ARG 2 is not valid JSON",
    ], warnings
    assert all(w.endswith("): sent as a string") and "line 1 column" in w for w in warnings), warnings


def test_arq_job_prints_no_empty_lines_for_what_a_job_does_not_have(lonely_queue: str) -> None:
    (job_id,), _ = enqueue("tests.jobs.add", "1", "2", "--queue", lonely_queue)
    text, as_json = io.StringIO(), io.StringIO()
    call_command("arq_job", job_id, "--queue", lonely_queue, stdout=text)
    call_command("arq_job", job_id, "--queue", lonely_queue, "--json", stdout=as_json)
    assert json.loads(as_json.getvalue())["try_status"] == ""  # never retried
    lines = text.getvalue().splitlines()
    assert not any(line.startswith("try_status:") for line in lines), lines
    assert all(line.split(":", 1)[1].strip() for line in lines), lines
    assert ["id:", job_id] in [line.split() for line in lines]
