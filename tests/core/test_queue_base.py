"""What ``ArqQueue`` itself gives every backend: its defaults, ``from_config``, the name check,
the abort wait, ``enqueue`` and ``get_job`` built on the abstract calls, the sync twins, and the
calls a backend may leave unsupported."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from django_arq.queues.base import DEFAULT_ABORT_TIMEOUT, ArqQueue, QueueConfig
from django_arq.queues.exceptions import JobNotFound
from django_arq.queues.jobs import JobMetadata, JobResult, JobSpec, JobStatus
from django_arq.queues.serializers import get_serializer

Found = TypeVar("Found", bound=JobMetadata)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def metadata(job_id: str, status: JobStatus) -> JobMetadata:
    return JobMetadata(job_id, "task", (), {}, WHEN, status, "q")


def result(job_id: str) -> JobResult:
    return JobResult(job_id, "task", (), {}, WHEN, JobStatus.complete, "q", WHEN, WHEN, True, "done")


def known(table: dict[str, Found], job_id: str) -> Found:
    """The entry of ``job_id``; ``JobNotFound`` if there is none, as a backend answers."""
    try:
        return table[job_id]
    except KeyError:
        raise JobNotFound(job_id) from None


class Plain(ArqQueue):
    """A backend with only the abstract calls: each notes its arguments and answers from a table."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[Any, ...]] = []
        self.metadata: dict[str, JobMetadata] = {}
        self.results: dict[str, JobResult] = {}

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        self._check_names(jobs)
        self.calls.append(("enqueue_many", list(jobs)))
        return [metadata(job.job_id or f"id-{i}", JobStatus.queued) for i, job in enumerate(jobs)]

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        self.calls.append(("abort_job", job_id, queue_name, self._abort_wait(timeout)))
        return job_id == "abortable"

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        self.calls.append(("get_job_metadata", job_id, queue_name))
        return known(self.metadata, job_id)

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        self.calls.append(("get_job_result", job_id, queue_name))
        return known(self.results, job_id)


def test_defaults_are_arqs_queue_the_default_abort_timeout_and_pickle() -> None:
    queue = Plain()
    assert queue.default_queue_name == "arq:queue"
    assert queue.abort_timeout == DEFAULT_ABORT_TIMEOUT == 10.0
    assert queue.serializer is get_serializer("pickle")
    assert queue.backend is queue
    assert queue.redis_settings is None
    assert queue.location == "memory"
    assert queue.jobs_run_in_process is False


def test_given_values_are_kept() -> None:
    queue = Plain(default_queue_name="mine", abort_timeout=2.5, serializer="json")
    assert queue.default_queue_name == "mine"
    assert queue.abort_timeout == 2.5
    assert queue.serializer is get_serializer("json")


def test_from_config_takes_the_queue_name_abort_timeout_and_serializer_of_the_alias() -> None:
    config = QueueConfig(default_queue_name="from:config", abort_timeout=3.5, serializer="json")
    queue = Plain.from_config(config)
    assert type(queue) is Plain
    assert queue.default_queue_name == "from:config"
    assert queue.abort_timeout == 3.5
    assert queue.serializer is get_serializer("json")


def test_the_name_check_sees_every_job_before_anything_is_sent() -> None:
    seen: list[list[JobSpec]] = []
    queue = Plain()
    queue.name_check = lambda jobs: seen.append(list(jobs))
    specs = [JobSpec("a"), JobSpec("b")]
    queue.enqueue_many_sync(specs)
    assert seen == [specs]

    def refuse(jobs: Sequence[JobSpec]) -> None:
        raise LookupError("no such task")

    queue.name_check = refuse
    with pytest.raises(LookupError, match="no such task"):
        queue.enqueue_many_sync([JobSpec("c")])
    assert [call[1] for call in queue.calls] == [specs]


def test_without_a_name_check_every_name_is_sent() -> None:
    queue = Plain()
    assert queue.name_check is None
    queue.enqueue_many_sync([JobSpec("anything")])
    assert queue.calls == [("enqueue_many", [JobSpec("anything")])]


@pytest.mark.parametrize(("timeout", "waited"), [(None, 4.5), (0, 0), (0.0, 0.0), (1.25, 1.25)])
def test_abort_waits_the_abort_timeout_only_when_no_timeout_is_given(
    timeout: float | None, waited: float
) -> None:
    queue = Plain(abort_timeout=4.5)
    assert queue.abort_job_sync("job", "q", timeout=timeout) is False
    assert queue.calls == [("abort_job", "job", "q", waited)]
    assert type(queue.calls[0][3]) is type(waited)


def test_enqueue_builds_one_spec_of_every_option() -> None:
    queue = Plain()
    until = datetime.now(UTC) + timedelta(hours=1)
    first = asyncio.run(
        queue.enqueue(
            "task",
            1,
            "two",
            _queue_name="q1",
            _job_id="job-1",
            _defer_until=until,
            _expires=30,
            key="value",
        )
    )
    second = queue.enqueue_sync(
        "task", 3, _queue_name="q2", _job_id="job-2", _defer_by=5, _expires=timedelta(seconds=9), x=1
    )
    third = asyncio.run(queue.enqueue("task", _defer_by=7))
    fourth = queue.enqueue_sync("task", _defer_until=until)
    assert (first.id, second.id, third.id, fourth.id) == ("job-1", "job-2", "id-0", "id-0")
    assert queue.calls == [
        ("enqueue_many", [JobSpec("task", (1, "two"), {"key": "value"}, "q1", "job-1", until, None, 30)]),
        ("enqueue_many", [JobSpec("task", (3,), {"x": 1}, "q2", "job-2", None, 5, timedelta(seconds=9))]),
        ("enqueue_many", [JobSpec("task", defer_by=7)]),
        ("enqueue_many", [JobSpec("task", defer_until=until)]),
    ]


def test_enqueue_without_options_leaves_them_unset() -> None:
    queue = Plain()
    queue.enqueue_sync("task")
    asyncio.run(queue.enqueue("task"))
    assert queue.calls == [("enqueue_many", [JobSpec("task")])] * 2


@pytest.mark.parametrize("status", [JobStatus.queued, JobStatus.deferred, JobStatus.in_progress])
def test_get_job_of_an_unfinished_job_is_its_metadata_without_reading_a_result(status: JobStatus) -> None:
    queue = Plain()
    queue.metadata["j"] = metadata("j", status)
    queue.results["j"] = result("j")
    assert queue.get_job_sync("j", "q") == metadata("j", status)
    assert queue.calls == [("get_job_metadata", "j", "q")]


def test_get_job_of_a_finished_job_is_its_result() -> None:
    queue = Plain()
    queue.metadata["j"] = metadata("j", JobStatus.complete)
    queue.results["j"] = result("j")
    assert asyncio.run(queue.get_job("j", "q")) == result("j")
    assert queue.calls == [("get_job_metadata", "j", "q"), ("get_job_result", "j", "q")]


def test_get_job_of_a_result_expired_between_the_reads_is_its_metadata() -> None:
    queue = Plain()
    queue.metadata["j"] = metadata("j", JobStatus.complete)
    got = queue.get_job_sync("j")
    assert got == metadata("j", JobStatus.complete)
    assert type(got) is JobMetadata
    assert queue.calls == [("get_job_metadata", "j", None), ("get_job_result", "j", None)]


def test_get_job_of_an_unknown_job_raises_job_not_found() -> None:
    with pytest.raises(JobNotFound):
        Plain().get_job_sync("nope")


def test_the_sync_twins_pass_their_arguments_and_return_the_answer() -> None:
    queue = Plain(abort_timeout=6.0)
    queue.metadata["m"] = metadata("m", JobStatus.queued)
    queue.results["m"] = result("m")
    assert queue.abort_job_sync("abortable") is True
    assert queue.get_job_metadata_sync("m", "q3") == metadata("m", JobStatus.queued)
    assert queue.get_job_result_sync("m", "q4") == result("m")
    assert queue.enqueue_many_sync([JobSpec("t", job_id="x")]) == [metadata("x", JobStatus.queued)]
    assert queue.calls[:3] == [
        ("abort_job", "abortable", None, 6.0),
        ("get_job_metadata", "m", "q3"),
        ("get_job_result", "m", "q4"),
    ]


def test_counting_jobs_and_listing_workers_are_unsupported_unless_a_backend_adds_them() -> None:
    queue = Plain()
    with pytest.raises(NotImplementedError, match=r"^Plain does not count jobs$"):
        queue.count_jobs_sync(["q"])
    with pytest.raises(NotImplementedError, match=r"^Plain does not count jobs$"):
        asyncio.run(queue.count_jobs(["q"]))
    with pytest.raises(NotImplementedError, match=r"^Plain has no worker heartbeats$"):
        queue.list_workers_sync("q", 60.0)
    with pytest.raises(NotImplementedError, match=r"^Plain has no worker heartbeats$"):
        asyncio.run(queue.list_workers("q", 60.0))


def test_closing_a_backend_without_connections_does_nothing() -> None:
    queue = Plain()
    assert queue.close() is None
    assert asyncio.run(queue.aclose()) is None
    assert queue.calls == []


class Counting(Plain):
    """A backend that counts jobs and lists workers: the sync twins reach these."""

    async def count_jobs(self, queue_names: Sequence[str]) -> list[Any]:
        return [("counted", list(queue_names))]

    async def list_workers(self, queue_name: str, lost_after: float) -> list[Any]:
        return [("listed", queue_name, lost_after)]


def test_the_sync_twins_of_counting_and_listing_reach_a_backend_that_supports_them() -> None:
    queue = Counting()
    assert queue.count_jobs_sync(["a", "b"]) == [("counted", ["a", "b"])]
    assert queue.list_workers_sync("q", 12.5) == [("listed", "q", 12.5)]
