"""AuditedQueue's aborts against a backend that gives a set answer: which records note the
request, and which keep what they had; and which aliases get the audit layer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from django_arq import MockArqQueue
from django_arq.audit import queue as audit_queue
from django_arq.audit.queue import AuditedQueue, audit_wrapper
from django_arq.audit.rows import storable_id
from django_arq.audit.writer import RecordWriter
from django_arq.conf import get_config
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
LONG_ID = "l" * 300


class Answering(MockArqQueue):
    """Answers every abort with ``answer`` (raised if it is an exception) and keeps the calls."""

    def __init__(self, answer: bool | BaseException) -> None:
        super().__init__()
        self.answer = answer
        self.calls: list[tuple[str, str | None, float | None]] = []

    def _answer(self, job_id: str, queue_name: str | None, timeout: float | None) -> bool:
        self.calls.append((job_id, queue_name, timeout))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._answer(job_id, queue_name, timeout)

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._answer(job_id, queue_name, timeout)


def make_records() -> None:
    values = {"name": "n", "enqueue_time": T0, "queue_name": "q"}
    JobRecord.objects.create(job_id="running", alias="a", **values)
    JobRecord.objects.create(job_id="running", alias="b", **values)  # another alias's job
    JobRecord.objects.create(job_id="finished", alias="a", finish_time=T0, **values)
    JobRecord.objects.create(job_id="asked", alias="a", abort_requested_at=T0, **values)
    JobRecord.objects.create(job_id=storable_id(LONG_ID), alias="a", **values)
    JobRecord.objects.create(job_id="idle", alias="a", **values)  # never aborted


def requested() -> dict[tuple[str, str], dt.datetime | None]:
    return {(r.alias, r.job_id): r.abort_requested_at for r in JobRecord.objects.all()}


Abort = Callable[..., bool]


@pytest.fixture(params=["sync", "async"])
def abort(request: pytest.FixtureRequest) -> Callable[[AuditedQueue], Abort]:
    if request.param == "sync":
        return lambda queue: queue.abort_job_sync
    return lambda queue: async_to_sync(queue.abort_job)


def test_an_abort_the_backend_took_is_noted_once(abort: Callable[[AuditedQueue], Abort]) -> None:
    make_records()
    backend = Answering(True)
    queue = AuditedQueue(backend, "a")
    before = timezone.now()
    for job_id in ("running", "finished", "asked", LONG_ID):
        assert abort(queue)(job_id, "q", timeout=1.5) is True
    assert backend.calls == [(i, "q", 1.5) for i in ("running", "finished", "asked", LONG_ID)]
    found = requested()
    for job_id in ("running", "finished", storable_id(LONG_ID)):  # aborted: even a finished record
        at = found["a", job_id]
        assert at is not None and before <= at <= timezone.now()
    assert found["a", "asked"] == T0  # the first request's time is kept
    assert found["b", "running"] is None and found["a", "idle"] is None


def test_an_abort_the_backend_refused_is_not_noted(abort: Callable[[AuditedQueue], Abort]) -> None:
    make_records()
    queue = AuditedQueue(Answering(False), "a")
    assert abort(queue)("running", None, timeout=None) is False
    assert requested()["a", "running"] is None


def test_an_abort_waiting_for_a_worker_is_noted_on_unfinished_records(
    abort: Callable[[AuditedQueue], Abort],
) -> None:
    make_records()
    backend = Answering(TimeoutError("no worker confirmed"))
    queue = AuditedQueue(backend, "a")
    for job_id in ("running", "finished", "asked", LONG_ID):
        with pytest.raises(TimeoutError):
            abort(queue)(job_id, "q", timeout=0.5)
    assert backend.calls[0] == ("running", "q", 0.5)
    found = requested()
    assert found["a", "running"] is not None and found["a", storable_id(LONG_ID)] is not None
    assert found["a", "finished"] is None  # it ended before the request: nothing to abort
    assert found["a", "asked"] == T0
    assert found["b", "running"] is None and found["a", "idle"] is None


def test_an_abort_right_after_the_enqueue_is_noted_on_the_record_the_writer_had_not_written(
    abort: Callable[[AuditedQueue], Abort], writers: list[RecordWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enqueue from async code hands its record to the background writer; an abort before the
    writer's next write still notes the request on that record."""
    slow = RecordWriter(interval=3600)  # writes only when flushed
    writers.append(slow)
    monkeypatch.setattr(audit_queue, "writer", slow)
    monkeypatch.setattr(audit_queue, "WRITER_WAIT", 60)  # a loaded machine's first write
    queue = AuditedQueue(Answering(TimeoutError("no worker confirmed")), "a")
    job = async_to_sync(queue.enqueue)("tests.jobs.add", 1, 2)
    assert job is not None and slow.pending() == 1
    with pytest.raises(TimeoutError):
        abort(queue)(job.id, None, timeout=0.5)
    assert requested()["a", job.id] is not None


def test_an_abort_of_a_job_whose_record_exists_does_not_wait_for_the_writer(
    abort: Callable[[AuditedQueue], Abort], writers: list[RecordWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record already asked (or finished) notes nothing, and the writer's other records are not
    waited for."""
    make_records()
    stuck = RecordWriter(interval=3600)
    writers.append(stuck)
    flushes: list[float] = []
    flush = stuck.flush
    stuck.flush = lambda timeout=10.0: flushes.append(timeout) or flush(timeout)  # type: ignore[method-assign]
    monkeypatch.setattr(audit_queue, "writer", stuck)
    queue = AuditedQueue(Answering(TimeoutError("no worker confirmed")), "a")
    async_to_sync(queue.enqueue)("tests.jobs.add", 1, 2)  # the writer holds a record
    for job_id in ("asked", "finished"):
        with pytest.raises(TimeoutError):
            abort(queue)(job_id, None, timeout=0.5)
    assert requested()["a", "asked"] == T0 and requested()["a", "finished"] is None
    assert flushes == []


class Waiting(MockArqQueue):
    """Takes every abort request, then waits for a worker that never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: asyncio.Event | None = None

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        assert self.requested is not None
        self.requested.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable: the wait is cancelled")


def test_an_abort_whose_caller_stops_waiting_is_noted_on_unfinished_records() -> None:
    """A cancelled wait (an HTTP client gone) leaves the request in place, as a timeout does: noted."""
    make_records()
    backend = Waiting()
    queue = AuditedQueue(backend, "a")

    async def abort_then_cancel(job_id: str) -> None:
        backend.requested = asyncio.Event()
        waiting = asyncio.ensure_future(queue.abort_job(job_id, "q", timeout=30))
        await backend.requested.wait()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    for job_id in ("running", "finished", "asked"):
        async_to_sync(abort_then_cancel)(job_id)
    found = requested()
    assert found["a", "running"] is not None
    assert found["a", "finished"] is None and found["a", "asked"] == T0
    assert found["b", "running"] is None and found["a", "idle"] is None


def test_the_audit_setting_decides_the_wrapper() -> None:
    backend = MockArqQueue()
    config = get_config("mock")
    assert audit_wrapper(backend, replace(config, audit=False)) is backend
    batched = audit_wrapper(backend, replace(config, audit=True))
    immediate = audit_wrapper(backend, replace(config, audit="immediate"))
    assert isinstance(batched, AuditedQueue) and isinstance(immediate, AuditedQueue)
    assert (batched.alias, batched.immediate, batched.backend) == ("mock", False, backend)
    assert (immediate.alias, immediate.immediate) == ("mock", True)
    assert AuditedQueue(backend, "a").immediate is False  # batched unless asked


def test_repr_names_the_alias_and_the_backend() -> None:
    backend: Any = MockArqQueue(default_queue_name="q1")
    assert repr(AuditedQueue(backend, "a")) == "<AuditedQueue alias='a' <MockArqQueue queue='q1' jobs=0>>"
