"""A WORKER settings dict checked: which keys arq takes as they are, which django-arq reads, and
every problem as a sentence (``manage.py check`` and ``create_worker`` report them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..conf import HEALTH_CHECK_INTERVAL, MAX_TRIES
from ..function_options import entry_problems, seconds_problem
from ..metrics.switch import INSTALL, metrics_enabled
from ..queues.heartbeats import LOST_AFTER, lost_after_problem
from ..queues.jobs import MAX_COUNT, check_queue_name
from ..queues.reporting import DEFAULT_INTERVAL

if TYPE_CHECKING:
    pass


__all__ = ["METRICS_ADDR", "OTHER_KEYS", "WORKER_SETTINGS", "metrics_port_problem", "worker_problems"]

#: WORKER keys that map one to one onto arq ``Worker`` arguments, with django-arq's defaults.
WORKER_SETTINGS: dict[str, tuple[str, Any]] = {
    "MAX_JOBS": ("max_jobs", 10),
    "JOB_TIMEOUT": ("job_timeout", 300),
    "KEEP_RESULT": ("keep_result", 3600),
    "KEEP_RESULT_FOREVER": ("keep_result_forever", False),
    "MAX_TRIES": ("max_tries", MAX_TRIES),
    "POLL_DELAY": ("poll_delay", 0.5),
    "QUEUE_READ_LIMIT": ("queue_read_limit", None),
    "ALLOW_ABORT_JOBS": ("allow_abort_jobs", True),
    "RETRY_JOBS": ("retry_jobs", True),
    "HEALTH_CHECK_INTERVAL": ("health_check_interval", HEALTH_CHECK_INTERVAL),
    "JOB_COMPLETION_WAIT": ("job_completion_wait", 0),
}
#: The other WORKER keys: handled by django-arq.
OTHER_KEYS = {
    "FUNCTIONS",  # dotted paths, or dicts of per-function options; the job name is the path
    "CRON_JOBS",  # dotted paths of arq CronJob objects, or dicts of arq.cron() arguments + "FUNCTION"
    "QUEUE_NAME",  # default: the alias's DEFAULT_QUEUE_NAME
    "ON_STARTUP",  # dotted path of a coroutine function(ctx)
    "ON_SHUTDOWN",
    "RECORD_FLUSH_INTERVAL",  # seconds between JobRecord writes (default 0.2)
    "RECORD_BATCH_SIZE",  # write sooner when this many jobs have changes (default 500)
    "PROGRESS_INTERVAL",  # seconds between two stored progress reports of a job (default 0.2)
    "METRICS_PORT",  # serve Prometheus metrics on this port (arq_worker --metrics-port)
    "METRICS_ADDR",  # ... on this address (default 0.0.0.0)
    "LOST_AFTER",  # seconds without a heartbeat after which a worker is lost (default 15)
    "MAX_JOBS_PER_PROCESS",  # recycling: exit 0 after this many jobs (default: never)
    "MAX_MEMORY",  # recycling: exit 0 once the process uses this many MB (default: never)
}
#: WORKER keys that are a count, and whether None (no limit) is one.
COUNTS = {
    "MAX_JOBS": False,
    "MAX_TRIES": False,
    "QUEUE_READ_LIMIT": True,
    "RECORD_BATCH_SIZE": False,
    "MAX_JOBS_PER_PROCESS": True,
    "MAX_MEMORY": True,
}
#: WORKER keys that are a number of seconds: whether 0 is one, and whether a timedelta is (arq
#: converts it for the first four only).
SECONDS = {
    "JOB_TIMEOUT": (False, True),
    "KEEP_RESULT": (True, True),
    "POLL_DELAY": (False, True),  # 0 would poll Redis without a pause
    "HEALTH_CHECK_INTERVAL": (False, True),
    "JOB_COMPLETION_WAIT": (True, False),
    "RECORD_FLUSH_INTERVAL": (True, False),
}
#: WORKER keys that are True or False.
FLAGS = ("KEEP_RESULT_FOREVER", "ALLOW_ABORT_JOBS", "RETRY_JOBS")
#: Where a worker's metrics are served when only the port is given, as prometheus-client does.
METRICS_ADDR = "0.0.0.0"  # noqa: S104 - a scraper on another host must reach it


def worker_problems(worker: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a WORKER dict, as sentences (empty if it is valid)."""
    problems = []
    unknown = set(worker) - set(WORKER_SETTINGS) - OTHER_KEYS
    if unknown:
        problems.append(f"WORKER has unknown keys {sorted(unknown)}")
    functions = worker.get("FUNCTIONS", [])
    if not isinstance(functions, list | tuple):
        problems.append("WORKER['FUNCTIONS'] must be a list of dotted paths or dicts")
    else:
        problems += [problem for entry in functions for problem in entry_problems(entry)]
    for key, unlimited in COUNTS.items():
        value = worker.get(key, 1)
        count = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_COUNT
        if not count and not (value is None and unlimited):
            problems.append(f"WORKER[{key!r}] must be a whole number from 1 to {MAX_COUNT}")
    for key, (zero, span) in SECONDS.items():
        if key in worker:
            value = worker[key]
            value = value.total_seconds() if span and isinstance(value, timedelta) else value
            if problem := seconds_problem(value, f"WORKER[{key!r}]", zero=zero):
                problems.append(problem)
    problems += [
        f"WORKER[{key!r}] must be True or False"
        for key in FLAGS
        if not isinstance(worker.get(key, True), bool)
    ]
    queue = worker.get("QUEUE_NAME")
    if queue is not None:
        try:
            check_queue_name(queue)
        except ValueError as exc:  # InvalidJob: not text, or one of arq's or django-arq's own keys
            problems.append(f"WORKER['QUEUE_NAME']: {exc}")
    interval = worker.get("PROGRESS_INTERVAL", DEFAULT_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0 <= interval <= 3600:
        problems.append("WORKER['PROGRESS_INTERVAL'] must be a number of seconds from 0 to 3600")
    port = worker.get("METRICS_PORT")
    if port is not None and (port_problem := metrics_port_problem(port)):
        problems.append(f"WORKER['METRICS_PORT'] {port_problem}")
    addr = worker.get("METRICS_ADDR", METRICS_ADDR)
    if not isinstance(addr, str) or not addr.strip():  # prometheus-client cannot bind "": no default
        problems.append(
            f"WORKER['METRICS_ADDR'] must be a host name or IP address, not {addr!r}; "
            f"leave it out to serve on every interface ({METRICS_ADDR})"
        )
    if problem := lost_after_problem(worker.get("LOST_AFTER", LOST_AFTER)):
        problems.append(problem)
    return problems


def metrics_port_problem(port: Any) -> str | None:
    """Why ``port`` cannot be a metrics port (0 picks a free one), or None if it can."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        return f"must be a port number from 0 to 65535, not {port!r}"
    if not metrics_enabled():
        return f"needs metrics, which are off (ARQ_METRICS = False, or no prometheus-client: {INSTALL})"
    return None
