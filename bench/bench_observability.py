"""What observability costs: enqueue and worker throughput with each mode on, against all off.

Target (DESIGN.md): metrics and traces each cost at most 10% of enqueue and worker throughput,
i.e. every mode at least 0.9x of "off". A mode is a set of settings (``MODES``); each round runs
every mode in a shuffled order on a private redis-server:

- enqueue: ``--jobs`` sequential async ``enqueue`` calls through ``get_queue()``, the modes
  taking turns every few dozen calls, each call inside a span of its own as a request's view
  would be (``--no-request-span``: none, every enqueue span a root); that span's own start and
  end are the request's cost, not django-arq's, and are left out of the time measured;
- worker: a burst ``create_worker()`` run of ``--jobs`` prefilled no-op jobs, wall and CPU time,
  once the prefill's spans are exported and its garbage collected (``settle``).

``AUDIT`` is off unless ``--audit`` (the project's default: a JobRecord written per job, by the
background writer, whose writes each turn waits for and counts; the worker updates them too) on
``--db`` (a SQLite file or a PostgreSQL database, made and dropped by the run). Off, nothing but
the observability differs: the worst case for its ratios.

The otel modes run an OpenTelemetry SDK whose spans go through a ``BatchSpanProcessor`` to an
exporter that drops them: what a project that exports its spans pays, less the export itself
(``--trace-sampling`` samples that fraction of traces, as ``ParentBased(TraceIdRatioBased)``:
under a request span the enqueue and the job's run follow the request's decision). The request
spans are made in every mode, "off" too.

``--steps`` measures instead the two steps that traces add to, without Redis or a worker: the
enqueue's protocol step (the job's payload and its span, its Redis call answered at once) and a job's run
(its span around a no-op coroutine), each traced and not, in turns: the CPU the SDK and
django-arq add per job, with less noise than throughput (its batching thread's CPU is counted).
Beside them, the SDK's floor: what the same span and carrier cost made by hand with the
OpenTelemetry API (enqueue: a producer span with the same attributes, injected and ended; run:
the carrier extracted, a consumer span made current and ended), so that django-arq's own share is
what the traced step adds above it.

The figures are the best of ``--rounds`` per mode, and in brackets the median over rounds of
the ratio to "off" within a round (paired: steadier on a machine whose speed drifts; above 1 is
better, for CPU per job too)::

    .venv/bin/python bench/bench_observability.py
    .venv/bin/python bench/bench_observability.py --audit --db postgres
    .venv/bin/python bench/bench_observability.py --jobs 3000 --rounds 5 --modes off,prometheus
    .venv/bin/python bench/bench_observability.py --modes off,otel --trace-sampling 0.1
    .venv/bin/python bench/bench_observability.py --steps --trace-sampling 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from harness import PrivateRedis  # noqa: E402 - after the path above

NAME, QUEUE = "tests.jobs.add", "django-arq-bench:observability"
#: Each mode: the settings it overrides, and keys of the benchmark's alias. "off" is the baseline
#: the others are compared with: no metrics, and the alias's ``TRACING`` off.
MODES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "off": ({"ARQ_METRICS": False}, {}),
    "prometheus": ({"ARQ_METRICS": True}, {}),
    "otel": ({"ARQ_METRICS": False}, {"TRACING": True}),
    "both": ({"ARQ_METRICS": True}, {"TRACING": True}),
}


def overrides(mode: str) -> dict[str, Any]:
    """The settings of ``mode``, for ``override_settings``."""
    from django.conf import settings

    extra, alias = MODES[mode]
    return {**extra, "ARQ_QUEUES": {"default": {**settings.ARQ_QUEUES["default"], **alias}}}


def install_tracing(sampling: float) -> None:
    """An OpenTelemetry SDK that samples ``sampling`` of the traces and drops what it exports."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(sampling)))
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    trace.set_tracer_provider(provider)


#: Enqueues per turn of a mode.
CHUNK = 50
#: Which columns of a result are rates (higher is better); the others are CPU times per job.
RATES = (0, 2)
WORKER = {"max_jobs": 10, "poll_delay": 0.05, "keep_result": 3600}


async def enqueue_rates(
    modes: list[str], jobs: int, shuffle: Any, request_span: bool, audit: bool
) -> dict[str, tuple[float, float]]:
    """Jobs per second of sequential async enqueues in each mode, and CPU microseconds per job; the
    modes take turns every ``CHUNK`` jobs (a machine whose load drifts slows them alike). Each
    enqueue runs in a request span if ``request_span``, made outside the time measured; with
    ``audit``, each turn ends when its records are written."""
    from contextlib import nullcontext

    from asgiref.sync import sync_to_async
    from django.test.utils import override_settings
    from opentelemetry import trace

    from django_arq import get_queue
    from django_arq.audit.writer import flush_records

    request = trace.get_tracer("bench.request").start_as_current_span if request_span else None
    queues = {}
    for mode in modes:
        with override_settings(**overrides(mode)):
            queues[mode] = get_queue()
    seconds, cpu = dict.fromkeys(modes, 0.0), dict.fromkeys(modes, 0.0)
    for first in range(0, jobs, CHUNK):
        order = list(modes)
        shuffle(order)
        for mode in order:
            queue = queues[mode]
            for i in range(first, min(first + CHUNK, jobs)):
                with request("GET /bench") if request else nullcontext():
                    start, start_cpu = time.perf_counter(), time.process_time()
                    await queue.enqueue(NAME, i, 1, _queue_name=QUEUE)
                    seconds[mode] += time.perf_counter() - start
                    cpu[mode] += time.process_time() - start_cpu
            if audit:
                start, start_cpu = time.perf_counter(), time.process_time()
                assert await sync_to_async(flush_records)(), "records not written"
                seconds[mode] += time.perf_counter() - start
                cpu[mode] += time.process_time() - start_cpu
    for queue in queues.values():
        await queue.aclose()
    return {mode: (jobs / seconds[mode], cpu[mode] / jobs * 1e6) for mode in modes}


def settle() -> None:
    """The spans of the enqueues that filled the queue exported, and the garbage collected: a
    worker's run pays for neither (a web process made them)."""
    import gc

    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    gc.collect()


async def worker_run(jobs: int) -> tuple[float, float]:
    """Jobs per second of a burst worker on ``jobs`` queued jobs, and its CPU microseconds per job."""
    from django_arq.worker import create_worker

    worker = create_worker(queue_name=QUEUE, burst=True, handle_signals=False, **WORKER)
    wall, cpu = time.perf_counter(), time.process_time()
    await worker.main()
    await worker.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert worker.jobs_complete == jobs, f"{worker.jobs_complete} of {jobs} jobs complete"
    return jobs / wall, cpu / jobs * 1e6


def span_count() -> Any:
    """A span processor whose ``ended`` counts the spans ended outside the bench's request spans."""
    from opentelemetry.sdk.trace import SpanProcessor

    class SpanCount(SpanProcessor):
        ended = 0

        def on_end(self, span: Any) -> None:
            if span.instrumentation_scope.name != "bench.request":
                self.ended += 1

    return SpanCount()


async def step_costs(calls: int, rounds: int) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """CPU microseconds per call of each traced step, untraced, traced and by hand (medians over
    rounds; they take turns every ``CHUNK`` calls), each call under a request span; and the spans
    each variant recorded per call, which shows that it measured what it says."""
    from opentelemetry import trace

    from django_arq import JobSpec
    from django_arq.queues.protocol import RedisProtocol
    from django_arq.queues.serializers import get_serializer
    from django_arq.tracing import enqueue_tracer, job_tracer

    request = trace.get_tracer("bench.request").start_as_current_span
    counted = span_count()
    trace.get_tracer_provider().add_span_processor(counted)  # type: ignore[attr-defined]
    serializer, specs = get_serializer("pickle"), [JobSpec(NAME, (1, 1))]
    enqueuer, jobs = enqueue_tracer(True), job_tracer(True, QUEUE, lambda job_id: False)
    assert enqueuer is not None and jobs is not None, "OpenTelemetry is not installed"
    protocols = (RedisProtocol(serializer, QUEUE), RedisProtocol(serializer, QUEUE, tracer=enqueuer))
    carriers: list[dict[str, str]] = []

    async def noop(ctx: dict[str, Any]) -> None:
        return None

    floor = by_hand()
    runs = (noop, jobs.traced(NAME, noop, carrier=carriers.pop), floor.run(noop, carriers.pop))

    async def enqueue_turn(variant: int) -> float:
        start, ended = time.process_time(), counted.ended
        for _ in range(CHUNK):
            with request("GET /bench"):
                if variant == FLOOR:
                    floor.enqueue()
                step = protocols[variant == 1].enqueue(specs)  # FLOOR: its span by hand, the step untraced
                next(step)  # its Redis call, answered: no id was taken
                with contextlib.suppress(StopIteration):
                    step.send([])
        spent = time.process_time() - start
        recorded[variant] += counted.ended - ended
        return spent

    async def run_turn(variant: int) -> float:
        for _ in range(CHUNK):  # the contexts of as many enqueues, for the traced runs to read
            with request("GET /bench"):
                carriers.append(enqueuer.spans([(NAME, QUEUE, "j")]).contexts[0].carrier)
        start, ended = time.process_time(), counted.ended
        for _ in range(CHUNK):
            await runs[variant]({"job_id": "j", "job_try": 1})
        spent = time.process_time() - start
        recorded[variant] += counted.ended - ended
        carriers.clear()
        return spent

    costs: dict[str, list[list[float]]] = {"enqueue": [], "run": []}
    spans: dict[str, tuple[float, ...]] = {}
    for step, turn in (("enqueue", enqueue_turn), ("run", run_turn)):
        recorded, made = [0, 0, 0], 0
        for _ in range(rounds):
            spent = [0.0, 0.0, 0.0]
            for _ in range(0, calls, CHUNK):
                for variant in (0, 1, FLOOR):
                    spent[variant] += await turn(variant)
                made += CHUNK
            costs[step].append([t / calls * 1e6 for t in spent])
        spans[step] = tuple(n / made for n in recorded)
    return {
        step: (tuple(statistics.median(r[i] for r in rows) for i in range(3)), spans[step])
        for step, rows in costs.items()
    }


#: The variant of a step that makes its span by hand (``by_hand``), after untraced (0) and traced (1).
FLOOR = 2


def by_hand() -> Any:
    """The span and carrier of each step made with the OpenTelemetry API alone, as the least an
    instrumentation can spend on them: ``enqueue()`` (without the protocol step, which the caller
    runs untraced) and ``run(fn, carrier)``, a coroutine function as ``JobTracer.traced`` makes."""
    from types import SimpleNamespace

    from opentelemetry import context, propagate, trace

    tracer = trace.get_tracer("bench.floor")
    producer, consumer = trace.SpanKind.PRODUCER, trace.SpanKind.CONSUMER
    attributes = {
        "messaging.system": "arq",
        "messaging.destination.name": QUEUE,
        "arq.job.id": "j",
        "arq.job.function": NAME,
        "arq.job.outcome": "enqueued",
    }

    def enqueue() -> dict[str, str]:
        span = tracer.start_span(f"enqueue {NAME}", kind=producer, attributes=attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        span.end()
        return carrier

    def run(fn: Any, carrier: Any) -> Any:
        async def traced(ctx: dict[str, Any]) -> Any:
            parent = propagate.extract(carrier())
            span = tracer.start_span(f"run {NAME}", context=parent, kind=consumer, attributes=attributes)
            token = context.attach(trace.set_span_in_context(span))
            try:
                return await fn(ctx)
            finally:
                context.detach(token)
                span.end()

        return traced

    return SimpleNamespace(enqueue=enqueue, run=run)


async def run(
    modes: list[str], jobs: int, rounds: int, redis: PrivateRedis, request_span: bool, audit: bool
) -> dict[str, list[tuple[float, ...]]]:
    from django.test.utils import override_settings

    results: dict[str, list[tuple[float, ...]]] = {mode: [] for mode in modes}
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        redis.client.flushdb()
        enqueue = await enqueue_rates(modes, jobs, shuffle, request_span, audit)
        order = list(modes)
        shuffle(order)
        workers = {}
        for mode in order:
            redis.client.flushdb()
            # the jobs the worker runs (traced in otel modes)
            await enqueue_rates([mode], jobs, shuffle, request_span, audit)
            settle()
            with override_settings(**overrides(mode)):
                workers[mode] = await worker_run(jobs)
        for mode in modes:
            results[mode].append((*enqueue[mode], *workers[mode]))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each mode")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, from: " + ", ".join(MODES))
    parser.add_argument("--steps", action="store_true", help="CPU per traced step, without Redis")
    parser.add_argument("--trace-sampling", type=float, default=1.0, help="fraction of traces sampled (otel)")
    parser.add_argument("--audit", action="store_true", help="write JobRecords (the default of a project)")
    parser.add_argument(
        "--db", choices=["sqlite", "postgres"], default="sqlite", help="the records' database"
    )
    parser.add_argument(
        "--no-request-span", dest="request_span", action="store_false", help="enqueue outside any span"
    )
    args = parser.parse_args()
    modes = ["off"] + [m for m in args.modes.split(",") if m != "off"]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown modes {unknown}; known: {', '.join(MODES)}")

    redis = PrivateRedis()
    try:
        os.environ["DJANGO_ARQ_TEST_DB"] = args.db if args.audit else "sqlite"
        import django
        from django.conf import settings

        settings.ARQ_QUEUES  # noqa: B018 - load tests.settings before changing it
        settings.ARQ_QUEUES["default"] = {
            **settings.ARQ_QUEUES["default"],
            "REDIS_URL": redis.url,
            "AUDIT": args.audit,
            "TRACING": False,
        }
        database = settings.DATABASES["default"]
        if not args.audit:  # nothing is written: a file of its own, never made
            database["NAME"] = os.path.join(tempfile.mkdtemp(), "unused.db")
        else:
            database.setdefault("TEST", {})["NAME"] = (
                "django_arq_bench_observability"
                if args.db == "postgres"
                else os.path.join(tempfile.mkdtemp(), "observability.db")
            )
        settings.DEBUG = False
        django.setup()
        install_tracing(args.trace_sampling)
        from django.db import connection

        if args.steps:
            costs = asyncio.run(step_costs(args.jobs, args.rounds))
            sampled = f"traces sampled {args.trace_sampling:g}"
            print(f"\n== CPU per step, {args.jobs} calls, median of {args.rounds} rounds, {sampled} ==")
            for step, ((off, on, floor), spans) in costs.items():
                print(
                    f"  {step:8} untraced {off:6.1f} us, traced {on:6.1f} us: {on - off:+5.1f} us"
                    f" (the SDK's floor, by hand: {floor - off:+5.1f} us)"
                )
                counts = f"untraced {spans[0]:g}, traced {spans[1]:g}, by hand {spans[2]:g}"
                print(f"  {'':8} spans per call: {counts}")
            return 0
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True) if args.audit else None
        try:
            results = asyncio.run(run(modes, args.jobs, args.rounds, redis, args.request_span, args.audit))
        finally:
            if old_name is not None:
                from django.db import connections

                connections.close_all()
                connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        redis.stop()

    sampled = f"traces sampled {args.trace_sampling:g}"
    audit = f"AUDIT on ({args.db})" if args.audit else "AUDIT off"
    parent = "under request spans" if args.request_span else "no request span"
    print(f"\n== {args.jobs} jobs per run, best of {args.rounds}, {audit}, {sampled}, {parent} ==")
    print(f"   worker {WORKER}")
    base = results["off"]
    for mode in modes:
        runs = results[mode]
        best = [max(r[i] for r in runs) if i in RATES else min(r[i] for r in runs) for i in range(4)]
        paired = [statistics.median(ratios(base, runs, i)) for i in range(4)]
        enqueue = f"{best[0]:6.0f} jobs/s ({paired[0]:5.3f}x) {best[1]:4.0f} us CPU/job ({paired[1]:5.3f}x)"
        worker = f"{best[2]:5.0f} jobs/s ({paired[2]:5.3f}x) {best[3]:4.0f} us CPU/job ({paired[3]:5.3f}x)"
        print(f"  {mode:12} enqueue {enqueue} | worker {worker}")
    if args.rounds > 1:
        print(
            f"\n   paired jobs/s ratios over the {args.rounds} rounds: quartiles, and rounds below {TARGET}x"
        )
        for mode in modes[1:]:
            spread = [spread_of(ratios(base, results[mode], i)) for i in RATES]
            print(f"  {mode:12} enqueue {spread[0]} | worker {spread[1]}")
    return 0


#: The least ratio to "off" the design allows each mode.
TARGET = 0.9


def ratios(base: list[tuple[float, ...]], runs: list[tuple[float, ...]], column: int) -> list[float]:
    """Each round's ratio of ``runs`` to ``base`` in ``column``, above 1 when better (CPU inverted)."""
    return [
        (r[column] / b[column]) if column in RATES else (b[column] / r[column])
        for b, r in zip(base, runs, strict=True)
    ]


def spread_of(values: list[float]) -> str:
    """The quartiles of ``values`` and how many fall below ``TARGET``, as one line's part."""
    first, _, third = statistics.quantiles(values, n=4)
    below = sum(v < TARGET for v in values)
    return f"{first:5.3f}x-{third:5.3f}x, {below} of {len(values)} below"


if __name__ == "__main__":
    sys.exit(main())
