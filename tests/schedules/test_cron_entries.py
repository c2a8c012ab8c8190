"""CRON_JOBS entries arq could never run are refused before a worker computes their next run:
``hour=99``, an empty set or ``month=2, day=30`` once made arq's ``next_cron`` search forever
(a worker spinning, deaf to SIGTERM; ``arq_schedules`` and the admin hanging)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from arq import cron
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_arq.checks import check_queues
from django_arq.schedules import schedule_problems
from django_arq.schedules.configured import configured_cron_jobs
from django_arq.schedules.cron_entries import cron_of_entry, cron_of_path, cron_problem
from django_arq.schedules.timing import MAX_INTERVAL
from django_arq.worker.functions import cron_job
from tests.settings import REDIS_URL

NEVER = [
    ({"HOUR": 99}, "hour=99: give a whole number from 0 to 23, or a non-empty set of them"),
    ({"MINUTE": set()}, "minute=set(): give a whole number from 0 to 59"),
    ({"MINUTE": frozenset({0, 30})}, "minute=frozenset({0, 30}): give"),  # arq matches sets, not these
    ({"HOUR": "three"}, "hour='three': give a whole number from 0 to 23"),
    ({"SECOND": {0, 60}}, "second={0, 60}: give a whole number from 0 to 59"),
    ({"MONTH": 0}, "month=0: give a whole number from 1 to 12"),
    (
        {"WEEKDAY": "someday"},
        "weekday='someday': give a whole number from 0 to 6, or a non-empty set of them, or one name",
    ),
    (  # arq's names, which next_cron looks up: "tue" made it raise in the worker
        {"WEEKDAY": "tue"},
        "weekday='tue': give a whole number from 0 to 6, or a non-empty set of them, or one name (mon, tues,",
    ),
    ({"WEEKDAY": 7}, "weekday=7: give a whole number from 0 to 6, or a non-empty set of them, or one name"),
    ({"DAY": True}, "day=True: give a whole number from 1 to 31"),
    ({"MICROSECOND": -1}, "microsecond=-1: give a whole number from 0 to 999999"),
    ({"MONTH": 2, "DAY": 30}, "day=30 falls in no month=2: the job would never run"),
    ({"MONTH": {4, 6, 9, 11}, "DAY": 31}, "day=31 falls in no month={"),
    ({"BOGUS": 1}, "unexpected keyword argument 'bogus'"),
]


def aliased(*entries: Any) -> Any:
    """Settings with these CRON_JOBS in the default alias."""
    alias = {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "WORKER": {"CRON_JOBS": list(entries)},
    }
    return override_settings(ARQ_QUEUES={"default": alias})


RUNS = [
    {},
    {"HOUR": 3},
    {"MONTH": 2, "DAY": 29},
    {"MONTH": {2, 3}, "DAY": 30},
    {"WEEKDAY": "Mon"},
    {"WEEKDAY": "thurs"},  # arq's name for Thursday
    {"DAY": {1, 31}},
]


@pytest.mark.parametrize(("options", "problem"), NEVER)
def test_an_entry_that_could_never_run_is_refused_saying_why(options: dict[str, Any], problem: str) -> None:
    entry = {"FUNCTION": "tests.jobs.add", **options}
    with pytest.raises(ImproperlyConfigured) as refused:
        cron_of_entry(entry)
    assert str(refused.value).startswith("CRON_JOBS entry for 'tests.jobs.add': ")
    assert problem in str(refused.value)
    with pytest.raises(ImproperlyConfigured, match=r"CRON_JOBS entry for 'tests\.jobs\.add'"):
        cron_job(entry)  # the worker's build
    with aliased(entry):
        messages = check_queues()
        (listed,) = configured_cron_jobs("default")
    assert [m.id for m in messages] == ["django_arq.E004"]
    assert problem in messages[0].msg
    assert (listed.next_run, problem in listed.error) == (None, True)


@pytest.mark.parametrize("options", RUNS)
def test_entries_that_can_run_are_taken(options: dict[str, Any]) -> None:
    job = cron_of_entry({"FUNCTION": "tests.jobs.add", **options})
    assert cron_problem(job) is None
    with aliased({"FUNCTION": "tests.jobs.add", **options}):
        assert check_queues() == []
        (listed,) = configured_cron_jobs("default")
    assert listed.error == "" and listed.next_run is not None


async def _tick(ctx: dict[str, Any]) -> None:
    """A cron function for the CronJob objects below."""


#: A CronJob made with arq's own ``cron()`` (a dotted path in CRON_JOBS), which checks no value.
NEVER_JOB = cron(_tick, hour=99)


def test_a_cron_job_object_that_could_never_run_is_refused_too() -> None:
    path = f"{__name__}.NEVER_JOB"
    with pytest.raises(ImproperlyConfigured, match=r"hour=99: give a whole number from 0 to 23"):
        cron_job(path)
    with aliased(path):
        (message,) = check_queues()
        (listed,) = configured_cron_jobs("default")
    assert "hour=99" in message.msg and "hour=99" in listed.error


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("tests.jobs.nope", "'tests.jobs.nope' cannot be imported: ImportError: "),
        ("no_such_package.tick", "'no_such_package.tick' cannot be imported: ModuleNotFoundError: "),
        ("tests.jobs.add", "'tests.jobs.add' is not an arq CronJob (arq.cron(...))"),
        (f"{__name__}.NEVER_JOB", f"'{__name__}.NEVER_JOB': hour=99: give a whole number from 0 to 23"),
    ],
)
def test_a_dotted_path_is_refused_in_the_same_words_by_the_worker_the_check_and_the_list(
    path: str, problem: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        cron_job(path)  # the worker's build
    assert str(refused.value).startswith(f"CRON_JOBS entry {problem}")
    with aliased(path):
        (message,) = check_queues()
        (listed,) = configured_cron_jobs("default")
    assert f"ARQ_QUEUES['default']: WORKER['CRON_JOBS'] entry {problem}" in message.msg
    assert listed.error.startswith(f"CRON_JOBS entry {problem}") and listed.next_run is None


def test_a_module_that_raises_on_import_is_a_refusal_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_cron_module.py").write_text("raise RuntimeError('typo on line 1')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match=r"cannot be imported: RuntimeError: typo on line 1"):
        cron_of_path("broken_cron_module.tick")


def test_schedules_refuse_the_enqueues_own_options_as_kwargs_and_intervals_too_long() -> None:
    values = {"alias": "default", "function": "tests.jobs.add", "time_zone": "UTC"}
    taken = schedule_problems({**values, "interval": 60, "kwargs": {"_job_id": "x", "_defer_by": 1, "n": 1}})
    assert taken == {
        "kwargs": "_defer_by, _job_id: names the enqueue keeps for itself, not arguments of the job."
    }
    assert schedule_problems({**values, "interval": MAX_INTERVAL}) == {}
    too_long = schedule_problems({**values, "interval": MAX_INTERVAL + 1})
    assert too_long == {"interval": f"The interval must be at most {MAX_INTERVAL} seconds (about 68 years)."}
