"""A job whose function returned when the worker is told to stop: its end reaches the record even
though the stop cancels the run while arq stores the result (a step arq shields, which the
shutdown's last record flush does not wait for). A CI run of
``tests/example/test_workers.py::test_two_workers_share_one_queue`` once failed this way (five of
its twelve records without their end): arq's ``close()`` raised on the cancelled runs before
``on_shutdown``."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from arq.worker import Worker

from django_arq import get_queue
from django_arq.models import JobRecord
from django_arq.worker import create_worker

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_job_ended_as_the_worker_stops_is_recorded_complete(
    audit_jobs: None, queue_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storing, release = asyncio.Event(), asyncio.Event()
    store = Worker.finish_job

    async def held_store(self: Worker, *args: Any) -> None:  # arq storing the result, held
        storing.set()
        await release.wait()
        await store(self, *args)

    monkeypatch.setattr(Worker, "finish_job", held_store)
    meta = await get_queue().enqueue("tests.audit.jobs.give", 7, _queue_name=queue_name)
    worker = create_worker(queue_name=queue_name, handle_signals=False)
    running = asyncio.ensure_future(worker.async_run())
    try:
        await asyncio.wait_for(storing.wait(), 30)  # the function has returned
        worker.handle_sig(signal.SIGTERM)  # what a SIGTERM does: the runs and the main task cancelled
        await asyncio.gather(running, return_exceptions=True)
        release.set()  # the store goes on (arq shields it) as the worker shuts down
    finally:
        release.set()
        await worker.close()
    record = await JobRecord.objects.aget(job_id=meta.id)
    assert (record.status, record.success, record.job_try, record.result) == ("complete", True, 1, 7)
