"""System checks, called directly: what bin/mutate found no test pinning in checks.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings

from django_arq.checks import check_queues

REDIS = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": settings.REDIS_URL, "AUDIT": False}
REMOTE = "redis://redis.example.com:6379/0"


def messages(**alias: Any) -> list[tuple[str, str]]:
    with override_settings(ARQ_QUEUES={"default": {**REDIS, **alias}}):
        return [(str(m.id), m.msg) for m in check_queues()]


def test_w002_for_a_remote_redis_without_any_options() -> None:
    ((check_id, msg),) = messages(REDIS_URL=REMOTE)
    assert check_id == "django_arq.W002"
    assert msg == "ARQ_QUEUES['default'] talks to a non-loopback Redis without TLS or a password."


def test_options_that_are_not_a_dict_are_e001_only() -> None:
    """Whether they would have held a password or ssl is unknown: no W002 on top of the error."""
    assert messages(REDIS_URL=REMOTE, OPTIONS=["ssl"]) == [
        ("django_arq.E001", "ARQ_QUEUES['default']: OPTIONS must be a dict")
    ]


def test_a_dict_functions_entry_is_imported_by_its_function_path() -> None:
    found = messages(WORKER={"FUNCTIONS": ["tests.jobs.add", {"FUNCTION": "tests.jobs.nope"}]})
    expected = "ARQ_QUEUES['default']: WORKER['FUNCTIONS'] entry 'tests.jobs.nope' cannot be imported: "
    assert [m for m in found if m[1].startswith(expected)] == [
        (
            "django_arq.E004",
            f'{expected}ImportError: Module "tests.jobs" does not define a "nope" attribute/class',
        )
    ], found


def test_cron_jobs_that_are_not_a_list_are_one_error_not_one_per_letter() -> None:
    """The worker would try to import 't', 'e', 's', ... one letter at a time and stop at the first."""
    assert messages(WORKER={"FUNCTIONS": ["tests.jobs.add"], "CRON_JOBS": "tests.jobs.add"}) == [
        ("django_arq.E004", "ARQ_QUEUES['default']: WORKER['CRON_JOBS'] must be a list, not str")
    ]
    assert messages(WORKER={"FUNCTIONS": ["tests.jobs.add"], "CRON_JOBS": ()}) == []
