"""Property tests: whatever a caller sends, enqueue either refuses it clearly or keeps it exactly.

Through ``enqueue`` and ``enqueue_many`` (async, and their sync twins) on both backends, with
both serializers. A job is read back with ``get_job_metadata`` from the queue it went to; no
worker serves these queues, so nothing changes a job between the two calls.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_arq import ArqJobError, ArqQueue, JobSpec, MockArqQueue, RedisArqQueue

from .strategies import (
    ENQUEUE_NAMES,
    any_text,
    deep,
    delays,
    job_ids,
    json_args,
    kwargs_of,
    pickle_args,
    queue_names,
)

pytestmark = pytest.mark.django_db

PROPERTY = hsettings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(params=["redis-pickle", "redis-json", "mock-pickle", "mock-json"])
def queue(request: pytest.FixtureRequest, redis_url: str):
    backend, serializer = request.param.split("-")
    idle = f"{settings.TEST_QUEUE}:properties-{uuid.uuid4().hex}"  # served by no worker
    q: ArqQueue
    if backend == "redis":
        q = RedisArqQueue(redis_url, default_queue_name=idle, serializer=serializer)
    else:
        q = MockArqQueue(default_queue_name=idle, serializer=serializer)
    yield q
    q.close()


def args_for(queue: ArqQueue) -> st.SearchStrategy[Any]:
    return pickle_args if queue.serializer.name == "pickle" else json_args


def enqueue_one(queue: ArqQueue, spec: JobSpec, how: str) -> Any:
    """Enqueue ``spec`` by one of the four entry points."""
    if how == "enqueue_many":
        return asyncio.run(queue.enqueue_many([spec]))[0]
    if how == "enqueue_many_sync":
        return queue.enqueue_many_sync([spec])[0]
    options = {
        "_queue_name": spec.queue_name,
        "_job_id": spec.job_id,
        "_defer_by": spec.defer_by,
        "_expires": spec.expires,
    }
    if how == "enqueue":
        return asyncio.run(queue.enqueue(spec.name, *spec.args, **options, **spec.kwargs))
    return queue.enqueue_sync(spec.name, *spec.args, **options, **spec.kwargs)


def check_kept_or_refused(queue: ArqQueue, make_spec: Any, how: str) -> None:
    """Either a clear error (one line, an ``ArqJobError``/``ValueError``) or an exact read-back."""
    try:
        spec = make_spec()
        meta = enqueue_one(queue, spec, how)
    except (ArqJobError, ValueError) as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        event(f"refused: {type(exc).__name__}")
        return
    event("kept")
    read = queue.get_job_metadata_sync(meta.id, meta.queue_name)
    assert read == meta
    assert (read.name, read.args, read.kwargs) == (spec.name, tuple(spec.args), dict(spec.kwargs))
    assert read.queue_name == (spec.queue_name or queue.default_queue_name)
    if spec.job_id:
        assert read.id == spec.job_id


@st.composite
def data_for(draw: st.DrawFn, queue: ArqQueue, how: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    values = args_for(queue)
    args = draw(st.lists(st.one_of(values, deep()), max_size=4))
    reserved = ENQUEUE_NAMES if how.startswith("enqueue") and "many" not in how else frozenset()
    return tuple(args), draw(kwargs_of(values, reserved))


HOW = st.sampled_from(["enqueue", "enqueue_sync", "enqueue_many", "enqueue_many_sync"])


@PROPERTY
@given(data=st.data(), how=HOW)
def test_any_arguments_are_kept_exactly_or_refused(queue: ArqQueue, data: st.DataObject, how: str) -> None:
    args, kwargs = data.draw(data_for(queue, how))
    check_kept_or_refused(queue, lambda: JobSpec("tests.jobs.echo", args, kwargs), how)


@PROPERTY
@given(
    data=st.data(),
    how=HOW,
    name=st.one_of(st.just("tests.jobs.echo"), any_text),
    job_id=job_ids,
    queue_name=queue_names,
    defer_by=delays,
    expires=delays,
)
def test_any_names_ids_queues_and_delays_are_kept_or_refused(
    queue: ArqQueue,
    data: st.DataObject,
    how: str,
    name: str,
    job_id: str | None,
    queue_name: str | None,
    defer_by: Any,
    expires: Any,
) -> None:
    args, kwargs = data.draw(data_for(queue, how))
    if job_id:
        job_id = f"{job_id}-{uuid.uuid4().hex}"  # examples must not collide with earlier ones
    check_kept_or_refused(
        queue,
        lambda: JobSpec(name, args, kwargs, queue_name, job_id, defer_by=defer_by, expires=expires),
        how,
    )
