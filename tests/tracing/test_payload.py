"""The trace context in a job's payload: a plain arq worker ignores it, and whatever a payload holds
there, the worker's span is made and the job runs."""

from __future__ import annotations

import asyncio
import pickle
import sys
import uuid
from collections import OrderedDict, UserString
from typing import Any

import pytest
import redis
from arq import Retry
from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_arq import JobStatus, RedisArqQueue
from django_arq.queues.serializers import get_serializer
from django_arq.tracing import PAYLOAD_KEY, job_tracer
from tests.helpers import ROOT, Process, wait_for

BARE_WORKERS = {
    "pickle": "tests.worker_settings.WorkerSettings",
    "json": "tests.core.json_worker_settings.WorkerSettings",
}
#: arq's job dict, as the worker's deserializer reads it.
JOB = {"f": "tests.jobs.fn", "a": (), "k": {}, "t": 1, "et": 0}
#: A sampled span's context, as a propagator writes it.
CARRIED = {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01"}


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_a_plain_arq_worker_runs_a_traced_job(
    serializer: str, tracer: trace.Tracer, redis_url: str, redis_client: redis.Redis
) -> None:
    name = f"{settings.TEST_QUEUE}:traced-{uuid.uuid4().hex}"
    env = {"ARQ_TEST_REDIS_URL": redis_url, "ARQ_TEST_QUEUE": name, "PYTHONPATH": str(ROOT)}
    worker = Process([sys.executable, "-m", "arq", BARE_WORKERS[serializer]], env=env)
    queue = RedisArqQueue(redis_url, default_queue_name=name, serializer=serializer)
    try:
        with tracer.start_as_current_span("request"):
            meta = queue.enqueue_sync("tests.jobs.add", 1, 2)
        payload = get_serializer(serializer).loads(redis_client.get(f"arq:job:{meta.id}"))
        assert payload[PAYLOAD_KEY]["traceparent"].split("-")[1] == meta.trace_id
        wait_for(lambda: queue.get_job_metadata_sync(meta.id).status is JobStatus.complete, timeout=30)
        result = queue.get_job_result_sync(meta.id)
        assert (result.success, result.result) == (True, 3)
    finally:
        worker.stop()
        queue.close()
        redis_client.delete(name, f"arq:result:{meta.id}")


class Collides:
    """A key that is no text, hashed as ``traceparent`` is, that cannot be compared."""

    def __hash__(self) -> int:
        return hash("traceparent")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparison")


class Touchy(str):
    """Text that cannot be compared."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparison")


class Unreadable(dict):  # type: ignore[type-arg]
    """A dict whose items cannot be read."""

    def items(self) -> Any:
        raise RuntimeError("no items")


HOSTILE = [
    "junk",
    5,
    float("nan"),
    None,
    [],
    {1: "a"},
    {"traceparent": 5},
    {"traceparent": "00-" + "z" * 32 + "-" + "0" * 16 + "-01"},
    {"traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"},  # the invalid all-zero trace id
    {"traceparent": "\x00"},
    {"traceparent": "\ud800"},
    {"traceparent": "x" * 100_000, "tracestate": "\ud800=\x00"},
    {**CARRIED, 1: "a"},  # a valid context beside something that is not text: ignored whole
    {**CARRIED, "tracestate": 5},
    # keys that are no text, though equal to "traceparent": no carrier (sampled or not)
    {UserString("traceparent"): CARRIED["traceparent"]},
    {UserString("traceparent"): CARRIED["traceparent"][:-2] + "00"},
    {Collides(): CARRIED["traceparent"]},
    {Touchy("traceparent"): CARRIED["traceparent"]},
]


def run_read_job(payload: Any, fn: Any, aborting: bool = False, pickled: bool = True) -> Any:
    """Read ``payload`` as the worker's deserializer does (through pickle unless not ``pickled``:
    then the deserializer gives it as it is), then run ``fn`` as a traced job, in a task of its own
    (as arq runs each job)."""
    tracer = job_tracer(True, "q", lambda job_id: aborting)
    assert tracer is not None
    read = tracer.reading(pickle.loads if pickled else lambda raw: payload)
    job = tracer.traced("tests.jobs.fn", fn)

    async def run() -> Any:
        read(pickle.dumps(payload) if pickled else b"")
        return await job({"job_id": "j1", "job_try": 2})

    return asyncio.run(run())


@pytest.mark.parametrize("carrier", HOSTILE, ids=repr)
def test_a_malformed_trace_context_gives_a_trace_of_its_own(
    carrier: Any, spans: InMemorySpanExporter
) -> None:
    async def fn(ctx: dict[str, Any]) -> str:
        return ctx["trace_id"]

    trace_id = run_read_job({**JOB, PAYLOAD_KEY: carrier}, fn)
    (span,) = spans.get_finished_spans()
    assert span.parent is None
    assert trace_id == f"{span.context.trace_id:032x}"
    assert span.attributes["arq.job.outcome"] == "success"


def test_a_trace_context_that_cannot_be_read_gives_a_trace_of_its_own(spans: InMemorySpanExporter) -> None:
    """A deserializer may give objects of any class (pickle does): one that raises when read is
    no carrier either."""
    carrier = Unreadable(CARRIED)
    trace_id = run_read_job({**JOB, PAYLOAD_KEY: carrier}, _returns_trace_id, pickled=False)
    (span,) = spans.get_finished_spans()
    assert span.parent is None and trace_id == f"{span.context.trace_id:032x}"


@pytest.mark.parametrize("sampled", [True, False], ids=["sampled", "unsampled"])
def test_a_payload_read_as_a_dict_subclass_carries_its_trace_context(
    sampled: bool, spans: InMemorySpanExporter
) -> None:
    """A deserializer may give the job dict as a subclass of dict (an OrderedDict, say)."""
    traceparent = CARRIED["traceparent"][:-2] + ("01" if sampled else "00")
    payload = OrderedDict({**JOB, PAYLOAD_KEY: {"traceparent": traceparent}})
    trace_id = run_read_job(payload, _returns_trace_id, pickled=False)
    assert trace_id == f"{0xACE:032x}"
    if sampled:
        (span,) = spans.get_finished_spans()
        assert (span.parent.trace_id, span.parent.span_id) == (0xACE, 0xBEE)
    else:
        assert spans.get_finished_spans() == ()


@pytest.mark.parametrize("tracestate", [{}, {"tracestate": "vendor=1"}], ids=["alone", "with-tracestate"])
def test_a_trace_context_beside_baggage_the_propagator_refuses_is_the_parent(
    tracestate: dict[str, str], spans: InMemorySpanExporter
) -> None:
    carrier = {**CARRIED, **tracestate, "baggage": "k=\ud800"}  # a lone surrogate: not encodable
    trace_id = run_read_job({**JOB, PAYLOAD_KEY: carrier}, _returns_trace_id)
    (span,) = spans.get_finished_spans()
    assert (span.parent.trace_id, span.parent.span_id, trace_id) == (0xACE, 0xBEE, f"{0xACE:032x}")
    assert dict(span.context.trace_state) == ({"vendor": "1"} if tracestate else {})


def test_the_reader_gives_each_payload_as_read_and_notes_only_its_own_context(
    spans: InMemorySpanExporter,
) -> None:
    """The deserializer arq is given returns what the serializer's ``loads`` read, whatever it is
    (arq judges it), and the context of the last payload read is the one the next job runs in."""
    tracer = job_tracer(True, "q", lambda job_id: False)
    assert tracer is not None
    read = tracer.reading(pickle.loads)
    job = tracer.traced("tests.jobs.fn", _returns_trace_id)
    traced = {**JOB, PAYLOAD_KEY: CARRIED}

    async def run() -> list[Any]:
        runs = []
        for payload in (traced, ["not", "a", "job"], traced, "junk"):
            assert read(pickle.dumps(payload)) == payload
            runs.append(await job({"job_id": "j1", "job_try": 1}))
        return runs

    carried = f"{0xACE:032x}"
    assert [trace_id == carried for trace_id in asyncio.run(run())] == [True, False, True, False]
    children, own = [], []
    for span in spans.get_finished_spans():
        (children if span.parent is not None else own).append(span)
    assert [(s.parent.trace_id, s.parent.span_id) for s in children] == [(0xACE, 0xBEE)] * 2
    assert len(own) == 2 and all(s.context.trace_id != 0xACE for s in own)


async def _returns_trace_id(ctx: dict[str, Any]) -> str:
    return ctx["trace_id"]


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("raised", "aborting", "outcome", "error_type"),
    [
        (Retry(defer=1), False, "retry", "arq.worker.Retry"),
        (asyncio.CancelledError(), True, "aborted", "asyncio.exceptions.CancelledError"),
        (asyncio.CancelledError(), False, "cancelled", "asyncio.exceptions.CancelledError"),
        (Unprintable(), False, "failure", f"{__name__}.Unprintable"),
    ],
    ids=["retry", "aborted", "cancelled", "unprintable"],
)
def test_each_way_a_job_ends_is_its_outcome(
    raised: BaseException, aborting: bool, outcome: str, error_type: str, spans: InMemorySpanExporter
) -> None:
    async def fn(ctx: dict[str, Any]) -> None:
        raise raised

    with pytest.raises(type(raised)):
        run_read_job(JOB, fn, aborting=aborting)
    (span,) = spans.get_finished_spans()
    assert span.attributes["arq.job.outcome"] == outcome
    assert span.attributes["error.type"] == error_type
    assert span.attributes["arq.job.try"] == 2
    assert span.status.is_ok is (outcome != "failure")


def test_spans_a_job_makes_are_children_of_its_run(tracer: trace.Tracer, spans: InMemorySpanExporter) -> None:
    async def fn(ctx: dict[str, Any]) -> None:
        with tracer.start_as_current_span("SELECT orders"):
            pass

    run_read_job(JOB, fn)
    inner, run = spans.get_finished_spans()
    assert (inner.name, run.name) == ("SELECT orders", "run tests.jobs.fn")
    assert inner.parent.span_id == run.context.span_id
