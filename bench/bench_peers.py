"""django-arq against its peers, side by side in one run: bare arq, django-rq, Celery, django-tasks-db.

    .venv/bin/python bench/bench_peers.py [--jobs 2000] [--insert-jobs 500] [--latency-jobs 100]
                                          [--rounds 3] [--systems django-arq,arq-0.05,...] [--idle 2]

From a fresh clone that one command is all: it needs the project's .venv (Python 3.11), a Python
3.13 (python3.13 on PATH, or pyenv's), redis-server on PATH, PostgreSQL on 127.0.0.1:5432 (user
postgres, trust) and PyPI. Each system runs in its own virtual environment (django-arq and bare
arq in the one running this script; the others under var/bench-venvs/<name>, created here from
bench/peers/requirements-<name>.txt when missing or when the pins change: a first run spends a
few minutes on that), through a small driver, bench/peers/<system>_peer.py, run by
bench/peers/run.py.
All use one private redis-server on a free port started here (nobody else's traffic counts),
PostgreSQL databases created here (bench_peers_<system>, dropped at the end) or a SQLite file,
DEBUG off and CONN_MAX_AGE 600. The job body is a no-op (or one ORM insert, below); each system
stores results its own way.

Per system and round (rounds interleaved, systems in a shuffled order each round):

1. enqueue: a Django process (bare arq: an event loop) enqueues a "begin" marker job, N no-op
   jobs one after the other (timed: µs per job; writes left in the background are flushed inside
   the timing), then an "end" marker. Nothing is running the jobs yet.
2. drain: one worker process starts; the marker jobs push the time their body started, and the
   worker's CPU then, onto a Redis list. jobs/s = N / (end started - begin started); worker CPU
   per job from /proc/<pid>/stat (user + system of the worker and its descendants: rq's forks,
   Celery's pool), read by the marker jobs themselves (the driver may get the CPU late on a
   loaded machine), minus the worker's idle CPU rate measured right after over ``--idle`` s.
   (arq runs up to 10 jobs at once: a few no-ops may still be finishing as the end marker starts.)
   The idle figures: CPU (in clock ticks of 10 ms, so coarse) and the private Redis's commands/s.
3. check: the driver waits until N + 2 successful results are stored (a failure otherwise),
   each system's own way (JobRecords, arq result keys, rq's finished registry, TaskResult and
   DBTaskResult rows),
   then sends ``--latency-jobs`` jobs one at a time to the now idle worker, at random gaps of up to
   ``--latency-gap`` s (so that they reach a polling worker at any point of its poll interval):
   start latency = body start - time before the enqueue call.
4. insert (systems with a database): steps 1 and 2 again with M jobs whose body inserts one row
   with the ORM (peers/peer_rows: ``Row.objects.create``, ``acreate`` in async job bodies), in a
   new worker; jobs/s and CPU per job as above (not net of idle), once the M rows are there.

Figures: medians over rounds; latency percentiles over all rounds' jobs. Failures are listed, and
make the exit status 1. Worker output goes to var/bench-peers/<system>.log, the table so far to
var/bench-peers/report.md after each round. A default run takes
the best part of an hour on 2 cores (the latency jobs wait for pollers); for a quick look:

    .venv/bin/python bench/bench_peers.py --jobs 300 --latency-jobs 30 --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import PrivateRedis
from peers.common import MARKS, tree_cpu_seconds

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / "peers"
VENVS = ROOT / "var" / "bench-venvs"
LOGS = ROOT / "var" / "bench-peers"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


@dataclasses.dataclass(frozen=True)
class System:
    key: str
    label: str
    venv: str  # "" for this project's .venv, else a name under var/bench-venvs
    driver: str
    worker_args: tuple[str, ...] = ()
    db: str = "postgres"  # postgres, sqlite, or "" for none
    scale: float = 1.0  # share of --jobs it drains (slow systems)


SYSTEMS = [
    System("django-arq", "django-arq, records on, defaults (poll 0.5 s)", "", "django_arq_peer"),
    System(
        "django-arq-0.05",
        "django-arq, records on, --poll-delay 0.05",
        "",
        "django_arq_peer",
        ("--poll-delay", "0.05"),
    ),
    System("arq-0.05", "bare arq, poll_delay 0.05", "", "arq_peer", ("0.05",), db=""),
    System("arq-0.5", "bare arq, poll_delay 0.5 (default)", "", "arq_peer", ("0.5",), db=""),
    System("rq-simple", "django-rq, SimpleWorker", "rq", "rq_peer", ("SimpleWorker",)),
    System("rq-fork", "django-rq, Worker (fork per job)", "rq", "rq_peer", ("Worker",), scale=0.25),
    System("celery-solo", "Celery + django-celery-results, -P solo", "celery", "celery_peer", ("-P", "solo")),
    System(
        "celery-prefork",
        "Celery + django-celery-results, -P prefork -c 2",
        "celery",
        "celery_peer",
        ("-P", "prefork", "-c", "2"),
    ),
    System("tasks-db-pg", "django-tasks-db, PostgreSQL", "tasks-db", "tasks_db_peer"),
    System("tasks-db-sqlite", "django-tasks-db, SQLite (WAL)", "tasks-db", "tasks_db_peer", db="sqlite"),
    System("arq-tasks-pg", "django-arq ArqBackend (django.tasks), PostgreSQL", "django6", "arq_tasks_peer"),
    System(
        "arq-tasks-sqlite",
        "django-arq ArqBackend (django.tasks), SQLite (WAL)",
        "django6",
        "arq_tasks_peer",
        db="sqlite",
    ),
]
VENV_PYTHON = {"rq": "3.11", "celery": "3.11", "tasks-db": "3.13", "django6": "3.13"}
TREE_ON_PATH = {"django6"}  # venvs that run this tree's django_arq from PYTHONPATH

NOT_LIKE_FOR_LIKE = [
    "Rows at enqueue: django-arq (AUDIT on) and django-tasks-db write a database row per job at "
    "enqueue (django-arq in a background writer, flushed inside the timing); rq and Celery write none.",
    "Results: django-arq writes the result to Redis and batches its record updates; bare arq and rq "
    "keep results in Redis only; Celery (django-db) and django-tasks-db commit a row per result.",
    "Concurrency: arq and django-arq run up to 10 jobs at once in one process (max_jobs); rq, "
    "Celery -P solo and django-tasks-db run one at a time. Bare arq reads at most 100 job ids per "
    "poll (queue_read_limit), so its jobs/s depend on poll_delay.",
    "Processes: every worker is one process but rq's Worker (a fork per job) and Celery -P prefork "
    "-c 2 (a parent and two pool processes, so up to two jobs at once on the machine's two cores); "
    "their CPU is the whole process tree's.",
    "One ORM insert: the same Row.objects.create() everywhere, but django-arq's async job body uses "
    "acreate() (a hop to Django's sync thread per insert) and ArqBackend runs the def task in a "
    "thread; on SQLite the enqueuing process and the worker write the same file. Its CPU per job is "
    "not net of idle.",
    "Waiting for work: rq and Celery block on Redis and start a job at once; bare arq polls every "
    "poll_delay; django-tasks-db polls its table every second (db_worker's default --interval 1); "
    "django-arq does what this tree's worker does (the header names the commit).",
    "Enqueue: bare arq has no sync API, its figure is async enqueue_job in one event loop; the others "
    "are sync calls (django_rq.enqueue, task.delay(), task.enqueue(), get_queue().enqueue_sync()). "
    "django_rq.enqueue() makes a new Redis client, so a new connection, per call (its documented use); "
    "code that holds an rq Queue avoids that cost.",
    "Idle Redis commands: django-arq's first heartbeat after a drain drops the jobs done since the "
    "last one from the worker's running set (two or three commands per job, in one script); when it "
    "falls in the idle seconds it shows there, about 1,000 commands/s: the drain's bookkeeping, late.",
    "Markers: the marker jobs push their start to Redis with a client of the worker's own (arq, "
    "django-arq) or one made once per process, which for rq's Worker is once per job (a fork): its "
    "start latency includes a Redis connect.",
    "Logging, each worker's default (to a file here): arq, django-arq, rq and django-tasks-db log a "
    "line or two per job, Celery only warnings.",
    "Versions: django-arq, bare arq, rq and Celery run on Python 3.11 / Django 5.2; django-tasks-db "
    "and django-arq's ArqBackend need Django 6 and run on Python 3.13 (Django 6.1). Every venv has hiredis.",
    "django.tasks: django-tasks-db and ArqBackend run the same plain-def @task functions; ArqBackend "
    "runs them in a thread of its asyncio worker, and writes a JobRecord at enqueue like django-arq.",
]


# -- environments --------------------------------------------------------------------------------


def python_of(system: System) -> Path:
    if not system.venv:
        return Path(sys.executable)  # this project's .venv, which runs this script
    return VENVS / system.venv / "bin" / "python"


def base_python(version: str) -> str:
    """An interpreter of ``version`` to make a venv with: this one, python3.X on PATH, or pyenv's."""
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    candidates = [shutil.which(f"python{version}"), *sorted(PYENV.glob(f"{version}.*/bin/python{version}"))]
    for candidate in filter(None, candidates):
        probe = [str(candidate), "-c", "import sys, venv; print(sys.version_info[:2])"]
        found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if found == str(tuple(int(part) for part in version.split("."))):
            return str(candidate)
    sys.exit(f"bench_peers.py: no Python {version} (python{version} on PATH, or pyenv install {version})")


def ensure_venv(name: str) -> None:
    """Create var/bench-venvs/<name> from its pinned requirements, or bring it up to date."""
    requirements = PEERS / f"requirements-{name}.txt"
    venv, stamp = VENVS / name, VENVS / name / "requirements.txt"
    if stamp.exists() and stamp.read_text() == requirements.read_text():
        return
    print(f"# setting up {venv} from {requirements.name}", file=sys.stderr)
    if not (venv / "bin" / "python").exists():
        subprocess.run([base_python(VENV_PYTHON[name]), "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements)]
    subprocess.run(pip, check=True)
    shutil.copyfile(requirements, stamp)


def pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def db_name(system: System, sqlite_dir: Path) -> str:
    if system.db == "sqlite":
        return str(sqlite_dir / f"{system.key}.sqlite3")
    return f"bench_peers_{system.venv or 'main'}".replace("-", "_")


# -- one system, one round -----------------------------------------------------------------------


class Failed(Exception):
    pass


def driver(system: System, env: dict[str, str], *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run a driver subcommand; its last stdout line is JSON."""
    cmd = [str(python_of(system)), str(PEERS / "run.py"), system.driver, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise Failed(f"`{' '.join(args)}` exited {proc.returncode}: {' | '.join(tail)}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def wait_mark(redis: Any, token: str, timeout: float, worker: subprocess.Popen[bytes]) -> tuple[float, float]:
    """When the marker job ``token`` started, and the worker's CPU seconds then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        popped = redis.blpop([MARKS], timeout=1)
        if popped is not None:
            got, at, cpu = popped[1].decode().split()
            if got != token:
                raise Failed(f"marker {got!r} started while waiting for {token!r}")
            return float(at), float(cpu)
        if worker.poll() is not None:
            raise Failed(f"worker exited ({worker.returncode}) before the {token!r} marker started")
    raise Failed(f"no {token!r} marker within {timeout:.0f} s")


@contextlib.contextmanager
def worker_process(system: System, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One worker of ``system``, logging to ``log``; terminated on the way out."""
    cmd = [str(python_of(system)), str(PEERS / "run.py"), system.driver, "worker", *system.worker_args]
    with log.open("ab") as out:
        worker = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield worker
        if worker.poll() is not None:
            raise Failed(f"worker exited ({worker.returncode}) during the run")
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def drain(redis: Any, worker: subprocess.Popen[bytes], n: int) -> tuple[float, float]:
    """Seconds from the begin marker's start to the end marker's, and the worker's CPU seconds meanwhile."""
    begin, cpu0 = wait_mark(redis, "begin", 180, worker)
    end, cpu1 = wait_mark(redis, "end", 120 + n * 0.2, worker)
    return end - begin, cpu1 - cpu0


def run_round(
    system: System, env: dict[str, str], redis: PrivateRedis, args: argparse.Namespace, n: int, log: Path
) -> dict[str, Any]:
    redis.client.flushall()
    enqueued = driver(system, env, "prefill", str(n), "noop")
    with worker_process(system, env, log) as worker:
        wall, cpu = drain(redis.client, worker, n)
        time.sleep(0.5)
        idle_cpu, idle_commands, idle_t = tree_cpu_seconds(worker.pid), redis.commands(), time.monotonic()
        time.sleep(args.idle)
        idle_elapsed = time.monotonic() - idle_t
        idle_rate = (tree_cpu_seconds(worker.pid) - idle_cpu) / idle_elapsed
        idle_commands = (redis.commands() - idle_commands - 1) / idle_elapsed  # minus our own INFO
        checked = driver(system, env, "check", str(n), str(args.latency_jobs), str(args.latency_gap))
    result = {
        "enqueue_us": enqueued["enqueue_us"],
        "async_enqueue": enqueued["async"],
        "jobs_s": n / wall,
        "cpu_ms": cpu / n * 1000,
        "net_cpu_ms": (cpu - idle_rate * wall) / n * 1000,
        "idle_cpu_ms_s": idle_rate * 1000,
        "idle_commands_s": idle_commands,
        "latency_ms": checked["latency_ms"],
        "errors": list(checked["errors"]),
    }
    if checked["done"] != n + 2:
        result["errors"].insert(0, f"{checked['done']} successful results stored, not {n + 2}")
    if system.db and args.insert_jobs:  # the same again, each job inserting one row with the ORM
        m = max(1, int(args.insert_jobs * system.scale))
        redis.client.flushall()
        driver(system, env, "prefill", str(m), "insert")
        with worker_process(system, env, log) as worker:
            wall, cpu = drain(redis.client, worker, m)
            rows = driver(system, env, "rows", str(m))["rows"]
        if rows == m:
            result["insert_jobs_s"], result["insert_cpu_ms"] = m / wall, cpu / m * 1000
        else:
            result["errors"].append(f"insert jobs wrote {rows} rows, not {m}")
    return result


# -- report --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"nproc {os.cpu_count()}, {model}, load average {load}"


def tree() -> str:
    """The commit django-arq was measured at, and whether django_arq/ had uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "django_arq"], capture_output=True, text=True
    )
    return head + (" plus uncommitted changes in django_arq/" if dirty.stdout.strip() else "")


def versions(measured_tree: str) -> str:
    pins = {}
    for name in VENV_PYTHON:
        for line in (PEERS / f"requirements-{name}.txt").read_text().splitlines():
            if "==" in line:
                package, version = line.split("==")
                pins[package.lower().replace("_", "-")] = version
    code = "import arq, django; print(arq.VERSION, django.__version__)"
    main = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    wanted = ["django-rq", "rq", "celery", "django-celery-results", "kombu", "django-tasks-db"]
    found = ", ".join(f"{p} {pins[p]}" for p in wanted if p in pins)
    return (
        f"django-arq at {measured_tree}, with arq {main[0]}, Django {main[1]}; "
        f"peers: {found} (Django 6.1 for django-tasks-db and ArqBackend)"
    )


def report(
    systems: list[System],
    results: dict[str, list[dict[str, Any]]],
    failures: dict[str, list[str]],
    args: argparse.Namespace,
    measured_tree: str,
    rounds_done: int,
) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n## Peer benchmark, {now}\n")
    print(f"Machine: {machine()}.  ")
    print(f"{versions(measured_tree)}.  ")
    print(
        f"N = {args.jobs} no-op jobs and M = {args.insert_jobs} one-ORM-insert jobs per drain (scaled "
        f"where noted), {args.latency_jobs} latency jobs per round, {rounds_done} of {args.rounds} "
        "interleaved round(s); medians over rounds.\n"
    )
    print("| system | sync enqueue µs/job | jobs/s, one worker drains N | worker CPU ms/job (net of idle) "
          "| one-ORM-insert jobs/s (CPU ms/job) | idle worker CPU ms/s, Redis commands/s "
          "| start latency ms median / p90 / p99 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for system in systems:
        runs = results[system.key]
        n = max(1, int(args.jobs * system.scale))
        label = system.label + (f" (N = {n})" if n != args.jobs else "")
        if not runs:
            print(f"| {label} | failed | | | | | |")
            continue
        enqueue = statistics.median(r["enqueue_us"] for r in runs)
        enqueue_text = f"(async {enqueue:,.0f})" if runs[0]["async_enqueue"] else f"{enqueue:,.0f}"
        lat = [v for r in runs for v in r["latency_ms"]]
        lat_text = f"{pct(lat, 0.5):.1f} / {pct(lat, 0.9):.1f} / {pct(lat, 0.99):.1f}" if lat else "none"
        inserts = [r for r in runs if "insert_jobs_s" in r]
        insert_text = (
            f"{statistics.median(r['insert_jobs_s'] for r in inserts):,.0f} "
            f"({statistics.median(r['insert_cpu_ms'] for r in inserts):.2f})"
            if inserts
            else ("no database" if not system.db else "not run" if not args.insert_jobs else "failed")
        )
        print(
            f"| {label} | {enqueue_text} | {statistics.median(r['jobs_s'] for r in runs):,.0f} "
            f"| {statistics.median(r['net_cpu_ms'] for r in runs):.2f} "
            f"({statistics.median(r['cpu_ms'] for r in runs):.2f} gross) | {insert_text} "
            f"| {statistics.median(r['idle_cpu_ms_s'] for r in runs):.0f}, "
            f"{statistics.median(r['idle_commands_s'] for r in runs):.1f} | {lat_text} |"
        )
    print("\nNot like for like:\n")
    for line in NOT_LIKE_FOR_LIKE:
        print(f"- {line}")
    problems = [(key, f) for key, fs in failures.items() for f in fs]
    print("\nFailures and errors:" if problems else "\nFailures and errors: none.")
    for key, problem in problems:
        print(f"- {key}: {problem}")


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs drained per run (N)")
    parser.add_argument("--latency-jobs", type=int, default=100, help="jobs per latency run")
    parser.add_argument(
        "--latency-gap",
        type=float,
        default=1.0,
        help="latency jobs are up to this many seconds apart, at random (at least the longest poll interval)",
    )
    parser.add_argument(
        "--insert-jobs", type=int, default=500, help="one-ORM-insert jobs drained per run (M; 0: none)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=2.0, help="seconds of idle CPU measurement")
    keys = [s.key for s in SYSTEMS]
    parser.add_argument("--systems", default=",".join(keys), help="comma-separated, of: " + ", ".join(keys))
    args = parser.parse_args()
    chosen = [s for s in SYSTEMS if s.key in args.systems.split(",")]
    unknown = set(args.systems.split(",")) - set(keys)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")

    for name in sorted({s.venv for s in chosen if s.venv}):
        ensure_venv(name)
    LOGS.mkdir(parents=True, exist_ok=True)
    for system in chosen:
        (LOGS / f"{system.key}.log").unlink(missing_ok=True)
    measured_tree = tree()  # at the start: the tree may change during a run
    sqlite_dir = Path(tempfile.mkdtemp(prefix="bench-peers-sqlite-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("# terminated"))  # still clean up below
    redis = PrivateRedis()
    databases = sorted({db_name(s, sqlite_dir) for s in chosen if s.db == "postgres"})
    results: dict[str, list[dict[str, Any]]] = {s.key: [] for s in chosen}
    failures: dict[str, list[str]] = {s.key: [] for s in chosen}
    envs: dict[str, dict[str, str]] = {}
    try:
        for name in databases:
            pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg_execute(f'CREATE DATABASE "{name}"')
        for system in chosen:
            env = {**os.environ, "BENCH_REDIS_URL": redis.url, "BENCH_DB": system.db or "none"}
            env["BENCH_DB_NAME"] = db_name(system, sqlite_dir) if system.db else ""
            env.pop("DJANGO_SETTINGS_MODULE", None)
            if system.venv in TREE_ON_PATH:
                env["PYTHONPATH"] = str(ROOT)
            envs[system.key] = env
            if system.db:
                try:
                    driver(system, env, "migrate")
                except Exception as exc:
                    failures[system.key].append(f"migrate: {exc}")
        shuffle = random.Random(os.getpid()).shuffle
        for round_no in range(1, args.rounds + 1):
            order = [s for s in chosen if not any(f.startswith("migrate") for f in failures[s.key])]
            shuffle(order)
            for system in order:
                n = max(1, int(args.jobs * system.scale))
                log = LOGS / f"{system.key}.log"
                started = time.monotonic()
                try:
                    result = run_round(system, envs[system.key], redis, args, n, log)
                except Exception as exc:
                    failures[system.key].append(f"round {round_no}: {exc} (worker log: {log})")
                    print(f"# round {round_no} {system.key}: FAILED {exc}", file=sys.stderr)
                    continue
                failures[system.key].extend(f"round {round_no}: {e}" for e in result["errors"])
                if not any("results stored" in e for e in result["errors"]):
                    results[system.key].append(result)
                inserts = f", inserts {result['insert_jobs_s']:.0f}/s" if "insert_jobs_s" in result else ""
                print(
                    f"# round {round_no} {system.key}: {result['jobs_s']:.0f} jobs/s, "
                    f"enqueue {result['enqueue_us']:.0f} µs{inserts}, {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                )
            with (LOGS / "report.md").open("w") as out, contextlib.redirect_stdout(out):
                report(chosen, results, failures, args, measured_tree, rounds_done=round_no)
    finally:
        redis.stop()
        for name in databases:
            try:
                pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:
                print(f"# could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(sqlite_dir, ignore_errors=True)
    report(chosen, results, failures, args, measured_tree, rounds_done=args.rounds)
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
