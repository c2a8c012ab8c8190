"""docs/examples/progress.py runs: its jobs on MockArqQueue, and ``import_rows`` on a real
``manage.py arq_worker`` while ``how_far`` and ``follow`` (through uvicorn) read its progress."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from django_arq import MockArqQueue, get_queue
from docs.examples.progress import follow, how_far
from tests.api.conftest import TOKEN, start_live_server
from tests.helpers import wait_for
from tests.worker.conftest import WorkerRunner, queue_name, workers

__all__ = ["queue_name", "start_live_server", "workers"]

ROWS = [{"name": "mug"}, {"name": "tea"}, {"name": "grinder"}]


async def test_the_jobs_report_on_the_mock() -> None:
    mock = MockArqQueue(default_queue_name="docs-progress")
    rows = await mock.enqueue("docs.examples.progress.import_rows", ROWS)
    images = await mock.enqueue("docs.examples.progress.resize_images", ["a.png", "b.png"])
    assert {r.id: r.result for r in await mock.run_queued()} == {rows.id: 3, images.id: 2}
    counted = (await mock.get_job_metadata(rows.id)).progress
    assert counted is not None and counted.summary() == "3/3 (100%) row 3: grinder"
    resized = (await mock.get_job_metadata(images.id)).progress
    assert resized is not None and resized.summary() == "2 b.png"  # a count: no total


@pytest.mark.django_db(transaction=True)
def test_how_far_and_follow_read_a_real_workers_job(
    workers: WorkerRunner, start_live_server: Callable[..., str]
) -> None:
    url = start_live_server()
    job = get_queue().enqueue_sync("docs.examples.progress.import_rows", ROWS, _queue_name=workers.queue_name)
    assert how_far(job.id, workers.queue_name) == "no progress reported yet"
    workers.start()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        seen = follow(api, job.id, workers.queue_name, timeout=60)
    assert seen and seen[-1] == "3/3 row 3: grinder"  # reports may be coalesced; the last one never is
    wait_for(lambda: how_far(job.id, workers.queue_name) == "3/3 (100%) row 3: grinder", timeout=10)
