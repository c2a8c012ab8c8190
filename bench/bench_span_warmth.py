"""What one OpenTelemetry call costs inside a running worker, against the same call repeated in a loop.

Tight-loop figures (``bench_observability.py --steps``, or timing ``start_span`` alone) undercount
what a traced job pays: between two jobs the worker runs arq's, redis-py's, asyncio's and
django-arq's own code, and the SDK's code and data are no longer in the CPU's caches when the next
span starts. This measures it inside real jobs: a burst worker (``TRACING`` off, so nothing else
makes spans) runs ``--jobs`` probe jobs, each of which times, in thread CPU:

- the first call of an operation in the job (cold: what a traced job pays per span),
- the same call right after it,
- the mean of ``--warm`` more calls in a row (warm: what a tight loop measures);

for each operation: an SDK span with the attributes of a job's run span (``start_span`` and
``end``, under a recording ``ParentBased`` sampler whose spans go through a ``BatchSpanProcessor``
to an exporter that drops them), and the propagator's ``extract`` of a W3C ``traceparent``. The
figures are medians over the jobs. AUDIT is off::

    .venv/bin/python bench/bench_span_warmth.py
    .venv/bin/python bench/bench_span_warmth.py --jobs 2000 --warm 100
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from harness import PrivateRedis, setup_django_without_records  # noqa: E402 - after the path above

QUEUE = "django-arq-bench:warmth"
CARRIER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
ATTRIBUTES = {
    "messaging.system": "arq",
    "messaging.destination.name": QUEUE,
    "arq.job.id": "0123456789abcdef0123456789abcdef",
    "arq.job.function": "bench_span_warmth.probe",
    "arq.job.try": 1,
}
#: Per operation, per job: (cold, again, warm) thread-CPU microseconds, filled by the probes.
TIMINGS: dict[str, list[tuple[float, float, float]]] = {"span": [], "extract": []}


def operations() -> dict[str, Callable[[], Any]]:
    """The operations the probe times, made with the OpenTelemetry API."""
    from opentelemetry import propagate, trace

    tracer = trace.get_tracer("bench.warmth")
    parent = propagate.extract(CARRIER)
    consumer = trace.SpanKind.CONSUMER

    def span() -> None:
        tracer.start_span("run probe", context=parent, kind=consumer, attributes=ATTRIBUTES).end()

    return {"span": span, "extract": lambda: propagate.extract(CARRIER)}


def timed(call: Callable[[], Any], times: int = 1) -> float:
    """Thread-CPU microseconds per call of ``times`` calls of ``call`` in a row."""
    start = time.thread_time()
    for _ in range(times):
        call()
    return (time.thread_time() - start) / times * 1e6


async def probe(ctx: dict[str, Any], warm: int) -> None:
    """A job that times each operation cold, again, then warm (see the module's docstring)."""
    for name, call in operations().items():
        TIMINGS[name].append((timed(call), timed(call), timed(call, warm)))


async def run_worker(jobs: int, warm: int) -> None:
    from django_arq import JobSpec, get_queue
    from django_arq.worker import create_worker

    queue = get_queue()
    await queue.enqueue_many([JobSpec("bench_span_warmth.probe", (warm,), queue_name=QUEUE)] * jobs)
    await queue.aclose()
    worker = create_worker(queue_name=QUEUE, burst=True, handle_signals=False, max_jobs=10)
    await worker.main()
    await worker.close()
    assert worker.jobs_complete == jobs, f"{worker.jobs_complete} of {jobs} jobs complete"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000, help="probe jobs")
    parser.add_argument("--warm", type=int, default=50, help="calls in a row for the warm figure")
    args = parser.parse_args()
    redis = PrivateRedis()
    try:
        setup_django_without_records(redis.url, WORKER={"FUNCTIONS": ["bench_span_warmth.probe"]})
        import bench_observability

        bench_observability.install_tracing(1.0)
        asyncio.run(run_worker(args.jobs, args.warm))
    finally:
        redis.stop()
    # the worker imported the probe by its dotted path: a module of its own, not this __main__
    timings = importlib.import_module("bench_span_warmth").TIMINGS
    print(f"\n== thread CPU per call inside {args.jobs} jobs of a worker, medians (us) ==")
    for name, rows in timings.items():
        cold, again, warm = (statistics.median(row[i] for row in rows) for i in range(3))
        print(
            f"  {name:8} first in the job {cold:6.1f}, right after {again:6.1f}, "
            f"{args.warm} in a row {warm:6.1f}: the first costs {cold / warm:4.1f}x a warm call"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
