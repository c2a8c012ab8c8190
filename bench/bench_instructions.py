"""What traces cost, counted in instructions (callgrind) rather than seconds: the same whatever the load.

For each mode (``off``, ``otel``) a burst worker drains ``--small`` and then ``--large``
prefilled no-op jobs under ``valgrind --tool=callgrind``, and the enqueues that fill its queue
are counted the same way (each under a request span, as in ``bench_observability.py``); the
difference between the two sizes, divided by the jobs between them, is the cost per job, without
the process's start-up. AUDIT is off: nothing but the observability differs, the worst case for
a ratio. Slow (a few minutes per run; eight runs)::

    .venv/bin/python bench/bench_instructions.py --trace-sampling 0
    .venv/bin/python bench/bench_instructions.py --trace-sampling 1 --small 100 --large 400
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MODES = ("off", "otel")


def phase(phase: str, mode: str, jobs: int, sampling: float, redis_url: str) -> None:
    """Run one phase in this process: ``fill`` the queue with ``jobs`` enqueues, or ``work`` them off."""
    sys.path[:0] = [str(BENCH), str(ROOT)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DJANGO_ARQ_TEST_DB"] = "sqlite"
    import bench_observability as observability
    from harness import setup_django_without_records

    setup_django_without_records(redis_url)
    observability.install_tracing(sampling)
    from django.test.utils import override_settings

    async def run() -> None:
        if phase == "fill":
            await observability.enqueue_rates([mode], jobs, random.Random(0).shuffle, True, False)
        else:
            with override_settings(**observability.overrides(mode)):
                await observability.worker_run(jobs)

    asyncio.run(run())


def counted(phase: str, mode: str, jobs: int, sampling: float, redis_url: str, out: Path) -> int:
    """The instructions of one phase run in a process of its own under callgrind."""
    command = [sys.executable, __file__, "--phase", phase, "--mode", mode, "--jobs", str(jobs)]
    command += ["--trace-sampling", str(sampling), "--redis-url", redis_url]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"}
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    done = subprocess.run(valgrind + command, env=env, capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count from callgrind: {done.stderr[-500:]}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trace-sampling", type=float, default=0.0, help="fraction of traces sampled")
    parser.add_argument("--small", type=int, default=100, help="jobs of the smaller run")
    parser.add_argument("--large", type=int, default=400, help="jobs of the larger run")
    parser.add_argument("--phase", choices=["fill", "work"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, args.mode, args.jobs, args.trace_sampling, args.redis_url)
        return 0
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed")
    if args.large <= args.small:
        parser.error("--large must be more than --small")
    sys.path.insert(0, str(BENCH))
    from harness import PrivateRedis

    redis = PrivateRedis()
    per_job: dict[tuple[str, str], float] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for mode in MODES:
                totals: dict[str, list[int]] = {"enqueue": [], "worker": []}
                for jobs in (args.small, args.large):
                    redis.client.flushdb()
                    out = Path(scratch, f"{mode}.{jobs}")
                    totals["enqueue"].append(
                        counted("fill", mode, jobs, args.trace_sampling, redis.url, out.with_suffix(".fill"))
                    )
                    totals["worker"].append(
                        counted("work", mode, jobs, args.trace_sampling, redis.url, out.with_suffix(".work"))
                    )
                for side, (small, large) in totals.items():
                    per_job[side, mode] = (large - small) / (args.large - args.small)
    finally:
        redis.stop()
    print(f"\n== instructions per job, traces sampled {args.trace_sampling:g}, AUDIT off ==")
    for side in ("enqueue", "worker"):
        off, on = per_job[side, "off"], per_job[side, "otel"]
        print(f"  {side:8} off {off / 1e3:8.1f} k, otel {on / 1e3:8.1f} k: {off / on:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
