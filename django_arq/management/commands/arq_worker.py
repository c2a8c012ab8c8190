"""``manage.py arq_worker``: run an arq worker for one ARQ_QUEUES alias, inside Django."""

from __future__ import annotations

import asyncio
import atexit
import logging
import logging.config
import os
import sys
import traceback
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db import connections
from redis.exceptions import RedisError

from django_arq.audit.migrated import not_migrated
from django_arq.conf import DEFAULT_ALIAS
from django_arq.handler import get_queue
from django_arq.queues.arq_internals import default_log_config
from django_arq.queues.exceptions import ArqJobError
from django_arq.queues.health import read_health
from django_arq.queues.heartbeats import WorkerEntry
from django_arq.worker import DjangoWorker, create_worker
from django_arq.worker.lingering import outliving, thread_names
from django_arq.worker.settings import metrics_port_problem

from ..cli import OneLineUsage, positive_int, positive_seconds


def banner(worker: DjangoWorker) -> list[str]:
    """What the worker runs and how, for its first lines of output."""
    settings = worker.redis_settings
    where = f"redis://{settings.host}:{settings.port}/{settings.database}" if settings else "redis"
    functions = sorted(name for name, f in worker.functions.items() if f not in worker.cron_jobs)
    lines = [
        f"django-arq worker for alias {worker.alias!r}: queue {worker.queue_name!r} on {where}",
        f"  functions ({len(functions)}): " + ", ".join(functions),
    ]
    if worker.cron_jobs:
        lines.append(f"  cron jobs ({len(worker.cron_jobs)}): " + ", ".join(c.name for c in worker.cron_jobs))
    lines.append(
        f"  max_jobs={worker.max_jobs} job_timeout={worker.job_timeout_s:g}s "
        f"keep_result={worker.keep_result_s:g}s max_tries={worker.max_tries} "
        f"poll_delay={worker.poll_delay_s:g}s "
        f"aborts={'on' if worker.allow_abort_jobs else 'off'} records={'on' if worker.recorder else 'off'}"
        + f" metrics={'on' if worker.metrics else 'off'}"
        + (" burst" if worker.burst else "")
    )
    return lines


def worker_line(entry: WorkerEntry) -> str:
    """One line about a worker, from its heartbeat."""
    age = "" if entry.age is None else f", last beat {entry.age:.0f} s ago"
    return (
        f"{entry.id} ({entry.state}{age}): pid {entry.get('pid')} on {entry.get('host')}, "
        f"{len(entry.running)} running, {entry.get('done', 0)} done, {entry.get('failed', 0)} failed"
    )


def redis_location(alias: str) -> str:
    """The alias's Redis URL with its password hidden, for messages."""
    return get_queue(alias).location


class Command(OneLineUsage):
    help = (
        "Run an arq worker for an ARQ_QUEUES alias, with its WORKER settings (FUNCTIONS, CRON_JOBS, "
        "MAX_JOBS, JOB_TIMEOUT, ...), Django set up, and JobRecords kept current when the alias has AUDIT "
        "on. "
        "Stops cleanly on SIGINT/SIGTERM (running jobs are cancelled and go back to the queue)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--alias", default=DEFAULT_ALIAS, help="ARQ_QUEUES alias (default: %(default)s)")
        parser.add_argument(
            "--queue", help="queue to read (default: WORKER QUEUE_NAME, else DEFAULT_QUEUE_NAME)"
        )
        parser.add_argument(
            "--burst",
            action="store_true",
            help="run the jobs that are due (and their retries), then exit; deferred jobs not yet due "
            "are left for a later run",
        )
        parser.add_argument(
            "--max-burst-jobs", type=positive_int, help="in burst mode, stop after this many jobs"
        )
        parser.add_argument(
            "--max-jobs", type=positive_int, help="jobs run at the same time (WORKER MAX_JOBS)"
        )
        parser.add_argument(
            "--poll-delay", type=positive_seconds, help="seconds between queue polls (WORKER POLL_DELAY)"
        )
        parser.add_argument(
            "--job-timeout", type=positive_seconds, help="seconds a job may run (WORKER JOB_TIMEOUT)"
        )
        parser.add_argument(
            "--max-tries", type=positive_int, help="tries before a job fails (WORKER MAX_TRIES)"
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            help="serve Prometheus metrics at http://0.0.0.0:PORT/metrics (WORKER METRICS_PORT; 0: a free "
            "port, printed at start); needs django-arq[prometheus]",
        )
        parser.add_argument(
            "--max-jobs-per-process",
            type=positive_int,
            help="run this many jobs, then finish the running ones and exit 0, for the process manager to "
            "start a fresh worker (WORKER MAX_JOBS_PER_PROCESS)",
        )
        parser.add_argument(
            "--max-memory",
            type=positive_int,
            metavar="MB",
            help="once the process uses this many MB after a job, finish the running jobs and exit 0 "
            "(WORKER MAX_MEMORY)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="print the queue's workers (their heartbeats, else arq's last health report) and exit: "
            "status 0 if one is live (beat within LOST_AFTER, or reported within HEALTH_CHECK_INTERVAL), "
            "1 if none is (e.g. the worker was killed) or Redis is down",
        )

    worker: DjangoWorker | None = None  # the last one handle() built

    def run_from_argv(self, argv: list[str]) -> None:
        """The command as its own program: threads still running once the worker is done (left by
        its jobs) get ``JOB_COMPLETION_WAIT`` seconds (at least a few), then are named in a warning
        and abandoned: the process exits with status 1 (or the command's own error status), where
        Python's exit would wait for them forever."""
        try:
            super().run_from_argv(argv)
        except SystemExit as exc:
            self._abandon_lingering(exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1)
            raise
        except BaseException:
            self._abandon_lingering(1, failed=True)
            raise
        self._abandon_lingering(0)

    def _abandon_lingering(self, status: int, failed: bool = False) -> None:
        """If threads are still running after the grace: the warning, and the exit with ``status``
        (1 for 0), the error being handled (``failed``) printed first."""
        worker = self.worker
        threads = outliving(worker.completion_wait if worker is not None else 0)
        if not threads:
            return
        if failed:
            traceback.print_exc()  # printed now: the exit would lose it
        status = status or 1
        self.stderr.write(
            f"warning: abandoned {len(threads)} thread(s) still running after the worker stopped: "
            f"{thread_names(threads, worker.sync_jobs if worker is not None else {})}; exiting with "
            f"status {status} (a job's threads should end with it, or be daemon threads)"
        )
        # what the exit would do after joining the threads: the atexit hooks (the JobRecords still
        # deferred, logging, a tracer's last spans), then the streams
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    def handle(self, *args: Any, **options: Any) -> None:
        overrides = {
            arg: options[opt]
            for opt, arg in [
                ("max_jobs", "max_jobs"),
                ("poll_delay", "poll_delay"),
                ("job_timeout", "job_timeout"),
                ("max_tries", "max_tries"),
                ("max_burst_jobs", "max_burst_jobs"),
                ("max_jobs_per_process", "max_jobs_per_process"),
                ("max_memory", "max_memory"),
            ]
            if options[opt] is not None
        }
        if not logging.getLogger("arq").handlers:  # the project's LOGGING does not cover arq: arq's own setup
            log_config = default_log_config(verbose=options["verbosity"] > 1)
            if not options["verbosity"]:
                log_config["loggers"]["arq"]["level"] = "WARNING"
            logging.config.dictConfig(log_config)
        port = options["metrics_port"]
        if port is not None and (problem := metrics_port_problem(port)):  # named as the user gave it
            raise CommandError(f"--metrics-port {problem}")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        worker: DjangoWorker | None = None
        try:
            try:
                worker = create_worker(
                    options["alias"],
                    queue_name=options["queue"],
                    burst=options["burst"],
                    metrics_port=options["metrics_port"],
                    **overrides,
                )
            except (ImproperlyConfigured, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            self.worker = worker
            if options["check"]:
                self._check(worker, options["alias"], options["verbosity"])
                return
            self._check_migrated()
            if options["verbosity"]:
                self.stdout.write("\n".join(banner(worker)))
            self._serve_metrics(worker, options["verbosity"])
            try:
                worker.run()
            except (OSError, RedisError) as exc:
                raise CommandError(
                    f"the worker stopped: {exc} (Redis at {redis_location(options['alias'])})"
                ) from exc
            if options["verbosity"]:
                self.stdout.write(
                    f"worker stopped: {worker.jobs_complete} complete, {worker.jobs_failed} failed, "
                    f"{worker.jobs_retried} retried"
                    + (f"; retired: it {worker.recycling.reason}" if worker.recycling.due else "")
                )
        finally:
            if worker is not None and worker.metrics_server is not None:
                worker.metrics_server.stop()
            asyncio.set_event_loop(None)
            loop.close()

    def _check_migrated(self) -> None:
        """Warn if django-arq's migrations are not applied: records and database schedules cannot be
        read or written until they are (the worker retries; it starts all the same, so that it may
        come up before a deployment's ``migrate`` ends)."""
        missing = not_migrated()
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()  # the worker's own threads open theirs
        if missing is not None:
            self.stderr.write(f"warning: {missing}")

    def _serve_metrics(self, worker: DjangoWorker, verbosity: int) -> None:
        """Start the worker's metrics server, if it has one; a port taken is a one-line error."""
        server = worker.metrics_server
        if server is None:
            return
        try:
            url = server.start()
        except OSError as exc:
            raise CommandError(f"cannot serve metrics on {server.where()}: {exc.strerror or exc}") from exc
        if verbosity:
            self.stdout.write(f"  metrics: {url}")

    def _check(self, worker: DjangoWorker, alias: str, verbosity: int) -> None:
        """The queue's live workers from their heartbeats, else its last arq health report; exit
        status 1 if no worker is live."""
        where = redis_location(alias)
        queue = f"queue {worker.queue_name!r} on {where}"
        try:
            entries = get_queue(alias).list_workers_sync(worker.queue_name, worker.lost_after)
            (counts,) = get_queue(alias).count_jobs_sync([worker.queue_name])
        except ArqJobError as exc:
            raise CommandError(f"cannot reach Redis at {where}: {exc.__cause__ or exc}") from exc
        live = [e for e in entries if e.state != "lost"]
        if live:
            if verbosity:
                for entry in live:
                    self.stdout.write(f"worker on {queue}: {worker_line(entry)}")
            return
        lost = "".join(f"; lost: {worker_line(e)}" for e in entries[:3])
        if counts.health is None:
            raise CommandError(
                f"no recent health check for {queue}: no worker beat within "
                f"{worker.lost_after:g} s (LOST_AFTER) or reported in the last "
                f"{worker.health_check_interval:g} s (HEALTH_CHECK_INTERVAL){lost}"
            )
        health = read_health(counts.health, counts.health_ttl, worker.health_check_interval)
        if health.stale:
            raise CommandError(f"no recent health check for {queue}: {health.report}{lost}")
        if verbosity:
            self.stdout.write(f"worker on {queue}: {health.report}")
