"""An arq worker run in this process on the audit tests' jobs: its recorder writes to the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from arq import create_pool
from arq.connections import ArqRedis
from django.conf import settings
from django.test.utils import override_settings

from django_arq import get_queue
from django_arq.worker import create_worker

FUNCTIONS = [
    "tests.audit.jobs.give",
    "tests.audit.jobs.unpicklable",
    "tests.audit.jobs.fail",
    "tests.audit.jobs.fail_unpicklably",
    "tests.audit.jobs.retry_once",
]


@pytest.fixture
def audit_jobs() -> Iterator[None]:
    """The default alias, its workers running the jobs of ``tests.audit.jobs``."""
    default = settings.ARQ_QUEUES["default"]
    worker = {"FUNCTIONS": FUNCTIONS, "POLL_DELAY": 0.02, "RECORD_FLUSH_INTERVAL": 0.02}
    with override_settings(ARQ_QUEUES={**settings.ARQ_QUEUES, "default": {**default, "WORKER": worker}}):
        yield


@pytest.fixture
async def plain_arq(audit_jobs: None) -> AsyncIterator[ArqRedis]:
    """A plain arq client on the default alias's Redis: it writes no records."""
    pool = await create_pool(get_queue().redis_settings)
    yield pool
    await pool.aclose()


async def run_burst(queue_name: str) -> None:
    """Run the queued jobs in an arq worker in this process, then close it (its records written)."""
    worker = create_worker(queue_name=queue_name, burst=True, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()
