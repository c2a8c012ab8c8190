"""GET jobs/<id>/, GET jobs/<id>/result/ and POST jobs/<id>/abort/ against real Redis and a real worker."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from django.test import AsyncClient

from django_arq.audit.on_commit import aflush_records
from django_arq.models import JobRecord
from tests.api.conftest import finished_record, post_json
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db(transaction=True)


async def enqueue(client: AsyncClient, auth: dict[str, str], name: str, *args: Any, **fields: Any) -> str:
    response = await post_json(client, "/arq/jobs/", {"name": name, "args": list(args), **fields}, auth)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


async def test_finished_job_has_result_fields(auth: dict[str, str], arq_workers: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 2, 3)
    response = await client.get(f"/arq/jobs/{job_id}/?wait=10", headers=auth)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "complete"
    assert (data["success"], data["result"], data["source"]) == (True, 5, "redis")
    start, finish = (
        dt.datetime.fromisoformat(data["start_time"]),
        dt.datetime.fromisoformat(data["finish_time"]),
    )
    assert dt.datetime.fromisoformat(data["enqueue_time"]) <= start <= finish
    result = await client.get(f"/arq/jobs/{job_id}/result/", headers=auth)
    assert result.status_code == 200
    assert result.json() == data


async def test_failed_job_result_is_a_readable_exception(auth: dict[str, str], arq_workers: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.fail", "boom <script>")
    data = (await client.get(f"/arq/jobs/{job_id}/result/?wait=10", headers=auth)).json()
    assert data["success"] is False
    assert data["result"] == {"exception": "builtins.ValueError", "message": "boom <script>"}


async def test_unfinished_job_has_metadata_only_and_result_is_409(
    auth: dict[str, str], lonely_queue: str
) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 1, 2, queue=lonely_queue, defer_by=600)
    response = await client.get(f"/arq/jobs/{job_id}/?queue={lonely_queue}", headers=auth)
    assert response.status_code == 200
    assert response.json()["status"] == "deferred"
    assert "result" not in response.json()
    result = await client.get(f"/arq/jobs/{job_id}/result/?queue={lonely_queue}", headers=auth)
    assert result.status_code == 409
    assert result.json()["error"] == "result_not_ready"
    assert "deferred" in result.json()["detail"]


async def test_long_poll_returns_as_soon_as_the_job_finishes(auth: dict[str, str], arq_workers: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.sleep_for", 0.5)
    started = time.monotonic()
    response = await client.get(f"/arq/jobs/{job_id}/result/?wait=20", headers=auth)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["result"] == "slept"
    assert 0.3 < elapsed < 5


async def test_long_poll_is_bounded(auth: dict[str, str], lonely_queue: str, settings: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 1, 2, queue=lonely_queue)
    started = time.monotonic()
    response = await client.get(f"/arq/jobs/{job_id}/?queue={lonely_queue}&wait=0.4", headers=auth)
    assert 0.4 <= time.monotonic() - started < 3
    assert (response.status_code, response.json()["status"]) == (200, "queued")
    too_long = await client.get(f"/arq/jobs/{job_id}/?wait=31", headers=auth)
    assert (too_long.status_code, too_long.json()["error"]) == (400, "invalid_field")
    settings.ARQ_API_MAX_WAIT = 0.1
    capped = await client.get(f"/arq/jobs/{job_id}/result/?queue={lonely_queue}&wait=0.5", headers=auth)
    assert capped.status_code == 400


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("wait=soon", "invalid_field"),
        ("wait=-1", "invalid_field"),
        ("wait=nan", "invalid_field"),
        ("alias=nope", "unknown_alias"),
        ("colour=red", "unknown_field"),
    ],
)
async def test_bad_query_is_400(auth: dict[str, str], query: str, code: str) -> None:
    response = await AsyncClient().get(f"/arq/jobs/some-id/?{query}", headers=auth)
    assert (response.status_code, response.json()["error"]) == (400, code)


async def test_unknown_job_is_404(auth: dict[str, str], redis_url: str) -> None:
    client = AsyncClient()
    for url in ("/arq/jobs/{}/", "/arq/jobs/{}/result/"):
        response = await client.get(url.format(f"unknown-{uuid.uuid4().hex}"), headers=auth)
        assert response.status_code == 404
        assert response.json()["error"] == "job_not_found"


@pytest.mark.parametrize("job_id", ["has%20space", "x" * 201, "semi;colon", "quote'd", "%3Cscript%3E"])
async def test_invalid_job_id_is_400(auth: dict[str, str], job_id: str) -> None:
    client = AsyncClient()
    for url in (f"/arq/jobs/{job_id}/", f"/arq/jobs/{job_id}/result/"):
        response = await client.get(url, headers=auth)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_job_id")
    response = await client.post(f"/arq/jobs/{job_id}/abort/", headers=auth)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_job_id")


async def test_job_gone_from_redis_is_read_from_its_record(auth: dict[str, str], redis_url: str) -> None:
    job_id = f"only-recorded-{uuid.uuid4().hex}"
    await finished_record(job_id, result=3).asave()
    client = AsyncClient()
    data = (await client.get(f"/arq/jobs/{job_id}/", headers=auth)).json()
    assert (data["source"], data["status"], data["result"], data["args"]) == ("record", "complete", 3, [1, 2])
    assert (await client.get(f"/arq/jobs/{job_id}/result/", headers=auth)).json()["result"] == 3
    assert (await client.get(f"/arq/jobs/{job_id}/?alias=mock", headers=auth)).status_code == 404


async def test_abort_running_job(auth: dict[str, str], arq_workers: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.sleep_for", 30)

    async def running() -> bool:
        response = await client.get(f"/arq/jobs/{job_id}/", headers=auth)
        return bool(response.json()["status"] == "in_progress")

    await async_wait_for(running, timeout=10)
    response = await client.post(f"/arq/jobs/{job_id}/abort/", headers=auth)
    assert response.status_code == 200, response.content
    assert response.json()["aborted"] is True
    result = (await client.get(f"/arq/jobs/{job_id}/result/", headers=auth)).json()
    assert result["success"] is False
    assert result["result"]["exception"].endswith("CancelledError")
    record = await JobRecord.objects.aget(job_id=job_id)
    assert record.abort_requested_by == "api token"
    assert record.abort_requested_at is not None


async def test_abort_finished_job_is_not_aborted(auth: dict[str, str], arq_workers: Any) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 1, 1)
    assert (await client.get(f"/arq/jobs/{job_id}/result/?wait=10", headers=auth)).status_code == 200
    response = await client.post(f"/arq/jobs/{job_id}/abort/", headers=auth)
    assert response.status_code == 200
    assert response.json()["aborted"] is False
    assert response.json()["requested"] is False
    assert response.json()["status"] == "complete"


async def test_abort_unknown_job_is_404(auth: dict[str, str], redis_url: str) -> None:
    response = await AsyncClient().post(f"/arq/jobs/unknown-{uuid.uuid4().hex}/abort/", headers=auth)
    assert (response.status_code, response.json()["error"]) == (404, "job_not_found")


@pytest.mark.parametrize("asked", [None, "wrong"], ids=["no queue", "another queue"])
async def test_abort_finds_the_job_in_the_queue_its_record_names(
    auth: dict[str, str], lonely_queue: str, redis_client: Any, asked: str | None
) -> None:
    """As GET does: a job not in the queue asked (the alias's default, or a wrong one) is aborted
    where its record says it is, not answered "deferred; only ... deferred jobs can be aborted"."""
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 1, 1, queue=lonely_queue, defer_by=600)
    assert await aflush_records()
    query = "timeout=0.2" if asked is None else f"timeout=0.2&queue={lonely_queue}-{asked}"
    response = await client.post(f"/arq/jobs/{job_id}/abort/?{query}", headers=auth)
    assert response.status_code == 202, response.content
    assert (response.json()["aborted"], response.json()["requested"]) == (False, True)
    assert redis_client.zscore("arq:abort", job_id) is not None
    assert redis_client.zscore(lonely_queue, job_id) == 1  # made due, for a worker to abort it at once
    record = await JobRecord.objects.aget(job_id=job_id)
    assert record.abort_requested_at is not None and record.abort_requested_by


async def test_abort_of_a_job_on_no_queue_and_without_a_record_is_404(
    auth: dict[str, str], lonely_queue: str
) -> None:
    job_id = f"nowhere-{uuid.uuid4().hex}"
    response = await AsyncClient().post(f"/arq/jobs/{job_id}/abort/?queue={lonely_queue}", headers=auth)
    assert (response.status_code, response.json()["error"]) == (404, "job_not_found")


async def test_abort_without_a_worker_is_202_requested(auth: dict[str, str], lonely_queue: str) -> None:
    client = AsyncClient()
    job_id = await enqueue(client, auth, "tests.jobs.add", 1, 1, queue=lonely_queue)
    started = time.monotonic()
    response = await client.post(f"/arq/jobs/{job_id}/abort/?queue={lonely_queue}&timeout=0.3", headers=auth)
    assert time.monotonic() - started < 3
    assert response.status_code == 202
    assert (response.json()["aborted"], response.json()["requested"]) == (False, True)
    assert "no worker confirmed" in response.json()["detail"]
    too_long = await client.post(f"/arq/jobs/{job_id}/abort/?timeout=60", headers=auth)
    assert (too_long.status_code, too_long.json()["error"]) == (400, "invalid_field")
