"""An abort that the job takes back (it returns instead: a settled Django task does) is forgotten
once the job ends: arq forgets only an abort that ended its job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_arq import get_queue
from django_arq.queues.arq_internals import is_aborting, running_jobs
from django_arq.worker import create_worker
from tests.helpers import async_wait_for
from tests.worker import jobs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alias(queue_name: str, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    queues: dict[str, Any] = settings.ARQ_QUEUES
    worker = {"FUNCTIONS": ["tests.worker.jobs.shrug_off_abort"], "POLL_DELAY": 0.02}
    with override_settings(ARQ_QUEUES={**queues, "default": {**queues["default"], "WORKER": worker}}):
        yield queue_name


async def test_an_abort_the_job_took_back_is_forgotten_when_it_ends(alias: str) -> None:
    q, queue = alias, get_queue()
    job = await queue.enqueue("tests.worker.jobs.shrug_off_abort", 30, _queue_name=q)
    worker = create_worker(queue_name=q, burst=True, handle_signals=False, job_timeout=60)
    run = asyncio.ensure_future(worker.main())
    try:
        # the job's own code must be running: an abort that lands before it (while the worker
        # starts the job) ends the job, as it should
        await async_wait_for(lambda: job.id in jobs.SHRUGGING, timeout=20)
        assert running_jobs(worker) == 1
        aborted = await asyncio.wait_for(queue.abort_job(job.id, q, timeout=20), 30)
        await asyncio.wait_for(asyncio.shield(run), 30)
        result = await queue.get_job_result(job.id, q)
    finally:
        if not run.done():
            run.cancel()
            await asyncio.wait({run}, timeout=30)
        await worker.close()
        await queue.aclose()
    assert (aborted, result.result) == (False, "kept")
    assert not is_aborting(worker, job.id)
