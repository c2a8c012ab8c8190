"""Checks for a newcomer's mistakes: E004 imports every WORKER path, functions that cannot take
ctx, a missing INSTALLED_APPS entry, a BACKEND typo at first use, names the worker does not know."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_arq import get_queue
from django_arq.checks import check_queues
from django_arq.conf import RUN_TASK, known_functions
from django_arq.handler import UnknownFunction
from django_arq.worker import create_worker
from tests.helpers import ROOT

#: No JobRecords (AUDIT off): these tests need no database.
REDIS = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": settings.REDIS_URL, "AUDIT": False}
HERE = "tests.core.test_checks"


def no_ctx() -> None:
    """A job function written without ctx."""


def keyword_only(*, doc_id: int) -> None:
    """Keyword-only parameters cannot receive ctx either."""


def takes_ctx(ctx: dict[str, Any], doc_id: int) -> int:
    return doc_id


def star_args(*args: Any) -> None:
    """``*args`` receives ctx: fine."""


NOT_CALLABLE = 42


def e004(worker: dict[str, Any]) -> list[str]:
    """The E004 messages for an alias with this WORKER."""
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "WORKER": worker}}):
        messages = check_queues()
    assert {m.id for m in messages} <= {"django_arq.E004"}, messages
    return [m.msg for m in messages]


@pytest.fixture
def broken_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module that raises when imported (as one with a typo in it would)."""
    name = f"broken_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text("def job(ctx):\n    pass\n\nraise RuntimeError('typo on line 4')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


# -- E004: every dotted path of WORKER is imported ---------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("FUNCTIONS", ["tests.jobs.add", "tests.jobs.nope"],
         "entry 'tests.jobs.nope' cannot be imported: ImportError: Module \"tests.jobs\""),
        ("FUNCTIONS", ["no_such_package.jobs.add"],
         "entry 'no_such_package.jobs.add' cannot be imported: ModuleNotFoundError: No module named"),
        ("CRON_JOBS", ["tests.jobs.nope"], "WORKER['CRON_JOBS'] entry 'tests.jobs.nope' cannot be imported"),
        ("CRON_JOBS", [{"FUNCTION": "tests.jobs.nope", "MINUTE": 5}],
         "WORKER['CRON_JOBS'] function 'tests.jobs.nope' cannot be imported"),
        ("CRON_JOBS", ["tests.jobs.add"], "'tests.jobs.add' is not an arq CronJob"),
        ("CRON_JOBS", [5], "must be a dotted path or a dict with FUNCTION: 5"),
        ("ON_STARTUP", "tests.jobs.on_start", "WORKER['ON_STARTUP'] 'tests.jobs.on_start' cannot be"),
        ("ON_SHUTDOWN", "tests.nope.stop", "WORKER['ON_SHUTDOWN'] 'tests.nope.stop' cannot be imported"),
        ("ON_SHUTDOWN", 3, "WORKER['ON_SHUTDOWN'] must be a dotted path, not int"),
    ],
)  # fmt: skip
def test_e004_reports_paths_that_cannot_be_imported(key: str, value: Any, problem: str) -> None:
    worker = {"FUNCTIONS": ["tests.jobs.add"], key: value}
    (message,) = e004(worker)
    assert message.startswith("ARQ_QUEUES['default']: ") and problem in message, message


def test_e004_reports_a_module_that_raises_on_import(broken_module: str) -> None:
    (message,) = e004({"FUNCTIONS": [f"{broken_module}.job"]})
    assert f"'{broken_module}.job' cannot be imported: RuntimeError: typo on line 4" in message


@pytest.mark.parametrize("function", ["no_ctx", "keyword_only", "NOT_CALLABLE"])
def test_e004_reports_a_function_that_cannot_take_ctx(function: str) -> None:
    (message,) = e004({"FUNCTIONS": [f"{HERE}.{function}"]})
    if function == "NOT_CALLABLE":
        assert message.endswith(f"'{HERE}.NOT_CALLABLE' is not callable")
    else:
        assert f"'{HERE}.{function}' cannot take ctx" in message and "def f(ctx, ...)" in message


def test_e004_ctx_check_covers_cron_and_hooks() -> None:
    messages = e004(
        {
            "FUNCTIONS": ["tests.jobs.add"],
            "CRON_JOBS": [{"FUNCTION": f"{HERE}.no_ctx", "MINUTE": 5}],
            "ON_STARTUP": f"{HERE}.keyword_only",
        }
    )
    assert len(messages) == 2 and all("cannot take ctx" in m for m in messages)


def test_e004_accepts_what_the_worker_runs() -> None:
    assert e004({"FUNCTIONS": ["tests.jobs.add", f"{HERE}.takes_ctx", f"{HERE}.star_args"]}) == []
    assert e004({"FUNCTIONS": ["tests.jobs.add"], "ON_STARTUP": f"{HERE}.takes_ctx"}) == []


def test_the_worker_refuses_a_function_without_ctx_with_that_message() -> None:
    with (
        override_settings(ARQ_QUEUES={"default": {**REDIS, "WORKER": {"FUNCTIONS": [f"{HERE}.no_ctx"]}}}),
        pytest.raises(
            ImproperlyConfigured, match=r"function '.*\.no_ctx' cannot take ctx: arq passes its context"
        ),
    ):
        create_worker()


# -- first use ---------------------------------------------------------------------------------


def test_a_bad_backend_at_first_use_gives_the_e002_message() -> None:
    with override_settings(ARQ_QUEUES={"default": {"BACKEND": "django_arq.RedisArqQueu"}}):
        (check,) = check_queues()
        assert check.id == "django_arq.E002"
        with pytest.raises(ImproperlyConfigured) as raised:
            get_queue()
    assert str(raised.value) == check.msg
    assert "BACKEND 'django_arq.RedisArqQueu' cannot be imported" in check.msg


WITHOUT_APP = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ARQ_QUEUES={"default": {"BACKEND": "django_arq.MockArqQueue"}},
)
%s
from django_arq import get_queue
try:
    get_queue()
except Exception as exc:
    print(type(exc).__name__, exc)
"""


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("django.setup()", 'ImproperlyConfigured get_queue() needs "django_arq" in INSTALLED_APPS: add it'),
        ("", "ImproperlyConfigured get_queue() was called before Django's apps were loaded"),
    ],
)  # fmt: skip
def test_get_queue_without_the_app_installed_names_the_fix(setup: str, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", WITHOUT_APP % setup], env={**env, "PYTHONPATH": str(ROOT)},
                          cwd="/", capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(expected), done.stdout


# -- names the alias's workers do not know ----------------------------------------------------


@pytest.fixture
def private_queue(redis_client: redis.Redis) -> Iterator[str]:
    name = f"django-arq-tests:checks:{uuid.uuid4().hex[:12]}"
    yield name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]
    redis_client.delete(name, *(f"arq:job:{i}" for i in ids))


def aliases(mode: str | None = None, **worker: Any) -> dict[str, Any]:
    alias = {**REDIS, "WORKER": {"FUNCTIONS": ["tests.jobs.add", "tests.jobs.echo"], **worker}}
    if mode is not None:
        alias["UNKNOWN_FUNCTIONS"] = mode
    return {"default": alias}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "django_arq" and r.levelno == logging.WARNING]


def test_unknown_name_warns_once_naming_the_alias_and_known_functions(
    private_queue: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="django_arq")
    with override_settings(ARQ_QUEUES=aliases()):
        queue = get_queue()
        queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=private_queue)
        assert warnings_of(caplog) == []
        for _ in range(3):
            queue.enqueue_sync("tests.jobs.ad", 1, 2, _queue_name=private_queue)
        queue.enqueue_sync("tests.jobs.other", _queue_name=private_queue)
    (first, second) = warnings_of(caplog)
    assert first == (
        "'tests.jobs.ad' is not in ARQ_QUEUES['default']['WORKER']['FUNCTIONS'], so its workers will fail "
        'the job (known: tests.jobs.add, tests.jobs.echo); set UNKNOWN_FUNCTIONS to "error" or "ignore" '
        "to change this"
    )
    assert second.startswith("'tests.jobs.other' is not in")
    assert redis_client.zcard(private_queue) == 5  # a warning, not a refusal


async def test_unknown_name_in_error_mode_is_refused_and_nothing_is_sent(
    private_queue: str, redis_client: redis.Redis
) -> None:
    with override_settings(ARQ_QUEUES=aliases("error")):
        queue = get_queue()
        with pytest.raises(UnknownFunction, match=r"'tests.jobs.ad' is not in ARQ_QUEUES\['default'\]"):
            await queue.enqueue("tests.jobs.ad", 1, 2, _queue_name=private_queue)
        with pytest.raises(UnknownFunction, match=r"known: tests\.jobs\.add, tests\.jobs\.echo\)"):
            queue.enqueue_sync("tests.jobs.ad", _queue_name=private_queue)
        job = await queue.enqueue("tests.jobs.echo", _queue_name=private_queue)
        await queue.aclose()
    assert [i.decode() for i in redis_client.zrange(private_queue, 0, -1)] == [job.id]
    assert issubclass(UnknownFunction, ValueError)


def test_ignore_mode_and_aliases_without_functions_say_nothing(
    private_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="django_arq")
    for arq_queues in (aliases("ignore"), {"default": REDIS}):
        with override_settings(ARQ_QUEUES=arq_queues):
            get_queue().enqueue_sync("tests.jobs.anything", _queue_name=private_queue)
    assert warnings_of(caplog) == []


def test_run_task_is_known_only_where_a_tasks_backend_sends_tasks() -> None:
    pytest.importorskip("django.tasks")
    tasks = {"default": {"BACKEND": "django_arq.tasks.ArqBackend", "OPTIONS": {"ALIAS": "other"}}}
    with override_settings(
        ARQ_QUEUES={**aliases(), "other": {**REDIS, "WORKER": {"FUNCTIONS": []}}}, TASKS=tasks
    ):
        assert known_functions("other") == ("warn", frozenset({RUN_TASK}))
        assert known_functions("default") == ("warn", frozenset({"tests.jobs.add", "tests.jobs.echo"}))


def test_known_functions_reads_dict_entries_and_unset_functions() -> None:
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "UNKNOWN_FUNCTIONS": "error"}}):
        assert known_functions("default") == ("error", None)
    with override_settings(
        ARQ_QUEUES={"default": {**REDIS, "WORKER": {"FUNCTIONS": [{"FUNCTION": "a.b"}, "c.d"]}}}
    ):
        assert known_functions("default") == ("warn", frozenset({"a.b", "c.d"}))


def test_the_check_messages_are_one_line() -> None:
    """A newcomer reads these in a terminal: no traceback, no newline."""
    messages = e004({"FUNCTIONS": ["tests.jobs.nope", f"{HERE}.no_ctx"], "ON_STARTUP": "x.y"})
    assert len(messages) == 3 and all("\n" not in m for m in messages)
    assert textwrap.shorten(messages[0], 500) == messages[0]


def test_workers_report_their_health_often_enough_to_show_a_dead_one_within_a_minute() -> None:
    """arq's own default is an hour: a killed worker looked alive on the dashboard all that time."""
    from django_arq.conf import HEALTH_CHECK_INTERVAL

    assert 1 <= HEALTH_CHECK_INTERVAL <= 15
    functions = {"FUNCTIONS": ["tests.jobs.add"]}
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "WORKER": functions}}):
        assert create_worker().health_check_interval == HEALTH_CHECK_INTERVAL
    with override_settings(
        ARQ_QUEUES={"default": {**REDIS, "WORKER": {**functions, "HEALTH_CHECK_INTERVAL": 3}}}
    ):
        assert create_worker().health_check_interval == 3


ADD = ["tests.jobs.add"]


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("POLL_DELAY", "fast", "WORKER['POLL_DELAY'] must be a number of seconds, not str"),
        ("POLL_DELAY", 0, "WORKER['POLL_DELAY'] must be > 0, not 0"),
        ("JOB_TIMEOUT", "x", "WORKER['JOB_TIMEOUT'] must be a number of seconds, not str"),
        ("JOB_TIMEOUT", float("nan"), "WORKER['JOB_TIMEOUT'] must be a finite number of seconds"),
        ("KEEP_RESULT", -1, "WORKER['KEEP_RESULT'] must be >= 0, not -1"),
        (
            "HEALTH_CHECK_INTERVAL",
            10**400,
            "WORKER['HEALTH_CHECK_INTERVAL'] must be a finite number of seconds",
        ),
        ("JOB_COMPLETION_WAIT", [1], "WORKER['JOB_COMPLETION_WAIT'] must be a number of seconds, not list"),
        ("RECORD_FLUSH_INTERVAL", "0.2", "WORKER['RECORD_FLUSH_INTERVAL'] must be a number of seconds"),
        ("QUEUE_READ_LIMIT", 0, "WORKER['QUEUE_READ_LIMIT'] must be a whole number from 1 to 2147483647"),
        ("MAX_JOBS", 10**30, "WORKER['MAX_JOBS'] must be a whole number from 1 to 2147483647"),
        ("RETRY_JOBS", "yes", "WORKER['RETRY_JOBS'] must be True or False"),
        ("KEEP_RESULT_FOREVER", 1, "WORKER['KEEP_RESULT_FOREVER'] must be True or False"),
        ("QUEUE_NAME", "arq:abort", "WORKER['QUEUE_NAME']: queue name 'arq:abort' names one of arq's own"),
        ("QUEUE_NAME", 5, "WORKER['QUEUE_NAME']: "),
        ("JOB_TIMEOUT", None, "WORKER['JOB_TIMEOUT'] must be a number of seconds, not NoneType"),
        ("MAX_JOBS", None, "WORKER['MAX_JOBS'] must be a whole number from 1 to"),
        ("RECORD_FLUSH_INTERVAL", dt.timedelta(seconds=1), "must be a number of seconds, not timedelta"),
        ("JOB_COMPLETION_WAIT", dt.timedelta(seconds=1), "must be a number of seconds, not timedelta"),
    ],
)
def test_e004_reports_each_bad_worker_value_which_the_worker_refuses_too(
    key: str, value: Any, problem: str
) -> None:
    """Such values once passed the checks, then failed inside arq (a traceback) or spun a CPU."""
    (message,) = e004({"FUNCTIONS": ADD, key: value})
    assert problem in message
    alias = {**REDIS, "WORKER": {"FUNCTIONS": ADD, key: value}}
    with (
        override_settings(ARQ_QUEUES={"default": alias}),
        pytest.raises(ImproperlyConfigured, match=re.escape(problem)),
    ):
        create_worker()


@pytest.mark.parametrize(
    "worker",
    [
        {
            "POLL_DELAY": 0.05,
            "JOB_TIMEOUT": dt.timedelta(minutes=5),
            "KEEP_RESULT": 0,
            "JOB_COMPLETION_WAIT": 0,
        },
        {"QUEUE_READ_LIMIT": None, "RETRY_JOBS": False, "QUEUE_NAME": "reports", "RECORD_FLUSH_INTERVAL": 0},
        {"MAX_JOBS_PER_PROCESS": None, "MAX_MEMORY": None, "KEEP_RESULT": dt.timedelta(days=1)},
    ],
)
def test_e004_takes_good_worker_values(worker: dict[str, Any]) -> None:
    assert e004({"FUNCTIONS": ADD, **worker}) == []
