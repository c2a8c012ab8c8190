"""Enqueue metrics of a web process: jobs counted per alias and queue, each call timed, on real Redis."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from django_arq import JobNotQueued, JobSpec, get_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("metrics_on")]


def enqueued(queue: str) -> float:
    return (
        REGISTRY.get_sample_value("django_arq_jobs_enqueued_total", {"alias": "default", "queue": queue}) or 0
    )


def enqueue_calls() -> float:
    return REGISTRY.get_sample_value("django_arq_enqueue_duration_seconds_count", {"alias": "default"}) or 0


async def test_async_enqueue_and_bulk_are_counted(queue_name: str) -> None:
    before, calls = enqueued(queue_name), enqueue_calls()
    queue = get_queue()
    await queue.enqueue("tests.jobs.add", 1, 2, _queue_name=queue_name)
    await queue.enqueue_many([JobSpec("tests.jobs.add", (i, i), queue_name=queue_name) for i in range(5)])
    assert enqueued(queue_name) - before == 6
    assert enqueue_calls() - calls == 2  # a bulk enqueue is one call
    await queue.aclose()


def test_sync_enqueue_is_counted_and_a_refused_one_is_not(queue_name: str) -> None:
    before, calls = enqueued(queue_name), enqueue_calls()
    queue = get_queue()
    queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id=f"{queue_name}-1")
    with pytest.raises(JobNotQueued):
        queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id=f"{queue_name}-1")
    assert enqueued(queue_name) - before == 1
    assert enqueue_calls() - calls == 1
    assert REGISTRY.get_sample_value("django_arq_enqueue_duration_seconds_sum", {"alias": "default"}) > 0


def test_queue_names_beyond_the_bound_are_counted_together(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_arq.metrics import enqueue

    monkeypatch.setattr(enqueue, "MAX_QUEUES", 3)
    queue = get_queue("mock")
    names = [f"flood-{i}" for i in range(7)]
    before = (
        REGISTRY.get_sample_value("django_arq_jobs_enqueued_total", {"alias": "mock", "queue": "<other>"})
        or 0
    )
    queue.enqueue_many_sync([JobSpec("tests.jobs.add", (1, 1), queue_name=n) for n in names * 2])

    def count(name: str) -> float | None:
        return REGISTRY.get_sample_value("django_arq_jobs_enqueued_total", {"alias": "mock", "queue": name})

    assert [count(n) for n in names] == [2, 2, 2, None, None, None, None]
    assert count("<other>") - before == 8
