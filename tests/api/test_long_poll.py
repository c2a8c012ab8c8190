"""Long-poll under a real ASGI server: waiters hold no database connection, and are bounded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from django_arq.models import JobRecord
from tests.api.conftest import TOKEN
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WAITERS = 40
EXTRA = 5
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _other_connections() -> int:
    """Connections to this run's test database other than the test's own (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        return int(cursor.fetchone()[0])


async def test_waiters_hold_no_database_connection_and_are_bounded(
    start_live_server: Callable[..., str], lonely_queue: str, redis_client: Any
) -> None:
    # No connection pool in the server: a connection it holds is one PostgreSQL counts.
    url = start_live_server(ARQ_API_MAX_WAITERS=str(WAITERS), DJANGO_ARQ_LIVE_POOL="0")
    limits = httpx.Limits(max_connections=WAITERS + EXTRA + 5)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits, timeout=60) as client:
        body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue, "defer_by": 600}
        created = await client.post("/arq/jobs/", json=body)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        await async_wait_for(lambda: JobRecord.objects.filter(job_id=job_id).aexists(), timeout=30)

        # A wrong ?queue=: Redis does not have the job there, its record says where it is. No
        # waiter can end before the job does, so whatever their order, the extra ones are refused.
        wrong = f"django-arq-tests:wrong-{uuid.uuid4().hex}"
        job_url = f"/arq/jobs/{job_id}/"
        waiters = [
            asyncio.ensure_future(client.get(job_url, params={"queue": wrong, "wait": 30}))
            for _ in range(WAITERS + EXTRA)
        ]
        try:
            await async_wait_for(lambda: sum(w.done() for w in waiters) >= EXTRA, timeout=60, interval=0.05)
            refused = [w.result() for w in waiters if w.done()]
            assert [r.status_code for r in refused] == [429] * EXTRA
            assert set(refused[0].json()) == {"error", "detail"}
            assert refused[0].json()["error"] == "too_many_waiters"
            assert str(WAITERS) in refused[0].json()["detail"]
            assert refused[0].headers["Retry-After"] == "1"
            at_once = await client.get(job_url, params={"queue": wrong})  # no wait: no place needed
            assert (at_once.status_code, at_once.json()["status"]) == (200, "deferred")
            if connection.vendor == "postgresql":
                # The test's own ORM thread is not counted; the server's record writer may hold one.
                async def released() -> bool:
                    return await sync_to_async(_other_connections)() <= 2

                await async_wait_for(released, timeout=15, interval=0.1)  # < the waiters' wait
            waiting = [w for w in waiters if not w.done()]
            assert len(waiting) == WAITERS

            # The job finishes and Redis forgets it: each waiter reads the record once and answers.
            now = timezone.now()
            await JobRecord.objects.filter(job_id=job_id).aupdate(
                status="complete", success=True, start_time=now, finish_time=now, result=3
            )
            redis_client.zrem(lonely_queue, job_id)
            redis_client.delete(f"arq:job:{job_id}")
            answers = await asyncio.wait_for(asyncio.gather(*waiting), timeout=60)
        finally:
            for waiter in waiters:
                waiter.cancel()
    assert {(a.status_code, a.json()["source"], a.json()["result"]) for a in answers} == {(200, "record", 3)}
