"""Per-function options: the backoff's properties, the retry rule, and every bad FUNCTIONS dict
reported by ``manage.py check`` (E004) in one clear sentence."""

from __future__ import annotations

import math
from typing import Any

import pytest
from arq.worker import Retry
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_arq.checks import check_queues
from django_arq.conf import max_tries
from django_arq.function_options import MAX_SECONDS, FunctionOptions, entry_problems, function_options
from django_arq.queues.retry_policy import Backoff, RetryPolicy, retried

REDIS = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": settings.REDIS_URL, "AUDIT": False}
seconds = st.floats(min_value=0, max_value=MAX_SECONDS, allow_nan=False)
tries = st.integers(min_value=1, max_value=10_000)
draws = st.floats(min_value=0, max_value=1, exclude_max=True)
jitters = st.one_of(st.floats(min_value=0, max_value=1), st.just("full"))


class NotAnException:
    pass


# -- the backoff -------------------------------------------------------------------------------


@given(seconds, seconds, jitters, tries, draws)
def test_delay_is_never_negative_nor_above_max(
    base: float, cap: float, jitter: Any, job_try: int, r: float
) -> None:
    delay = Backoff(base, cap, jitter).delay(job_try, lambda: r)
    assert 0 <= delay <= cap and math.isfinite(delay)


@given(seconds, seconds, tries, tries)
def test_without_jitter_the_delay_never_shrinks(base: float, cap: float, a: int, b: int) -> None:
    backoff = Backoff(base, cap, 0)
    first, second = sorted((a, b))
    assert backoff.delay(first) <= backoff.delay(second)


@given(seconds, seconds, st.floats(min_value=0, max_value=1), tries, draws)
def test_jitter_stays_within_its_fraction(
    base: float, cap: float, jitter: float, job_try: int, r: float
) -> None:
    backoff = Backoff(base, cap, jitter)
    plain = backoff.capped(job_try)
    # float rounding: a few units in the last place of the delay itself (2.5e7 s is off by 7e-9)
    rounding = 4 * math.ulp(plain) + 1e-9
    assert abs(backoff.delay(job_try, lambda: r) - plain) <= plain * jitter * (1 + 1e-9) + rounding


def test_delays_double_from_base_up_to_max() -> None:
    backoff = Backoff(2, 300, 0)
    assert [backoff.delay(n) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert Backoff(2, 300, "full").delay(3, lambda: 0.5) == 4
    assert Backoff(2, 300, 0.1).delay(1, lambda: 0.0) == pytest.approx(1.8)
    assert Backoff(2, 300, 0.1).delay(9, lambda: 0.99) == 300  # jitter never goes above MAX


def test_only_the_listed_exceptions_are_retried_while_tries_remain() -> None:
    policy = RetryPolicy((ConnectionError,), Backoff(1, 10, 0))
    assert policy.defer(ConnectionResetError(), 1, 3) == 1  # a subclass
    assert policy.defer(ConnectionError(), 2, 3) == 2
    assert policy.defer(ConnectionError(), 3, 3) is None  # the last try fails with the exception
    assert policy.defer(ValueError(), 1, 3) is None


async def test_retried_raises_retry_with_the_job_exception_as_cause() -> None:
    async def job(ctx: dict[str, Any]) -> None:
        raise ConnectionError("down")

    wrapped = retried(job, RetryPolicy((ConnectionError,), Backoff(5, 60, 0)), 3)
    with pytest.raises(Retry) as raised:
        await wrapped({"job_try": 2})
    assert raised.value.defer_score == 10_000 and isinstance(raised.value.__cause__, ConnectionError)
    with pytest.raises(ConnectionError):
        await wrapped({"job_try": 3})
    assert retried(job, RetryPolicy(), 3) is job  # no RETRY_ON: the function as it was


def test_jitter_is_symmetric_around_the_capped_delay() -> None:
    backoff = Backoff(10, 300, 0.5)
    assert backoff.delay(1, lambda: 0.5) == 10  # the middle draw: no spread
    assert backoff.delay(1, lambda: 0.75) == 12.5  # a quarter above the middle: half the spread up
    assert backoff.delay(1, lambda: 0.25) == 7.5


async def test_retried_passes_the_job_its_arguments_and_returns_its_value() -> None:
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return ctx, args, kwargs

    wrapped = retried(job, RetryPolicy((ConnectionError,)), 3)
    ctx = {"job_try": 1}
    assert await wrapped(ctx, 1, 2, key="value") == (ctx, (1, 2), {"key": "value"})


# -- FUNCTIONS dicts ---------------------------------------------------------------------------


def test_a_full_entry_is_read() -> None:
    entry = {
        "FUNCTION": "tests.jobs.add",
        "MAX_TRIES": 5,
        "TIMEOUT": 30,
        "KEEP_RESULT": 0,
        "RETRY_ON": ["builtins.ConnectionError", "django.db.OperationalError"],
        "BACKOFF": {"BASE": 2, "MAX": 300, "JITTER": "full"},
    }
    options = function_options(entry)
    from django.db import OperationalError

    assert options == FunctionOptions(
        "tests.jobs.add",
        5,
        30.0,
        0.0,
        RetryPolicy((ConnectionError, OperationalError), Backoff(2.0, 300.0, "full")),
    )
    assert function_options("tests.jobs.add") == FunctionOptions("tests.jobs.add")


BAD_ENTRIES = [
    (42, "must be a dotted path or a dict, not int"),
    ({"MAX_TRIES": 3}, "needs a FUNCTION dotted path"),
    ({"FUNCTION": "tests.jobs.add", "RETRIES": 3}, "unknown keys ['RETRIES']"),
    ({"FUNCTION": "tests.jobs.add", "MAX_TRIES": 0}, "MAX_TRIES must be an integer from 1 to 10000, not 0"),
    ({"FUNCTION": "tests.jobs.add", "MAX_TRIES": True}, "MAX_TRIES must be an integer"),
    ({"FUNCTION": "tests.jobs.add", "MAX_TRIES": 10**30}, "MAX_TRIES must be an integer"),
    ({"FUNCTION": "tests.jobs.add", "TIMEOUT": 0}, "TIMEOUT must be > 0, not 0"),
    ({"FUNCTION": "tests.jobs.add", "TIMEOUT": math.nan}, "TIMEOUT must be a finite number of seconds"),
    ({"FUNCTION": "tests.jobs.add", "TIMEOUT": "30"}, "TIMEOUT must be a number of seconds, not str"),
    ({"FUNCTION": "tests.jobs.add", "KEEP_RESULT": -1}, "KEEP_RESULT must be >= 0, not -1"),
    (
        {"FUNCTION": "tests.jobs.add", "KEEP_RESULT": 1e300},
        "KEEP_RESULT must be a finite number of seconds up to",
    ),
    (  # too large for a float, and for repr: the check says so instead of raising
        {"FUNCTION": "tests.jobs.add", "TIMEOUT": 10**5000},
        "TIMEOUT must be a finite number of seconds up to 31622400, not an int of 16610 bits",
    ),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": {"BASE": 10**400}}, "BACKOFF['BASE'] must be a finite number"),
    (
        {"FUNCTION": "tests.jobs.add", "RETRY_ON": "builtins.OSError"},
        "RETRY_ON must be a list of dotted paths",
    ),
    ({"FUNCTION": "tests.jobs.add", "RETRY_ON": ["nowhere.Error"]}, "'nowhere.Error' cannot be imported"),
    ({"FUNCTION": "tests.jobs.add", "RETRY_ON": [f"{__name__}.NotAnException"]}, "is not an exception class"),
    (
        {"FUNCTION": "tests.jobs.add", "RETRY_ON": [None]},
        "must be dotted paths of exception classes, not NoneType",
    ),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": 2}, "BACKOFF must be a dict"),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": {"BASE": -1}}, "BACKOFF['BASE'] must be >= 0, not -1"),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": {"MAX": math.inf}}, "BACKOFF['MAX'] must be a finite number"),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": {"JITTER": 1.5}}, "JITTER'] must be a fraction from 0 to 1"),
    (
        {"FUNCTION": "tests.jobs.add", "BACKOFF": {"JITTER": "half"}},
        "JITTER'] must be a fraction from 0 to 1",
    ),
    ({"FUNCTION": "tests.jobs.add", "BACKOFF": {"CAP": 3}}, "BACKOFF has unknown keys ['CAP']"),
    ({"FUNCTION": "tests.jobs.add", "MAX_TRIES": 2, "TIMEOUT": "\x00\ud800"}, "TIMEOUT must be a number"),
]


@pytest.mark.parametrize(("entry", "expected"), BAD_ENTRIES)
def test_each_problem_is_one_check_message(entry: Any, expected: str) -> None:
    assert any(expected in problem for problem in entry_problems(entry)), entry_problems(entry)
    worker = {"FUNCTIONS": ["tests.jobs.add", entry]}
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "WORKER": worker}}):
        messages = check_queues()
    assert [m.id for m in messages] == ["django_arq.E004"] * len(messages) and messages
    assert any(expected in m.msg and "\n" not in m.msg for m in messages), [m.msg for m in messages]
    with pytest.raises(ImproperlyConfigured):
        function_options(entry)


def test_every_problem_of_an_entry_is_reported() -> None:
    entry = {"FUNCTION": "tests.jobs.add", "MAX_TRIES": -1, "TIMEOUT": -1, "RETRY_ON": ["nowhere.E"]}
    assert len(entry_problems(entry)) == 3


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.lists(st.text(), max_size=2),
    st.dictionaries(st.text(), st.floats()),
)


# Not too_slow: in a fresh clone (bin/mutate's scratch copies too) Hypothesis's first text draw
# also collects the constants of every module loaded, which takes seconds, once.
@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["MAX_TRIES", "TIMEOUT", "KEEP_RESULT", "RETRY_ON", "BACKOFF"]), anything)
)
def test_hostile_values_are_refused_or_read_never_raised(options: dict[str, Any]) -> None:
    entry = {"FUNCTION": "tests.jobs.add", **options}
    problems = entry_problems(entry)
    if problems:
        with pytest.raises(ImproperlyConfigured):
            function_options(entry)
    else:
        read = function_options(entry)
        assert read.max_tries is None or 1 <= read.max_tries <= 10_000


def test_max_tries_of_a_job_name() -> None:
    worker = {
        "MAX_TRIES": 7,
        "FUNCTIONS": ["tests.jobs.add", {"FUNCTION": "tests.jobs.echo", "MAX_TRIES": 2}],
    }
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "WORKER": worker}}):
        assert (max_tries("default", "tests.jobs.echo"), max_tries("default", "tests.jobs.add")) == (2, 7)
    with override_settings(ARQ_QUEUES={"default": REDIS}):
        assert max_tries("default", "tests.jobs.add") == 5  # arq's default
