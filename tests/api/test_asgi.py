"""The API under a real ASGI server: uvicorn in a child process, 200 concurrent enqueues over HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from django_arq.models import JobRecord
from tests.api.conftest import TOKEN
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CONCURRENT = 200


async def test_concurrent_enqueues_over_http(
    live_server_url: str, lonely_queue: str, redis_client: Any
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(
        base_url=live_server_url, headers=headers, limits=limits, timeout=60
    ) as client:

        async def enqueue(i: int) -> httpx.Response:
            body = {"name": "tests.jobs.add", "args": [i, i], "queue": lonely_queue}
            return await client.post("/arq/jobs/", json=body)

        started = time.monotonic()
        responses = await asyncio.gather(*(enqueue(i) for i in range(CONCURRENT)))
        elapsed = time.monotonic() - started
        failed = [r.text for r in responses if r.status_code != 201]
        assert not failed, (len(failed), failed[0])
        ids = [r.json()["id"] for r in responses]
        assert len(set(ids)) == CONCURRENT
        assert [r.json()["args"] for r in responses] == [[i, i] for i in range(CONCURRENT)]

        queued = {i.decode() for i in redis_client.zrange(lonely_queue, 0, -1)}
        assert queued == set(ids)
        assert await JobRecord.objects.filter(job_id__in=ids, queue_name=lonely_queue).acount() == CONCURRENT

        one = await client.get(f"/arq/jobs/{ids[7]}/", params={"queue": lonely_queue})
        assert (one.status_code, one.json()["args"], one.json()["status"]) == (200, [7, 7], "queued")
        refused = await client.post(
            "/arq/jobs/", json={"name": "tests.jobs.add"}, headers={"Authorization": "Bearer no"}
        )
        assert refused.status_code == 401
    print(
        f"\n{CONCURRENT} concurrent enqueues over HTTP in {elapsed:.2f}s ({CONCURRENT / elapsed:.0f} req/s)"
    )


async def test_an_abort_whose_client_goes_away_mid_wait_is_still_noted(
    live_server_url: str, lonely_queue: str, redis_client: Any
) -> None:
    """The request stays in Redis (a worker will abort the job), so the record says so, and who."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server_url, headers=headers, timeout=60) as client:
        body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue, "defer_by": 600}
        job_id = (await client.post("/arq/jobs/", json=body)).json()["id"]
        await async_wait_for(JobRecord.objects.filter(job_id=job_id).aexists)
        params = {"queue": lonely_queue, "timeout": 20}  # longer than the wait below: no 202 notes it
        waiting = asyncio.ensure_future(client.post(f"/arq/jobs/{job_id}/abort/", params=params))
        await async_wait_for(lambda: redis_client.zscore("arq:abort", job_id) is not None)
        waiting.cancel()  # the client goes away while the server waits for a worker
        with pytest.raises(asyncio.CancelledError):
            await waiting

    async def noted() -> JobRecord | None:  # the time (by the audit layer), then who (by the view)
        return await JobRecord.objects.filter(job_id=job_id, abort_requested_by="api token").afirst()

    record = await async_wait_for(noted, timeout=15)
    assert record.abort_requested_at is not None
    assert redis_client.zscore(lonely_queue, job_id) == 1  # made due: the first worker aborts it


async def test_head_answers_as_get_without_the_body(live_server_url: str, lonely_queue: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server_url, headers=headers, timeout=60) as client:
        body = {"name": "tests.jobs.add", "args": [1, 2], "queue": lonely_queue}
        job_id = (await client.post("/arq/jobs/", json=body)).json()["id"]
        for path in (f"/arq/jobs/{job_id}/", "/arq/openapi.json"):
            got = await client.get(path, params={"queue": lonely_queue} if "jobs" in path else None)
            head = await client.head(path, params={"queue": lonely_queue} if "jobs" in path else None)
            assert (head.status_code, head.content) == (200, b""), path
            assert got.status_code == 200 and got.content
            assert head.headers["Content-Type"] == got.headers["Content-Type"] == "application/json"
            assert head.headers["Content-Length"] == got.headers["Content-Length"] == str(len(got.content))
        unknown = await client.head("/arq/jobs/no-such-job/", params={"queue": lonely_queue})
        assert (unknown.status_code, unknown.content) == (404, b"")
        refused = await client.head(f"/arq/jobs/{job_id}/abort/")
        assert (refused.status_code, refused.headers["Allow"]) == (405, "POST")
