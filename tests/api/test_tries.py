"""``GET jobs/<id>/`` through a real ASGI server shows a job's tries as its record keeps them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import AsyncClient
from django.utils import timezone

from django_arq.models import JobRecord
from tests.api.conftest import TOKEN

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retrying_job_says_when_it_runs_again(live_server_url: str) -> None:
    now = timezone.now()
    next_at = now + timedelta(minutes=5)
    errors = [{"try": 1, "error": "ConnectionError: down", "time": now.isoformat(), "lost": False}]
    record = JobRecord.objects.create(
        job_id=f"tries-{uuid.uuid4().hex}",
        name="tests.jobs.add",
        args=[1, 2],
        kwargs={},
        enqueue_time=now - timedelta(seconds=3),
        status="deferred",
        queue_name="arq:queue",
        alias="default",
        job_try=1,
        next_try_at=next_at,
        try_errors=errors,
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=live_server_url, headers=headers, timeout=30) as client:
        data = client.get(f"/arq/jobs/{record.job_id}/").json()
        local = timezone.localtime(next_at)
        # the time alone on the day it runs, with its date once the day has turned (a run at midnight)
        clocks = {local.strftime("%H:%M:%S"), local.strftime("%Y-%m-%d %H:%M:%S")}
        assert data["source"] == "record"
        assert data["try_status"] in {f"retrying, try 2 of 5, next at {c}" for c in clocks}  # MAX_TRIES: 5
        assert data["next_try_at"] == next_at.isoformat()
        assert data["try_errors"] == errors

        JobRecord.objects.filter(pk=record.pk).update(
            status="complete",
            job_try=2,
            success=True,
            finish_time=now,
            start_time=now,
            next_try_at=None,
            result=3,
        )
        done = client.get(f"/arq/jobs/{record.job_id}/result/").json()
        assert (done["try_status"], done["next_try_at"], done["result"]) == (
            "succeeded on try 2 of 5",
            None,
            3,
        )


async def test_without_use_tz_a_retrying_job_says_when_it_runs_again(
    without_use_tz: None, auth: dict[str, str]
) -> None:
    """Served in this process: the live server is another one, with USE_TZ (a project has one setting)."""
    now = datetime.now(UTC)
    next_at = now + timedelta(minutes=5)
    record = await JobRecord.objects.acreate(
        job_id=f"tries-{uuid.uuid4().hex}",
        name="tests.jobs.add",
        enqueue_time=now,
        status="deferred",
        queue_name="arq:queue",
        job_try=1,
        next_try_at=next_at,
    )
    response = await AsyncClient().get(f"/arq/jobs/{record.job_id}/", headers=auth)
    assert response.status_code == 200, response.content
    data = response.json()
    local = timezone.localtime(next_at)
    clocks = {local.strftime("%H:%M:%S"), local.strftime("%Y-%m-%d %H:%M:%S")}
    assert data["try_status"] in {f"retrying, try 2 of 5, next at {c}" for c in clocks}
    assert datetime.fromisoformat(data["next_try_at"]) == next_at
