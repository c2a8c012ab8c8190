"""queues/reporting.py: which contexts a report may be made with (a job's ctx dict, any mapping
of one, a django.tasks TaskContext of the job running in this context) and the errors for others."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest

from django_arq import report_progress, report_progress_sync
from django_arq.queues.reporting import CTX_KEY, current_job
from tests.core.test_progress_reports import Recorded, job_ctx
from tests.helpers import async_wait_for

NOT_A_CTX = (
    "report_progress takes the ctx dict arq passes to a job function (or the TaskContext of a "
    "django.tasks task running on ArqBackend), not {}"
)
NO_STORE = (
    "report_progress needs the ctx of a job run by an arq worker (manage.py arq_worker, or a plain "
    "arq worker for async jobs) or by MockArqQueue.run_queued; this ctx has neither django-arq's "
    "progress store nor arq's Redis pool"
)


class TaskContext:
    """What django.tasks gives a task that takes its context: the task's result, with its id."""

    def __init__(self, task_id: str | None, *, result: bool = True) -> None:
        if result:
            self.task_result = (
                types.SimpleNamespace() if task_id is None else types.SimpleNamespace(id=task_id)
            )


async def test_a_task_context_reports_to_the_job_running_in_this_context() -> None:
    reports = Recorded(interval=0)
    token = current_job.set(job_ctx(reports, "task-1"))
    try:
        await report_progress(TaskContext("task-1"), 1, 2)
        report_progress_sync(TaskContext("task-1"), 2, 2)
    finally:
        current_job.reset(token)
    await async_wait_for(lambda: reports.done() == [1, 2], timeout=10)  # the sync one's store, on the loop
    assert {job_id for job_id, _, _ in reports.stored} == {"task-1"}


@pytest.mark.parametrize(
    ("running", "ctx"),
    [
        (None, TaskContext("task-1")),  # no job runs in this context
        ("task-1", TaskContext("task-2")),  # another job's
        ("task-1", TaskContext(None, result=False)),  # not a task's context at all
        ("task-1", TaskContext(None)),  # a result without an id
    ],
)
async def test_a_task_context_of_another_job_is_a_type_error(running: str | None, ctx: Any) -> None:
    token = current_job.set(None if running is None else job_ctx(Recorded(), running))
    try:
        with pytest.raises(TypeError) as raised:
            await report_progress(ctx, 1)
    finally:
        current_job.reset(token)
    assert str(raised.value) == NOT_A_CTX.format("TaskContext")


@pytest.mark.parametrize("ctx", [5, "job-id"])
async def test_what_is_not_a_ctx_is_named_in_the_error(ctx: Any) -> None:
    with pytest.raises(TypeError, match=re.escape(NOT_A_CTX.format(type(ctx).__name__))):
        await report_progress(ctx, 1)


@pytest.mark.parametrize("lacks", ["both", "store", "job id"])
async def test_a_ctx_without_a_store_or_a_job_id_is_a_type_error(lacks: str) -> None:
    ctx = {"both": {}, "store": {"job_id": "j"}, "job id": {"job_id": 5, CTX_KEY: Recorded()}}[lacks]
    with pytest.raises(TypeError) as raised:
        await report_progress(ctx, 1)
    assert str(raised.value) == NO_STORE


async def test_any_mapping_of_a_jobs_ctx_is_one() -> None:
    reports = Recorded(interval=0)
    await report_progress(types.MappingProxyType(job_ctx(reports, "m")), 1)
    assert reports.stored[0][:2] == ("m", 1)
