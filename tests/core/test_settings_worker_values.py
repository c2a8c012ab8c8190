"""The values conf reads from an alias's WORKER and ``ARQ_TRACE_URL``, called directly: a worker's
lost-after time and tries, a function's options, the tracing switch, a trace's address."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_arq.conf import (
    MAX_TRIES,
    config_problems,
    configured_functions,
    get_config,
    lost_after,
    max_tries,
    trace_url,
)
from django_arq.queues.heartbeats import LOST_AFTER

REDIS = "django_arq.RedisArqQueue"


def worker(**values: Any) -> Any:
    return override_settings(ARQ_QUEUES={"w": {"BACKEND": REDIS, "WORKER": values}})


@pytest.mark.parametrize(("value", "seconds"), [(1, 1.0), (30, 30.0), (86400, 86400.0), (2.5, 2.5)])
def test_a_usable_lost_after_is_read_as_seconds(value: Any, seconds: float) -> None:
    with worker(LOST_AFTER=value):
        got = lost_after("w")
    assert got == seconds and type(got) is float


@pytest.mark.parametrize("value", [None, 0, 0.5, 86401, True, "30"])
def test_a_missing_or_unusable_lost_after_is_the_default(value: Any) -> None:
    with worker(**({} if value is None else {"LOST_AFTER": value})):
        assert lost_after("w") == LOST_AFTER


def test_configured_functions_are_the_valid_entries_by_path() -> None:
    functions = ["tests.jobs.add", {"FUNCTION": "tests.jobs.echo", "MAX_TRIES": 2}, {"MAX_TRIES": 3}, 5]
    with worker(FUNCTIONS=functions):
        options = configured_functions("w")
    assert sorted(options) == ["tests.jobs.add", "tests.jobs.echo"]
    assert (options["tests.jobs.add"].max_tries, options["tests.jobs.echo"].max_tries) == (None, 2)


@pytest.mark.parametrize("functions", [None, "tests.jobs.add", {"FUNCTION": "tests.jobs.add"}])
def test_functions_that_are_not_a_list_configure_none(functions: Any) -> None:
    with worker(**({} if functions is None else {"FUNCTIONS": functions})):
        assert configured_functions("w") == {}


def test_a_functions_max_tries_comes_before_the_workers() -> None:
    functions = ["tests.jobs.add", {"FUNCTION": "tests.jobs.echo", "MAX_TRIES": 2}]
    with worker(FUNCTIONS=functions, MAX_TRIES=7):
        assert (max_tries("w", "tests.jobs.echo"), max_tries("w", "tests.jobs.add")) == (2, 7)
        assert max_tries("w", "tests.jobs.unknown") == 7


@pytest.mark.parametrize("value", [None, 0, -3, True, 2.0, "4"])
def test_a_missing_or_unusable_worker_max_tries_is_the_default(value: Any) -> None:
    with worker(FUNCTIONS=["tests.jobs.add"], **({} if value is None else {"MAX_TRIES": value})):
        assert max_tries("w", "tests.jobs.add") == MAX_TRIES


def test_one_try_is_a_usable_max_tries() -> None:
    with worker(MAX_TRIES=1):
        assert max_tries("w", "tests.jobs.add") == 1


def test_a_tracing_that_is_not_a_bool_is_named_with_its_value() -> None:
    assert config_problems("w", {"BACKEND": REDIS, "TRACING": "yes"}) == [
        ("TRACING", "TRACING must be True or False, not 'yes'")
    ]


@pytest.mark.parametrize("value", [True, False])
def test_the_config_carries_the_tracing_switch(value: bool) -> None:
    with override_settings(ARQ_QUEUES={"default": {"BACKEND": REDIS, "TRACING": value}}):
        assert get_config().tracing is value


def test_a_trace_id_is_quoted_whole_in_the_address() -> None:
    with override_settings(ARQ_TRACE_URL="https://tempo.example/trace/{trace_id}"):
        assert trace_url("a/b c") == "https://tempo.example/trace/a%2Fb%20c"
