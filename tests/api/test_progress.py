"""``progress`` in GET jobs/<id>/: its JSON form (or null), and ``?progress=`` ending a long-poll
once the job's progress is not the one the caller last saw."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.test import AsyncClient
from django.utils import timezone

from django_arq.models import JobRecord
from tests.api.conftest import finished_record

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = "2026-12-01T10:00:00+00:00"


async def running_record(progress: dict[str, Any] | None) -> str:
    """A running job that only its record knows (Redis would answer first for a live job)."""
    job_id = f"progress-{uuid.uuid4().hex}"
    record = finished_record(job_id, None)
    record.status, record.finish_time, record.success, record.progress = "in_progress", None, None, progress
    await record.asave()
    return job_id


def report(time: str = SEEN, **fields: Any) -> dict[str, Any]:
    return {"done": 40, "total": 100, "fraction": 0.4, "message": "rows 400/1000", "time": time, **fields}


async def test_progress_is_its_json_form_or_null(auth: dict[str, str]) -> None:
    client = AsyncClient()
    job_id = await running_record(report())
    data = (await client.get(f"/arq/jobs/{job_id}/", headers=auth)).json()
    assert (data["status"], data["source"]) == ("in_progress", "record")
    assert data["progress"] == report()
    silent = await running_record(None)
    assert (await client.get(f"/arq/jobs/{silent}/", headers=auth)).json()["progress"] is None


async def test_a_wait_with_progress_returns_at_once_when_it_moved(auth: dict[str, str]) -> None:
    client = AsyncClient()
    job_id = await running_record(report(time="2026-12-01T10:00:05+00:00"))
    for seen in (SEEN, ""):  # an older report, or none seen yet
        started = time.monotonic()
        response = await client.get(f"/arq/jobs/{job_id}/", {"wait": 20, "progress": seen}, headers=auth)
        assert response.status_code == 200
        assert response.json()["progress"]["time"] == "2026-12-01T10:00:05+00:00"
        assert time.monotonic() - started < 10  # not the 20 s of the wait


async def test_a_wait_with_the_progress_last_seen_waits(auth: dict[str, str]) -> None:
    client = AsyncClient()
    job_id = await running_record(report())
    silent = await running_record(None)
    for job, seen in ((job_id, SEEN), (job_id, "2026-12-01T11:00:00+01:00"), (silent, "")):  # the same time
        started = time.monotonic()
        response = await client.get(f"/arq/jobs/{job}/", {"wait": 0.5, "progress": seen}, headers=auth)
        assert response.status_code == 200 and response.json()["status"] == "in_progress"
        assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("yesterday", "must be the progress.time last seen (ISO 8601), or empty"),
        ("2026-12-01T10:00:00", "must be a time with its UTC offset"),
        ("2026-12-01T10:00:00\x00+00:00", "must not contain control characters or lone surrogates"),
        ("2026-12-01T10:00:00\x1b[2J+00:00", "must not contain control characters"),
        ("9" * 65, "must be at most 64 characters long"),
    ],
)
async def test_a_bad_progress_parameter_is_a_clear_400(auth: dict[str, str], value: str, detail: str) -> None:
    job_id = await running_record(report())
    response = await AsyncClient().get(f"/arq/jobs/{job_id}/", {"progress": value}, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_field" and detail in response.json()["detail"]


async def test_the_result_endpoint_does_not_take_progress(auth: dict[str, str]) -> None:
    job_id = await running_record(report())
    response = await AsyncClient().get(f"/arq/jobs/{job_id}/result/", {"progress": ""}, headers=auth)
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_field" and "progress" in response.json()["detail"]


async def test_a_finished_job_keeps_its_last_progress(auth: dict[str, str]) -> None:
    job_id = f"progress-{uuid.uuid4().hex}"
    record = finished_record(job_id, 3)
    record.progress = report(done=100, fraction=1.0, time=timezone.now().isoformat())
    await JobRecord.objects.abulk_create([record])
    data = (await AsyncClient().get(f"/arq/jobs/{job_id}/result/", headers=auth)).json()
    assert data["progress"]["done"] == 100 and data["result"] == 3
