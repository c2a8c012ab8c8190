"""The records of jobs whose worker was lost: the lost try is kept, and a job no other worker
took since goes back to "queued" with an error naming the lost worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.audit.rows import storable_id
from django_arq.models import JobRecord
from django_arq.queues.heartbeats import LostJob
from tests.audit.recorders import T0

pytestmark = pytest.mark.django_db(transaction=True)

EARLIER = {"try": 1, "error": "ValueError('x')", "time": T0.isoformat()}


async def record(job_id: str, alias: str = "default", **fields: Any) -> JobRecord:
    values = {"name": "tests.jobs.add", "args": [1], "enqueue_time": T0, "queue_name": "q", **fields}
    return await JobRecord.objects.acreate(job_id=job_id, alias=alias, **values)


async def test_lost_tries_are_recorded_and_running_jobs_requeued(recorder: JobRecorder) -> None:
    await record("lost", status="in_progress", worker_id="w-lost", job_try=2, try_errors=[EARLIER])
    await record("anonymous", status="in_progress", worker_id="", job_try=1)
    await record("taken", status="in_progress", worker_id="w-other", job_try=3)  # started again since
    await record("lost", alias="other", status="in_progress", worker_id="w-lost")  # another alias's job
    before = dt.datetime.now(dt.UTC)
    await recorder.jobs_lost(
        [LostJob("lost", "w-lost", 2), LostJob("anonymous", "w-gone", 1), LostJob("taken", "w-lost", 2)]
    )
    found = {(r.alias, r.job_id): r async for r in JobRecord.objects.all()}

    lost = found["default", "lost"]
    assert (lost.status, lost.error) == ("queued", "worker w-lost lost, re-queued as try 3")
    assert lost.try_errors[0] == EARLIER
    entry = lost.try_errors[1]
    assert len(lost.try_errors) == 2
    assert {k: entry[k] for k in ("try", "error", "lost")} == {
        "try": 2,
        "error": "worker w-lost lost",
        "lost": True,
    }
    assert before <= dt.datetime.fromisoformat(entry["time"]) <= dt.datetime.now(dt.UTC)

    anonymous = found["default", "anonymous"]
    assert (anonymous.status, anonymous.error) == ("queued", "worker w-gone lost, re-queued as try 2")
    assert [e["error"] for e in anonymous.try_errors] == ["worker w-gone lost"]

    taken = found["default", "taken"]
    assert (taken.status, taken.error) == ("in_progress", "")  # its new try runs: left alone
    assert [(e["try"], e["lost"]) for e in taken.try_errors] == [(2, True)]

    other = found["other", "lost"]
    assert (other.status, other.try_errors) == ("in_progress", [])


async def test_a_lost_job_that_is_no_longer_running_keeps_its_status(recorder: JobRecorder) -> None:
    await record("done", status="complete", worker_id="w-lost", success=True, result=3)
    await recorder.jobs_lost([LostJob("done", "w-lost", 1)])
    done = await JobRecord.objects.aget(job_id="done")
    assert (done.status, done.success, done.error) == ("complete", True, "")
    assert [e["try"] for e in done.try_errors] == [1]


async def test_a_lost_job_is_found_under_its_storable_id(recorder: JobRecorder) -> None:
    long_id = "j" * 300
    await record(storable_id(long_id), status="in_progress", worker_id="w")
    await recorder.jobs_lost([LostJob(long_id, "w", 1)])
    assert (await JobRecord.objects.aget(job_id=storable_id(long_id))).status == "queued"


async def test_entries_edited_by_hand_are_merged_as_the_worker_merges_them(recorder: JobRecorder) -> None:
    """One entry per try, in try order, as the worker's own updates and the HTTP API make them:
    an entry of the lost try is replaced, entries of another shape are left out."""
    kept = {"try": 3, "error": "ValueError: no", "time": T0.isoformat(), "lost": False, "note": "by hand"}
    stale = {"try": 2, "error": "edited", "time": T0.isoformat(), "lost": False}
    edited = [kept, "a note", {"try": "1"}, stale]
    await record("edited", status="in_progress", worker_id="w-lost", job_try=2, try_errors=edited)
    await record("not-a-list", status="in_progress", worker_id="w-lost", try_errors={"edited": True})
    await recorder.jobs_lost([LostJob("edited", "w-lost", 2), LostJob("not-a-list", "w-lost", 1)])
    found = {r.job_id: r.try_errors async for r in JobRecord.objects.all()}
    assert [(e["try"], e["error"]) for e in found["edited"]] == [
        (2, "worker w-lost lost"),
        (3, "ValueError: no"),
    ]
    assert found["edited"][1] == kept
    assert [e["try"] for e in found["not-a-list"]] == [1]


async def test_the_entry_of_a_long_or_odd_worker_id_is_one_short_line(recorder: JobRecorder) -> None:
    worker_id = "w\n" + "x" * 400
    await record("odd", status="in_progress", worker_id="")
    await recorder.jobs_lost([LostJob("odd", worker_id, 1)])
    ((entry),) = (await JobRecord.objects.aget(job_id="odd")).try_errors
    assert entry["error"].startswith("worker w x") and len(entry["error"]) == 300
    assert "\n" not in entry["error"]


async def test_records_of_jobs_not_lost_are_left_alone(recorder: JobRecorder) -> None:
    await record("lost", status="in_progress", worker_id="w-lost")
    await record("running", status="in_progress", worker_id="w-lost", job_try=1)  # same worker, not listed
    await recorder.jobs_lost([LostJob("lost", "w-lost", 1)])
    running = await JobRecord.objects.aget(job_id="running")
    assert (running.status, running.error, running.try_errors) == ("in_progress", "", [])
    assert (await JobRecord.objects.aget(job_id="lost")).status == "queued"
