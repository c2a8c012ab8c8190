"""A worker's job metrics, from a real arq worker run in-process on real Redis: every outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from django_arq import get_queue
from django_arq.metrics import job_lost
from django_arq.worker import create_worker
from tests.helpers import async_wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("metrics_on")]

FUNCTIONS = ["tests.jobs.add", "tests.jobs.fail", "tests.jobs.sleep_for", "tests.worker.jobs.retry_once"]


@pytest.fixture
def alias(queue_name: str, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    queues: dict[str, Any] = settings.ARQ_QUEUES
    worker = {"FUNCTIONS": FUNCTIONS, "POLL_DELAY": 0.02, "JOB_TIMEOUT": 0.5}
    with override_settings(ARQ_QUEUES={**queues, "default": {**queues["default"], "WORKER": worker}}):
        yield queue_name


def sample(name: str, queue: str, function: str) -> float:
    labels = {"alias": "default", "queue": queue, "function": function}
    return REGISTRY.get_sample_value(name, labels) or 0


async def test_each_outcome_is_counted_once(alias: str) -> None:
    q, queue = alias, get_queue()
    for i in range(2):
        await queue.enqueue("tests.jobs.add", i, 1, _queue_name=q)
    await queue.enqueue("tests.jobs.fail", "no", _queue_name=q)
    await queue.enqueue("tests.worker.jobs.retry_once", _queue_name=q)
    await queue.enqueue("tests.jobs.sleep_for", 30, _queue_name=q)  # times out after JOB_TIMEOUT
    doomed = await queue.enqueue("tests.jobs.sleep_for", 30, _queue_name=q, _defer_by=0.2)
    with pytest.raises(TimeoutError):  # no worker yet: the abort waits for the job to start
        await queue.abort_job(doomed.id, q, timeout=0)

    worker = create_worker(queue_name=q, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()
    await queue.aclose()

    counts = {
        (function, kind): sample(f"django_arq_jobs_{kind}_total", q, function)
        for function in FUNCTIONS
        for kind in ("started", "succeeded", "failed", "aborted", "retried")
    }
    expected = {
        ("tests.jobs.add", "started"): 2,
        ("tests.jobs.add", "succeeded"): 2,
        ("tests.jobs.fail", "started"): 1,
        ("tests.jobs.fail", "failed"): 1,
        ("tests.worker.jobs.retry_once", "started"): 2,
        ("tests.worker.jobs.retry_once", "retried"): 1,
        ("tests.worker.jobs.retry_once", "succeeded"): 1,
        ("tests.jobs.sleep_for", "started"): 1,  # the one aborted never started
        ("tests.jobs.sleep_for", "failed"): 1,  # the timeout: a failure, not an abort nor a retry
        ("tests.jobs.sleep_for", "aborted"): 1,
    }
    assert {k: v for k, v in counts.items() if v} == expected
    assert sample("django_arq_job_duration_seconds_count", q, "tests.jobs.add") == 2
    assert sample("django_arq_job_queue_wait_seconds_count", q, "tests.jobs.add") == 2
    timed_out = sample("django_arq_job_duration_seconds_sum", q, "tests.jobs.sleep_for")
    assert 0.4 < timed_out < 5, timed_out  # ran until the 0.5 s timeout


async def test_an_aborted_running_job(alias: str) -> None:
    q, queue = alias, get_queue()
    job = await queue.enqueue("tests.jobs.sleep_for", 20, _queue_name=q)
    worker = create_worker(queue_name=q, burst=True, handle_signals=False, job_timeout=30)

    run = asyncio.ensure_future(worker.main())
    await async_wait_for(
        lambda: sample("django_arq_jobs_started_total", q, "tests.jobs.sleep_for"), timeout=20
    )
    assert await queue.abort_job(job.id, q, timeout=10)
    await run
    await worker.close()
    await queue.aclose()
    assert sample("django_arq_jobs_aborted_total", q, "tests.jobs.sleep_for") == 1
    assert sample("django_arq_jobs_failed_total", q, "tests.jobs.sleep_for") == 0


def test_lost_jobs_counter(queue_name: str) -> None:
    job_lost("default", queue_name, 2)
    job_lost("default", queue_name, 0)
    labels = {"alias": "default", "queue": queue_name}
    assert REGISTRY.get_sample_value("django_arq_jobs_lost_total", labels) == 2
