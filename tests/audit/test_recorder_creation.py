"""A record the recorder creates from a job's start (a job sent without one): it keeps the trace id
the job runs in, or none."""

from __future__ import annotations

import uuid

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import ctx, made_from_echo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("trace_id", ["4bf92f3577b34da6a3ce929d0e0e4736", None])
async def test_a_record_created_at_a_job_s_start_keeps_its_trace_id(
    recorder: JobRecorder, trace_id: str | None
) -> None:
    job = uuid.uuid4().hex
    context = ctx(job, 1) if trace_id is None else {**ctx(job, 1), "trace_id": trace_id}
    recorder.job_started(context, "tests.jobs.echo", ("x",), {"k": 1})
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert made_from_echo(record)
    assert (record.status, record.trace_id) == ("in_progress", trace_id or "")
