"""A worker's recorder driven by hand: the ``recorder`` fixture (alias "default", queue "q"), and
the context arq gives a job function."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def recorder() -> AsyncIterator[JobRecorder]:
    rec = JobRecorder("default", "q")
    yield rec
    await rec.close()


def ctx(job_id: str, job_try: int) -> dict[str, Any]:
    """arq's ``ctx`` of try ``job_try`` of a job enqueued at ``T0``."""
    return {"job_id": job_id, "enqueue_time": T0, "job_try": job_try}


def start_echo(recorder: JobRecorder, job_id: str, job_try: int) -> None:
    """Try ``job_try`` of ``tests.jobs.echo("x", k=1)``, enqueued at ``T0``, starts."""
    recorder.job_started(ctx(job_id, job_try), "tests.jobs.echo", ("x",), {"k": 1})


def made_from_echo(record: JobRecord) -> bool:
    """Whether ``record`` holds the values of the job ``start_echo`` starts."""
    return (record.name, record.args, record.kwargs, record.enqueue_time) == (
        "tests.jobs.echo",
        ["x"],
        {"k": 1},
        T0,
    )
