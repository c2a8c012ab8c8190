"""WORKER values of any type or size, against ``worker_problems`` and ``create_worker``.

Whatever a settings file holds, the check says what is wrong in sentences (it never raises),
and a worker is built exactly when it says nothing: with numbers arq can use (finite, positive
where a zero would make it spin or never run, whole where it counts).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from django_arq.worker import create_worker, worker_problems
from tests.worker.test_build import build

#: Values a settings file can hold: plausible ones, and at the edges, huge, not finite, of wrong types.
ANY_VALUE = st.one_of(
    st.integers(1, 1000),
    st.floats(0.01, 1000),
    st.booleans(),
    st.one_of(
        st.none(),
        st.integers(-2, 0),
        st.integers(2**31 - 2, 2**31 + 1),
        st.integers(min_value=10**400, max_value=10**401),
        st.floats(allow_nan=True, allow_infinity=True),
        st.timedeltas(),
        st.sampled_from([Decimal("1.5"), Fraction(1, 2), "1", b"1", [1], {"s": 1}, 1j]),
    ),
)
QUEUE_NAMES = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
    st.sampled_from(["arq:abort", "arq:queue", "arq:result:x", "", "jobs"]),
)
KEYS = [
    "MAX_JOBS",
    "JOB_TIMEOUT",
    "KEEP_RESULT",
    "KEEP_RESULT_FOREVER",
    "MAX_TRIES",
    "POLL_DELAY",
    "QUEUE_READ_LIMIT",
    "ALLOW_ABORT_JOBS",
    "RETRY_JOBS",
    "HEALTH_CHECK_INTERVAL",
    "JOB_COMPLETION_WAIT",
    "RECORD_FLUSH_INTERVAL",
    "RECORD_BATCH_SIZE",
    "PROGRESS_INTERVAL",
    "LOST_AFTER",
    "MAX_JOBS_PER_PROCESS",
    "MAX_MEMORY",
]
#: A few keys at a time, so that about as many dicts are valid as not.
WORKERS = st.lists(
    st.one_of(st.tuples(st.sampled_from(KEYS), ANY_VALUE), st.tuples(st.just("QUEUE_NAME"), QUEUE_NAMES)),
    max_size=4,
).map(lambda pairs: {"FUNCTIONS": ["tests.jobs.add"], **dict(pairs)})


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else value


def _positive(value: Any, zero: bool = False) -> bool:
    seconds = _seconds(value)
    return (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and math.isfinite(seconds)
        and (seconds >= 0 if zero else seconds > 0)
    )


def _count(value: Any) -> bool:
    return type(value) is int and value >= 1


@settings(max_examples=300)
@given(WORKERS)
@example({"FUNCTIONS": ["tests.jobs.add"], "POLL_DELAY": 0})
@example({"FUNCTIONS": ["tests.jobs.add"], "POLL_DELAY": "fast"})
@example({"FUNCTIONS": ["tests.jobs.add"], "JOB_TIMEOUT": timedelta(days=-1)})
@example({"FUNCTIONS": ["tests.jobs.add"], "KEEP_RESULT": float("nan")})
@example({"FUNCTIONS": ["tests.jobs.add"], "QUEUE_NAME": "arq:abort"})
@example({"FUNCTIONS": ["tests.jobs.add"], "MAX_JOBS": 10**400})
def test_a_worker_is_built_exactly_when_the_check_finds_nothing_and_its_numbers_are_usable(
    worker: dict[str, Any],
) -> None:
    problems = worker_problems(worker)
    assert all(isinstance(p, str) and p for p in problems)
    try:
        built = build(**worker)
    except ImproperlyConfigured as exc:
        assert problems, f"refused, though the check found nothing: {exc}"
        assert all(p in str(exc) for p in problems)
        event("refused")
        return
    event("built")
    assert not problems, f"built, though the check says {problems}"
    assert all(_count(n) for n in (built.max_jobs, built.max_tries, built.queue_read_limit))
    assert all(_positive(s) for s in (built.poll_delay_s, built.job_timeout_s, built.health_check_interval))
    assert _positive(built.keep_result_s, zero=True) and _positive(built.lost_after)
    assert _positive(built.recorder.flush_interval, zero=True) and _positive(
        built.progress_interval, zero=True
    )
    assert isinstance(built.queue_name, str) and built.queue_name
    assert all(
        isinstance(f, bool) for f in (built.keep_result_forever, built.allow_abort_jobs, built.retry_jobs)
    )


def test_the_factory_and_the_check_share_their_verdict_on_an_override() -> None:
    # a value given to create_worker is checked as the setting would be, and named as the argument
    try:
        create_worker(handle_signals=False, metrics_port=70000)
    except ImproperlyConfigured as exc:
        assert str(exc).startswith("metrics_port must be a port number")
    else:
        raise AssertionError("a metrics port of 70000 was taken")
