"""Start latency, default-settings throughput and idle cost of a worker: django-arq against bare arq.

    .venv/bin/python bench/bench_start.py [--db postgres|sqlite] [--jobs 2000] [--latency-jobs 200]

Measured in one run, on a private redis-server (so that its command counter is the workers' own):

1. Throughput: one worker drains ``--jobs`` prefilled no-op jobs, in this process (wall and CPU
   time; records are written and flushed for django-arq with AUDIT on). django-arq at its default
   settings against bare arq at its default ``poll_delay`` and tuned to poll every 0.05 s.
   Targets: django-arq (records on) >= 1.3x bare arq at 0.05 s in jobs/s, CPU per job at most bare arq's.
2. Start latency: a worker process idles; jobs are enqueued one at a time at random gaps, each
   returns the time it started. Target for django-arq: median <= 5 ms, p99 <= 25 ms.
3. Idle cost: CPU seconds and Redis commands per second of an idle worker process, against bare
   arq's default polling. Target: no more than bare arq's.
Rounds are interleaved in a shuffled order; figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import PrivateRedis, cpu_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

QUEUE = "bench:start"
DJANGO, DJANGO_OFF = "django-arq, records on", "django-arq, AUDIT off"
BARE, BARE_FAST = "bare arq (poll 0.5 s)", "bare arq (poll 0.05 s)"


# -- 1. throughput, in this process ------------------------------------------------------------


async def drain(build: Any, jobs: int, prefill: Any) -> tuple[float, float]:
    """Wall and CPU seconds for one worker to run ``jobs`` prefilled jobs (records flushed)."""
    await prefill()
    worker = build()
    wall, cpu = time.perf_counter(), time.process_time()
    task = asyncio.create_task(worker.main())
    while worker.jobs_complete + worker.jobs_failed < jobs:
        if task.done():
            task.result()
        await asyncio.sleep(0.002)
    while not all(t.done() for t in worker.tasks.values()):  # the last results written
        await asyncio.sleep(0.002)
    recorder = getattr(worker, "recorder", None)
    if recorder is not None:
        await recorder.flush()
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await worker.close()
    assert worker.jobs_complete == jobs, worker
    return elapsed


async def throughput(jobs: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    import bench_jobs
    from arq import Worker, func
    from asgiref.sync import sync_to_async
    from django.conf import settings
    from django.test.utils import override_settings

    from django_arq import JobSpec, get_queue
    from django_arq.audit.on_commit import aflush_records
    from django_arq.models import JobRecord
    from django_arq.worker import create_worker

    queue = get_queue()
    backend = queue.backend
    specs = [JobSpec("bench_jobs.noop", (i,)) for i in range(jobs)]

    async def prefill() -> None:
        await sync_to_async(JobRecord.objects.all().delete)()
        await queue.enqueue_many(specs)
        await aflush_records()

    def bare(poll_delay: float) -> Any:
        return Worker(
            [func(bench_jobs.noop, name="bench_jobs.noop")],
            queue_name=QUEUE,
            redis_settings=backend.redis_settings,
            handle_signals=False,
            poll_delay=poll_delay,
            max_jobs=10,
            keep_result=3600,
            allow_abort_jobs=True,
            job_serializer=backend.serializer.dumps,
            job_deserializer=backend.serializer.loads,
        )

    def django_off() -> Any:
        with override_settings(ARQ_QUEUES={"default": {**settings.ARQ_QUEUES["default"], "AUDIT": False}}):
            return create_worker(handle_signals=False)

    builds = {
        DJANGO: lambda: create_worker(handle_signals=False),
        DJANGO_OFF: django_off,
        BARE: lambda: bare(0.5),
        BARE_FAST: lambda: bare(0.05),
    }
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in builds}
    shuffle = random.Random(1).shuffle
    for _ in range(rounds):
        order = list(builds.items())
        shuffle(order)
        for label, build in order:
            results[label].append(await drain(build, jobs, prefill))
    await queue.aclose()
    return results


# -- 2 and 3. latency and idle cost, with worker processes --------------------------------------


def start_worker(kind: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "django":
        cmd = [sys.executable, "-m", "django", "arq_worker"]
    else:
        cmd = [sys.executable, "-m", "arq", "bench_jobs.WorkerSettings"]
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def latencies(n: int) -> list[float]:
    """Milliseconds from enqueue to start for ``n`` jobs sent one at a time to an idle worker."""
    from django_arq import JobResultUnavailable, get_queue

    queue = get_queue().backend  # no records: the latency of the queue itself
    pick = random.Random(2).uniform
    out = []
    for _ in range(n):
        await asyncio.sleep(pick(0.01, 0.05))
        sent = time.time()
        meta = await queue.enqueue("bench_jobs.started_at")
        while True:
            try:
                result = await queue.get_job_result(meta.id)
                break
            except JobResultUnavailable:
                await asyncio.sleep(0.002)
        out.append((result.result - sent) * 1000)
    await queue.aclose()
    return out


def process_round(kind: str, env: dict[str, str], redis: PrivateRedis, n: int, idle: float) -> dict[str, Any]:
    worker = start_worker(kind, env)
    try:
        # Ready once the first job ran; then idle for a while, then the latency jobs.
        asyncio.run(latencies(1))
        time.sleep(1.0)
        calls = redis.command_calls()
        cpu, commands, t = cpu_seconds(worker.pid), redis.commands(), time.monotonic()
        time.sleep(idle)
        elapsed = time.monotonic() - t
        idle_cpu = (cpu_seconds(worker.pid) - cpu) / elapsed
        idle_commands = (redis.commands() - commands - 1) / elapsed  # minus our own INFO
        after = redis.command_calls()
        after["info"] -= 3  # ours: the first snapshot and the two totals
        by_command = {c: (v - calls.get(c, 0)) / elapsed for c, v in after.items() if v > calls.get(c, 0)}
        return {
            "latency": asyncio.run(latencies(n)),
            "idle_cpu": idle_cpu,
            "idle_commands": idle_commands,
            "by_command": by_command,
        }
    finally:
        worker.terminate()
        worker.wait(30)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs drained per throughput run")
    parser.add_argument("--latency-jobs", type=int, default=200, help="jobs per latency run")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    redis = PrivateRedis()
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from bench_records import configure

    configure(args.db, redis.url)
    from django.conf import settings
    from django.db import connection

    settings.ARQ_QUEUES["default"]["DEFAULT_QUEUE_NAME"] = QUEUE
    settings.ARQ_QUEUES["default"]["WORKER"] = {"FUNCTIONS": ["bench_jobs.noop", "bench_jobs.started_at"]}
    if args.db == "postgres":
        connection.settings_dict["TEST"]["NAME"] = f"django_arq_bench_start_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        drained = asyncio.run(throughput(args.jobs, args.rounds))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "DJANGO_ARQ_TEST_DB": "postgres" if args.db == "postgres" else "sqlite",
            "BENCH_REDIS_URL": redis.url,
            "BENCH_QUEUE": QUEUE,
            "BENCH_DB_NAME": connection.settings_dict["NAME"],
        }
        started: dict[str, list[dict[str, Any]]] = {"django": [], "bare": []}
        for _ in range(args.rounds):
            for kind in random.sample(list(started), 2):
                started[kind].append(process_round(kind, env, redis, args.latency_jobs, args.idle))
    finally:
        redis.stop()
        from asgiref.sync import SyncToAsync
        from django.db import connections

        SyncToAsync.single_thread_executor.submit(connections.close_all).result()  # the async ORM's
        connections.close_all()
        try:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        except Exception as exc:  # a connection some thread still holds: report, keep the figures
            print(f"(could not drop the benchmark database: {exc})", file=sys.stderr)

    print(f"\n== 1. one worker drains {args.jobs} no-op jobs ({args.db}; medians of {args.rounds} rounds) ==")
    fast = drained[BARE_FAST]
    for label, runs in drained.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        ratio = statistics.median(f[0] / r[0] for f, r in zip(fast, runs, strict=True))
        cpu_ratio = statistics.median(r[1] / f[1] for f, r in zip(fast, runs, strict=True))
        print(
            f"  {label:28} {args.jobs / wall:6.0f} jobs/s ({ratio:4.2f}x bare 0.05 s)"
            f"   {cpu / args.jobs * 1e3:5.2f} ms CPU/job ({cpu_ratio:4.2f}x bare 0.05 s)"
        )
    print(f"\n== 2. start latency, {args.latency_jobs} jobs to an idle worker, ms (all rounds) ==")
    for kind, label in (("django", "django-arq (defaults)"), ("bare", BARE)):
        values = [v for r in started[kind] for v in r["latency"]]
        print(
            f"  {label:28} median {pct(values, 0.5):6.1f}   p90 {pct(values, 0.9):6.1f}"
            f"   p99 {pct(values, 0.99):6.1f}   max {max(values):6.1f}"
        )
    print(f"\n== 3. idle worker over {args.idle:g} s (medians of rounds) ==")
    for kind, label in (("django", "django-arq (defaults)"), ("bare", BARE)):
        cpu = statistics.median(r["idle_cpu"] for r in started[kind]) * 1000
        commands = statistics.median(r["idle_commands"] for r in started[kind])
        print(f"  {label:28} {cpu:6.1f} ms CPU/s   {commands:5.2f} Redis commands/s")
        names = sorted({c for r in started[kind] for c in r["by_command"]})
        by_command = {c: statistics.median(r["by_command"].get(c, 0.0) for r in started[kind]) for c in names}
        print("    " + ", ".join(f"{c} {v:.2f}" for c, v in by_command.items() if v) + " (per s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
