"""Property tests: whatever arguments a caller sends and whatever a job returns, its record
equals what Redis holds (modulo the documented escaping), and later records are still written."""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_arq import JobSpec, get_queue
from django_arq.audit.recorder import Creation, JobRecorder
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Characters of any kind, and those a database refuses or a JSON writer escapes, often.
characters = st.one_of(
    st.characters(),
    st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\\", '"', "\n", "\U0001f600"]),
)
texts = st.text(characters, max_size=12)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**100, -(2**1000), 5e-324, 1e308, -1e-300, -0.0]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)


def nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)
#: JSON of any shape, sometimes nested deeper than a record keeps as it is.
payloads = st.one_of(json_values, st.builds(nest, json_values, st.integers(0, 60)))
keywords = st.dictionaries(texts.filter(lambda key: not key.startswith("_")), payloads, max_size=3)

_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\x00\ud800-\udfff]")


def _stored_text(text: str) -> str:
    """The documented escaping: a surrogate pair becomes its character, NUL and lone ones U+FFFD."""

    def replace(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) == 2:
            return found.encode("utf-16", "surrogatepass").decode("utf-16")
        return "\ufffd"

    return _SURROGATES.sub(replace, text)


def stored(value: Any) -> Any:
    """What a record holds for ``value`` as Redis holds it."""
    if isinstance(value, str):
        return _stored_text(value)
    if isinstance(value, list | tuple):
        return [stored(v) for v in value]
    if isinstance(value, dict):
        return {_stored_text(k): stored(v) for k, v in value.items()}
    return value


def same(record: Any, expected: Any) -> bool:
    """Equal values; a float equals the number PostgreSQL's jsonb gives back for it (1e308 comes
    back as the integer 10**308: jsonb keeps a number's value, not its notation)."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(record) is type(expected) and record == expected
    if isinstance(expected, int):
        return type(record) is int and record == expected
    if isinstance(expected, float):
        return isinstance(record, int | float) and not isinstance(record, bool) and float(record) == expected
    if isinstance(expected, list):
        return isinstance(record, list) and len(record) == len(expected) and all(map(same, record, expected))
    assert isinstance(expected, dict)
    return (
        isinstance(record, dict)
        and record.keys() == expected.keys()
        and all(same(record[k], v) for k, v in expected.items())
    )


def test_the_comparison_is_strict() -> None:
    assert same([1, "a", {"k": 1.5}], [1, "a", {"k": 1.5}])
    assert same(10**308, 1e308) and same(0, -0.0)
    assert not same(1, True) and not same([1], [1, 2]) and not same({"a": 1}, {"a": "1"})
    assert not same(1.5, 2.0) and not same("1", 1) and not same(None, [])
    assert stored(["a\x00", "\ud83d\ude00", {"\udc00": "x"}]) == ["a\ufffd", "\U0001f600", {"\ufffd": "x"}]
    assert math.isclose(float(10**308), 1e308)


@PROPERTY
@given(args=st.lists(payloads, max_size=4), kwargs=keywords, how=st.sampled_from(["sync", "async", "many"]))
def test_records_of_any_arguments_equal_what_redis_holds(
    queue_name: str, args: list[Any], kwargs: dict[str, Any], how: str
) -> None:
    queue = get_queue()
    if how == "sync":
        meta = queue.enqueue_sync("tests.jobs.echo", *args, _queue_name=queue_name, **kwargs)
    elif how == "async":
        meta = async_to_sync(queue.enqueue)("tests.jobs.echo", *args, _queue_name=queue_name, **kwargs)
    else:
        (meta,) = queue.enqueue_many_sync([JobSpec("tests.jobs.echo", tuple(args), kwargs, queue_name)])
    after = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert flush_records(10)
    in_redis = queue.get_job_metadata_sync(meta.id, queue_name)
    record = JobRecord.objects.get(alias="default", job_id=meta.id)
    assert same(record.args, stored(list(in_redis.args))), (record.args, in_redis.args)
    assert same(record.kwargs, stored(dict(in_redis.kwargs))), (record.kwargs, in_redis.kwargs)
    assert JobRecord.objects.get(alias="default", job_id=after.id).args == [1, 2]  # the writer goes on


@PROPERTY
@given(result=payloads, error=texts)
def test_records_of_any_results_equal_what_the_job_returned(result: Any, error: str) -> None:
    """The worker's recorder, from the job's start to its end, on the real database."""
    recorder = JobRecorder("default", "q")
    run = uuid.uuid4().hex
    job_ids = [f"prop-{run}-{i}" for i in range(3)]
    try:
        for job_id in job_ids:
            ctx = {"job_id": job_id, "enqueue_time": T0, "job_try": 1}
            recorder.job_started(ctx, "tests.jobs.echo", (result,), {"e": error})
        recorder.job_returned(job_ids[0], result)
        try:
            raise ValueError(error)
        except ValueError as exc:
            recorder.job_raised(job_ids[1], exc, aborted=False)
        recorder.job_returned(job_ids[2], 1)
        for job_id in job_ids:
            recorder.job_ended(job_id, finished=True, deferred=False)
        batch, recorder._pending = recorder._pending, {}
        recorder._write(batch)
    finally:
        recorder._executor.shutdown()
    records = {r.job_id: r for r in JobRecord.objects.filter(job_id__in=job_ids)}
    returned, raised, plain = (records[job_id] for job_id in job_ids)
    assert same(returned.result, stored(result)) and returned.success is True
    assert same(returned.args, stored([result])) and same(returned.kwargs, {"e": stored(error)})
    last_line = (f"ValueError: {stored(error)}" if error else "ValueError").rstrip()  # as a traceback ends
    assert raised.success is False and raised.error.endswith(last_line)
    assert (plain.status, plain.result) == ("complete", 1)


def test_creation_values_are_storable() -> None:
    fields = Creation("n\x00", ("\ud800",), {"k": "\x00"}, T0, "q").fields()
    expected = ("n\ufffd", '["\\ufffd"]', '{"k": "\\ufffd"}')
    assert (fields["name"], fields["args"], fields["kwargs"]) == expected
