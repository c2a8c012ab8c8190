"""Long-poll under a real ASGI server: waiters hold no database connection, and are bounded."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import AsyncClient
from django.utils import timezone

from django_arq import JobNotFound, JobResult, get_queue
from django_arq.api.waiters import active_waiters
from django_arq.audit.lookup import FoundJob, wait_for_job
from django_arq.models import JobRecord
from tests.api.conftest import TOKEN, finished_record, post_json
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


async def test_without_places_requests_that_would_wait_get_429(
    auth: dict[str, str], settings: Any, lonely_queue: str
) -> None:
    client = AsyncClient()
    body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue, "defer_by": 600}
    job_id = (await post_json(client, "/arq/jobs/", body, auth)).json()["id"]
    settings.ARQ_API_MAX_WAITERS = 0
    waiting = await client.get(f"/arq/jobs/{job_id}/?queue={lonely_queue}&wait=5", headers=auth)
    assert (waiting.status_code, waiting.json()["error"], waiting["Retry-After"]) == (
        429,
        "too_many_waiters",
        "1",
    )
    at_once = await client.get(f"/arq/jobs/{job_id}/?queue={lonely_queue}", headers=auth)
    assert (at_once.status_code, at_once.json()["status"]) == (200, "deferred")
    settings.ARQ_API_MAX_WAITERS = -1
    misconfigured = await client.get(f"/arq/jobs/{job_id}/?queue={lonely_queue}&wait=5", headers=auth)
    assert (misconfigured.status_code, misconfigured.json()["error"]) == (500, "improperly_configured")
    assert active_waiters() == 0


async def test_an_abort_waiting_for_a_worker_holds_a_place_and_without_one_is_only_requested(
    auth: dict[str, str], settings: Any, lonely_queue: str, redis_client: Any
) -> None:
    client = AsyncClient()
    body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue, "defer_by": 600}
    first, second = [(await post_json(client, "/arq/jobs/", body, auth)).json()["id"] for _ in range(2)]
    settings.ARQ_API_MAX_WAITERS = 1
    url = f"/arq/jobs/{first}/abort/?queue={lonely_queue}&timeout=20"
    abort = asyncio.ensure_future(client.post(url, headers=auth))
    await async_wait_for(lambda: active_waiters() == 1)
    waiting = await client.get(f"/arq/jobs/{second}/?queue={lonely_queue}&wait=5", headers=auth)
    assert (waiting.status_code, waiting.json()["error"]) == (429, "too_many_waiters")
    unwaited = await client.post(f"/arq/jobs/{second}/abort/?queue={lonely_queue}&timeout=20", headers=auth)
    assert (unwaited.status_code, unwaited.json()["requested"]) == (202, True)
    assert "not waited for: 1 requests wait here" in unwaited.json()["detail"]
    assert redis_client.zscore("arq:abort", second) is not None  # requested all the same
    abort.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abort
    assert active_waiters() == 0


async def test_finished_job_needs_no_place(auth: dict[str, str], settings: Any) -> None:
    job_id = f"only-recorded-{uuid.uuid4().hex}"
    await finished_record(job_id, result=3).asave()
    settings.ARQ_API_MAX_WAITERS = 0
    response = await AsyncClient().get(f"/arq/jobs/{job_id}/result/?wait=5", headers=auth)
    assert (response.status_code, response.json()["result"]) == (200, 3)


def _in_a_thread(work: Callable[[], Any]) -> None:
    """Run ORM ``work`` to its end from a callback of the event loop (own thread, own connection)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


async def test_record_is_read_again_at_the_deadline(redis_url: str, lonely_queue: str) -> None:
    """Redis never had the job: the record read at the start says queued, the one at the end complete."""
    job_id = f"only-recorded-{uuid.uuid4().hex}"
    record = finished_record(job_id, result=None)
    record.status, record.success, record.finish_time, record.queue_name = "queued", None, None, lonely_queue
    await record.asave()
    seen: list[FoundJob] = []

    def on_poll(found: FoundJob) -> None:
        seen.append(found)
        if len(seen) == 1:  # the job finishes while the caller waits: its record is updated
            finished = JobRecord.objects.filter(job_id=job_id)
            _in_a_thread(
                lambda: finished.update(status="complete", success=True, finish_time=timezone.now(), result=7)
            )

    found = await wait_for_job("default", job_id, timeout=0.3, on_poll=on_poll)
    assert seen[0].job.status.value == "queued"
    assert isinstance(found.job, JobResult) and (found.source, found.job.result) == ("record", 7)


async def test_job_gone_from_redis_without_record_is_not_found(
    redis_url: str, lonely_queue: str, redis_client: Any
) -> None:
    job = await get_queue("default").backend.enqueue("tests.jobs.add", 1, 2, _queue_name=lonely_queue)
    seen: list[FoundJob] = []

    def forget(found: FoundJob) -> None:  # Redis forgets the job after the first read
        seen.append(found)
        redis_client.zrem(lonely_queue, job.id)
        redis_client.delete(f"arq:job:{job.id}")

    with pytest.raises(JobNotFound, match="no job record"):
        await wait_for_job("default", job.id, lonely_queue, timeout=30, on_poll=forget)
    assert [f.source for f in seen] == ["redis"]
