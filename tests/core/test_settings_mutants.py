"""``ARQ_QUEUES`` validation, called directly: each problem's key and sentence, and the defaults
filled in (what bin/mutate found no test pinning)."""

from __future__ import annotations

import math
from typing import Any

import django
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_arq.conf import (
    DEFAULT_SETTINGS,
    HEALTH_CHECK_INTERVAL,
    RUN_TASK,
    InvalidQueueAlias,
    allowed_tasks,
    backend_problem,
    config_problems,
    get_config,
    health_check_interval,
    in_memory_backend,
    known_functions,
    queue_settings,
    redis_url_problem,
    tasks_target,
)
from django_arq.queues.base import DEFAULT_ABORT_TIMEOUT

REDIS = "django_arq.RedisArqQueue"
MOCK = "django_arq.MockArqQueue"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://h:6379/0", None),
        ("redis://h", None),
        ("rediss://h:6380/15", None),
        ("unix:///tmp/redis.sock", None),
        ("unix:///tmp/redis.sock?db=2", None),
        (6379, "REDIS_URL must be a string, not int"),
        (None, "REDIS_URL must be a string, not NoneType"),
        ("redis://h:port/0", "REDIS_URL is malformed: Port could not be cast to integer value as 'port'"),
        ("http://h:6379/0", "REDIS_URL must start with one of redis://, rediss://, unix://"),
        ("h:6379", "REDIS_URL must start with one of redis://, rediss://, unix://"),
        ("unix://", "a unix:// REDIS_URL needs a socket path"),
        ("redis://", "REDIS_URL has no host"),
        ("redis://:6379/0", "REDIS_URL has no host"),
        ("redis://h:6379/zero", "REDIS_URL database 'zero' is not a number"),
        ("redis://h:6379/-1", "REDIS_URL database '-1' is not a number"),
        ("redis://h:6379/X", "REDIS_URL database 'X' is not a number"),
        ("redis://h:6379/\u00b2", "REDIS_URL database '\u00b2' is not a number"),  # a digit to isdigit()
        ("redis://h:6379/\u0663", "REDIS_URL database '\u0663' is not a number"),
    ],
)
def test_each_redis_url_problem_in_words(url: Any, problem: str | None) -> None:
    assert redis_url_problem(url) == problem


def test_backend_problems_in_words() -> None:
    assert backend_problem(REDIS) is None
    assert backend_problem(MOCK) is None
    assert backend_problem(7) == "BACKEND must be a dotted path string, not int"
    assert backend_problem("django_arq.conf.DEFAULT_ALIAS") == (
        "BACKEND 'django_arq.conf.DEFAULT_ALIAS' is not an ArqQueue subclass"
    )
    assert backend_problem("django_arq.ArqQueue") is None  # an ArqQueue subclass (itself) is accepted
    problem = backend_problem("no_such_module.Queue")
    assert problem is not None and problem.startswith("BACKEND 'no_such_module.Queue' cannot be imported: ")


def test_only_a_backend_whose_jobs_run_in_process_is_in_memory() -> None:
    assert in_memory_backend(MOCK) is True
    assert in_memory_backend(REDIS) is False
    assert in_memory_backend("no_such_module.Queue") is False
    assert in_memory_backend(None) is False
    assert in_memory_backend("django_arq.conf.DEFAULT_ALIAS") is False


GOOD = {"BACKEND": REDIS, "REDIS_URL": "redis://h:6379/1"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"EXTRA": 1}, ("", f"unknown keys ['EXTRA']; valid keys are {sorted(DEFAULT_SETTINGS)}")),
        (
            {"REDIS_URL": "http://h"},
            ("REDIS_URL", "REDIS_URL must start with one of redis://, rediss://, unix://"),
        ),
        ({"DEFAULT_QUEUE_NAME": ""}, ("DEFAULT_QUEUE_NAME", "DEFAULT_QUEUE_NAME must be a non-empty string")),
        ({"DEFAULT_QUEUE_NAME": 5}, ("DEFAULT_QUEUE_NAME", "DEFAULT_QUEUE_NAME must be a non-empty string")),
        ({"OPTIONS": []}, ("OPTIONS", "OPTIONS must be a dict")),
        (
            {"OPTIONS": {"nope": 1}},
            ("OPTIONS", "OPTIONS has unknown keys ['nope']; valid keys are RedisSettings fields"),
        ),
        ({"WORKER": []}, ("WORKER", "WORKER must be a dict")),
        ({"AUDIT": "yes"}, ("AUDIT", "AUDIT must be True, False or \"immediate\", not 'yes'")),
        (
            {"ABORT_TIMEOUT": -1},
            ("ABORT_TIMEOUT", "ABORT_TIMEOUT must be a number of seconds from 0 to 86400"),
        ),
        (
            {"ABORT_TIMEOUT": "1"},
            ("ABORT_TIMEOUT", "ABORT_TIMEOUT must be a number of seconds from 0 to 86400"),
        ),
        (
            {"ABORT_TIMEOUT": True},
            ("ABORT_TIMEOUT", "ABORT_TIMEOUT must be a number of seconds from 0 to 86400"),
        ),
        *(
            (
                {"ABORT_TIMEOUT": t},
                ("ABORT_TIMEOUT", "ABORT_TIMEOUT must be a number of seconds from 0 to 86400"),
            )
            for t in (math.nan, math.inf, 86400.5, 10**400)
        ),
    ],
)
def test_each_alias_problem_has_its_key_and_sentence(
    change: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert config_problems("default", {**GOOD, **change}) == [expected]


def test_a_serializer_problem_names_the_choices() -> None:
    ((key, sentence),) = config_problems("default", {**GOOD, "SERIALIZER": "yaml"})
    assert key == "SERIALIZER"
    assert sentence.startswith("SERIALIZER must be one of [") and sentence.endswith("], not 'yaml'")
    assert "'json'" in sentence and "'pickle'" in sentence


def test_an_unknown_functions_problem_names_the_choices() -> None:
    assert config_problems("default", {**GOOD, "UNKNOWN_FUNCTIONS": "loud"}) == [
        ("UNKNOWN_FUNCTIONS", 'UNKNOWN_FUNCTIONS must be one of "warn", "error", "ignore", not \'loud\'')
    ]


def test_problems_of_the_alias_as_a_whole() -> None:
    assert config_problems("default", ["x"]) == [("", "must be a dict, not list")]
    assert config_problems("default", {}) == [("BACKEND", "BACKEND is required")]
    assert config_problems("default", {"BACKEND": 1}) == [
        ("BACKEND", "BACKEND must be a dotted path string, not int")
    ]


def test_every_problem_is_reported_not_only_the_first() -> None:
    problems = config_problems("default", {"BACKEND": REDIS, "REDIS_URL": "", "WORKER": 1, "AUDIT": 2})
    assert [key for key, _ in problems] == ["REDIS_URL", "WORKER", "AUDIT"]


def test_a_mock_needs_no_redis_url_and_redis_does() -> None:
    assert config_problems("default", {"BACKEND": MOCK, "REDIS_URL": "not a url"}) == []
    assert config_problems("default", {"BACKEND": REDIS, "REDIS_URL": "not a url"})[0][0] == "REDIS_URL"


@pytest.mark.parametrize("value", [0, 0.5, 7])
def test_abort_timeouts_accepted(value: float) -> None:
    assert config_problems("default", {**GOOD, "ABORT_TIMEOUT": value}) == []


def test_get_config_fills_every_default() -> None:
    with override_settings(ARQ_QUEUES={"q": {"BACKEND": REDIS}}):
        config = get_config("q")
    assert (config.alias, config.backend, config.redis_url) == ("q", REDIS, "redis://localhost:6379/0")
    assert (config.default_queue_name, config.options, config.serializer) == ("arq:queue", {}, "pickle")
    assert (config.audit, config.abort_timeout, config.worker) == (True, float(DEFAULT_ABORT_TIMEOUT), {})
    assert type(config.abort_timeout) is float


def test_get_config_keeps_what_is_set() -> None:
    raw = {
        "BACKEND": MOCK,
        "REDIS_URL": "redis://other:1/2",
        "DEFAULT_QUEUE_NAME": "mine",
        "OPTIONS": {"conn_timeout": 3},
        "SERIALIZER": "json",
        "AUDIT": "immediate",
        "ABORT_TIMEOUT": 4,
        "WORKER": {"FUNCTIONS": ["tests.jobs.add", {"FUNCTION": "tests.jobs.echo"}, {"MAX_TRIES": 2}, 5]},
    }
    with override_settings(ARQ_QUEUES={"m": raw}):
        config = get_config("m")
        assert allowed_tasks("m") == {"tests.jobs.add", "tests.jobs.echo"}
    assert (config.backend, config.redis_url, config.default_queue_name) == (
        MOCK,
        "redis://other:1/2",
        "mine",
    )
    assert (config.options, config.serializer, config.audit, config.abort_timeout) == (
        {"conn_timeout": 3}, "json", "immediate", 4.0,
    )  # fmt: skip


def test_get_config_refusals_in_words() -> None:
    with override_settings(ARQ_QUEUES=["default"]):
        with pytest.raises(ImproperlyConfigured) as info:
            get_config()
        assert str(info.value) == "ARQ_QUEUES must be a dict of aliases, not list"
    with override_settings(ARQ_QUEUES={"a": {"BACKEND": REDIS}, "b": {"BACKEND": REDIS}}):
        with pytest.raises(InvalidQueueAlias) as info:
            get_config("c")
        assert str(info.value) == "ARQ_QUEUES has no alias 'c' (aliases: ['a', 'b'])"
    with override_settings(ARQ_QUEUES={"a": {"BACKEND": REDIS, "WORKER": 1, "AUDIT": 2}}):
        with pytest.raises(ImproperlyConfigured) as info:
            get_config("a")
        assert str(info.value) == (
            "ARQ_QUEUES['a']: WORKER must be a dict; AUDIT must be True, False or \"immediate\", not 2"
        )


def test_without_arq_queues_one_default_alias_on_local_redis() -> None:
    with override_settings():
        from django.conf import settings

        del settings.ARQ_QUEUES
        assert queue_settings() == {"default": {"BACKEND": REDIS}}


@pytest.mark.parametrize(
    ("worker", "seconds"),
    [
        ({}, HEALTH_CHECK_INTERVAL),
        ({"HEALTH_CHECK_INTERVAL": 3}, 3.0),
        ({"HEALTH_CHECK_INTERVAL": 0.5}, 0.5),
        ({"HEALTH_CHECK_INTERVAL": 0}, HEALTH_CHECK_INTERVAL),
        ({"HEALTH_CHECK_INTERVAL": -1}, HEALTH_CHECK_INTERVAL),
        ({"HEALTH_CHECK_INTERVAL": "5"}, HEALTH_CHECK_INTERVAL),
    ],
)
def test_health_check_interval(worker: dict[str, Any], seconds: float) -> None:
    with override_settings(ARQ_QUEUES={"h": {"BACKEND": REDIS, "WORKER": worker}}):
        value = health_check_interval("h")
    assert value == seconds and type(value) is float
    assert HEALTH_CHECK_INTERVAL == 10


def test_functions_that_are_not_a_list_allow_no_task() -> None:
    """A string is not read as a list of one-letter names (check E004 reports the setting)."""
    for functions in ("tests.jobs.add", 5, None):
        with override_settings(ARQ_QUEUES={"f": {"BACKEND": REDIS, "WORKER": {"FUNCTIONS": functions}}}):
            assert allowed_tasks("f") == set()


class StandInBackend:
    """What ``tasks_target`` reads of an ``ArqBackend`` subclass: a class from ``django_arq.tasks``
    in its MRO (the real one imports only on Django >= 6; bin/mutate runs on Django 5.2)."""


StandInBackend.__module__ = "django_arq.tasks.backend"
HERE = "tests.core.test_settings_mutants"
TASKS_BACKENDS = [
    f"{HERE}.StandInBackend",
    pytest.param(
        "django_arq.tasks.ArqBackend",
        marks=pytest.mark.skipif(django.VERSION < (6,), reason="django.tasks needs Django 6"),
    ),
]


@pytest.mark.parametrize("backend", TASKS_BACKENDS)
def test_tasks_target_finds_the_alias_a_django_arq_tasks_backend_sends_to(backend: str) -> None:
    """Entries that are not dicts, target another alias, cannot be imported or are not classes
    are skipped, also before the one that matches."""
    tasks = {
        "broken": "not a dict",
        "elsewhere": {"BACKEND": backend, "OPTIONS": {"ALIAS": "elsewhere"}},
        "typo": {"BACKEND": "no_such_module.Backend", "OPTIONS": {"ALIAS": "other"}},
        "no backend": {"OPTIONS": {"ALIAS": "other"}},
        "a function": {"BACKEND": "django_arq.conf.tasks_target", "OPTIONS": {"ALIAS": "other"}},
        "not ours": {"BACKEND": REDIS, "OPTIONS": {"ALIAS": "other"}},
        "ours": {"BACKEND": backend, "OPTIONS": {"ALIAS": "other"}},
    }
    with override_settings(TASKS=tasks):
        assert tasks_target("other") is True
        assert tasks_target("elsewhere") is True
        assert tasks_target("default") is False
    with override_settings(TASKS={k: v for k, v in tasks.items() if k != "ours"}):
        assert tasks_target("other") is False


@pytest.mark.parametrize("backend", TASKS_BACKENDS)
@pytest.mark.parametrize("options", [{}, {"OPTIONS": None}, {"OPTIONS": {}}])
def test_a_tasks_backend_without_an_alias_sends_to_default(backend: str, options: dict[str, Any]) -> None:
    with override_settings(TASKS={"default": {"BACKEND": backend, **options}}):
        assert tasks_target("default") is True
        assert tasks_target("other") is False


def test_no_tasks_setting_targets_no_alias() -> None:
    with override_settings(TASKS={}):
        assert tasks_target("default") is False
    with override_settings():
        from django.conf import settings

        if hasattr(settings, "TASKS"):
            del settings.TASKS
        assert tasks_target("default") is False


def test_known_functions_add_run_task_where_tasks_are_sent() -> None:
    functions = {"BACKEND": REDIS, "WORKER": {"FUNCTIONS": ["tests.jobs.add"]}}
    with override_settings(
        ARQ_QUEUES={"default": functions, "other": functions},
        TASKS={"default": {"BACKEND": f"{HERE}.StandInBackend", "OPTIONS": {"ALIAS": "other"}}},
    ):
        assert known_functions("other") == ("warn", frozenset({"tests.jobs.add", RUN_TASK}))
        assert known_functions("default") == ("warn", frozenset({"tests.jobs.add"}))
