"""System checks for ``ARQ_QUEUES``: misconfiguration is reported by ``manage.py check``, not at first use."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import (
    DEFAULT_ALIAS,
    DEFAULT_SETTINGS,
    config_problems,
    in_memory_backend,
    queue_settings,
    redis_url_problem,
    tokens_problem,
    trace_url_problem,
)
from .metrics.switch import metrics_problems
from .schedules.cron_entries import cron_of_entry, cron_of_path

__all__ = ["check_api_tokens", "check_metrics", "check_queues", "check_trace_url"]

#: Check ids by setting key; every other problem of ``ARQ_QUEUES`` is ``django_arq.E001``.
CHECK_IDS = {"BACKEND": "django_arq.E002", "REDIS_URL": "django_arq.E003", "WORKER": "django_arq.E004"}
URL_HINT = "e.g. redis://:password@host:6379/0"


def _insecure_remote(raw: Mapping[str, Any]) -> bool:
    """A Redis URL leaving this machine in clear text (no rediss://, no OPTIONS ssl) and with no password."""
    url = raw.get("REDIS_URL", DEFAULT_SETTINGS["REDIS_URL"])
    if redis_url_problem(url):  # reported as E003
        return False
    parts = urlsplit(url)
    options = raw.get("OPTIONS", {})
    if not isinstance(options, Mapping):  # reported as E001
        return False
    if parts.scheme != "redis" or parts.password or options.get("password") or options.get("ssl"):
        return False
    host = parts.hostname or "localhost"
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _worker_problems(raw: Mapping[str, Any]) -> list[str]:
    """The worker's own validation of WORKER (what ``arq_worker`` would refuse to start with), and
    every dotted path in it imported: FUNCTIONS, CRON_JOBS, ON_STARTUP and ON_SHUTDOWN."""
    worker = raw.get("WORKER", {})
    if not isinstance(worker, Mapping):  # config_problems reports it
        return []
    from .worker import worker_problems  # imports arq's worker and the recorder: only when checking

    return worker_problems(worker) + _import_problems(worker)


def _imported(path: str, what: str) -> tuple[Any, str | None]:
    """The object at ``path``, or why it cannot be imported (any error the import raises)."""
    try:
        return import_string(path), None
    except Exception as exc:  # a module that raises on import is as broken as a missing one
        return None, f"{what} {path!r} cannot be imported: {type(exc).__name__}: {exc}"


def _job_callable(path: str, what: str) -> str | None:
    """Why the function at ``path`` cannot be a job (not importable, cannot take ctx), or None."""
    from .worker import ctx_problem

    fn, problem = _imported(path, what)
    return problem or ctx_problem(fn, f"{what} {path!r}")


def _import_problems(worker: Mapping[str, Any]) -> list[str]:
    """Import every dotted path of WORKER; shapes that ``worker_problems`` refuses are skipped."""
    problems = []
    functions = worker.get("FUNCTIONS", [])
    for entry in functions if isinstance(functions, list | tuple) else ():
        path = entry.get("FUNCTION") if isinstance(entry, Mapping) else entry
        if isinstance(path, str):
            problems.append(_job_callable(path, "WORKER['FUNCTIONS'] entry"))
    cron_jobs = worker.get("CRON_JOBS", [])
    if not isinstance(cron_jobs, list | tuple):
        problems.append(f"WORKER['CRON_JOBS'] must be a list, not {type(cron_jobs).__name__}")
        cron_jobs = []
    for entry in cron_jobs:
        try:
            if isinstance(entry, str):
                cron_of_path(entry, "WORKER['CRON_JOBS'] entry")
            elif isinstance(entry, Mapping) and isinstance(entry.get("FUNCTION"), str):
                problems.append(_job_callable(entry["FUNCTION"], "WORKER['CRON_JOBS'] function"))
                cron_of_entry(entry)
            else:
                problems.append(
                    f"a WORKER['CRON_JOBS'] entry must be a dotted path or a dict with FUNCTION: {entry!r}"
                )
        except ImproperlyConfigured as exc:
            problems.append(str(exc))
    for key in ("ON_STARTUP", "ON_SHUTDOWN"):
        if key in worker:
            path = worker[key]
            if isinstance(path, str):
                problems.append(_job_callable(path, f"WORKER[{key!r}]"))
            else:
                problems.append(f"WORKER[{key!r}] must be a dotted path, not {type(path).__name__}")
    return [p for p in problems if p]


@register(Tags.compatibility, deploy=False)
def check_queues(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report bad ``ARQ_QUEUES`` entries with ids ``django_arq.E00x`` / ``W00x``."""
    all_settings = queue_settings()
    if not isinstance(all_settings, Mapping):
        return [Error("ARQ_QUEUES must be a dict of aliases", id="django_arq.E001")]
    messages: list[CheckMessage] = []
    if DEFAULT_ALIAS not in all_settings:
        messages.append(Error('ARQ_QUEUES must define a "default" alias', id="django_arq.E001"))
    for alias, raw in all_settings.items():
        where = f"ARQ_QUEUES[{alias!r}]"
        for key, problem in config_problems(alias, raw):
            if key == "REDIS_URL":
                messages.append(Error(f"{where}: {problem}", hint=URL_HINT, id="django_arq.E003"))
            else:
                messages.append(Error(f"{where}: {problem}", id=CHECK_IDS.get(key, "django_arq.E001")))
        if not isinstance(raw, Mapping):
            continue
        messages += [Error(f"{where}: {p}", id="django_arq.E004") for p in _worker_problems(raw)]
        backend = raw.get("BACKEND")
        if in_memory_backend(backend) and not settings.DEBUG:
            messages.append(
                Warning(
                    f"{where} uses MockArqQueue with DEBUG off: jobs are kept in memory and never run.",
                    hint="Use django_arq.RedisArqQueue in production.",
                    id="django_arq.W001",
                )
            )
        if not in_memory_backend(backend) and _insecure_remote(raw):
            messages.append(
                Warning(
                    f"{where} talks to a non-loopback Redis without TLS or a password.",
                    hint="Anyone who can write to that Redis can run code in your workers with the pickle "
                    'serializer: use rediss://, a password, or SERIALIZER "json".',
                    id="django_arq.W002",
                )
            )
    return messages


@register(Tags.security, deploy=False)
def check_api_tokens(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ARQ_API_TOKENS`` (bearer tokens of the HTTP API) must be a list of non-empty strings that
    a request can send: ``E005``."""
    problem = tokens_problem("ARQ_API_TOKENS", getattr(settings, "ARQ_API_TOKENS", []))
    if problem is None:
        return []
    return [Error(problem, hint='e.g. ARQ_API_TOKENS = [os.environ["ARQ_API_TOKEN"]]', id="django_arq.E005")]


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: Any) -> bool:
    return _count(value) or (isinstance(value, float) and math.isfinite(value))


#: The HTTP API's limits: setting, test of a valid value, what a valid value is.
API_LIMITS = (
    ("ARQ_API_MAX_BODY_SIZE", lambda v: _count(v) and v > 0, "a positive number of bytes"),
    ("ARQ_API_MAX_WAIT", lambda v: _seconds(v) and v >= 0, "a finite number of seconds >= 0"),
    ("ARQ_API_MAX_WAITERS", lambda v: _count(v) and v >= 0, "an int >= 0"),
)


@register(Tags.compatibility)
def check_api_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The HTTP API's limits (``API_LIMITS``) must be numbers in their ranges: ``E006``."""
    return [
        Error(f"{name} must be {what}, not {getattr(settings, name)!r}", id="django_arq.E006")
        for name, valid, what in API_LIMITS
        if hasattr(settings, name) and not valid(getattr(settings, name))
    ]


@register(Tags.compatibility)
def check_metrics(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ARQ_METRICS`` and ``ARQ_METRICS_TOKENS`` (Prometheus metrics): ``E020``."""
    return [Error(problem, id="django_arq.E020") for problem in metrics_problems()]


@register(Tags.compatibility)
def check_trace_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ARQ_TRACE_URL`` (the admin's link to a job's trace): ``E021``."""
    problem = trace_url_problem(getattr(settings, "ARQ_TRACE_URL", None))
    hint = 'e.g. ARQ_TRACE_URL = "https://tempo.example/trace/{trace_id}"'
    return [Error(problem, hint=hint, id="django_arq.E021")] if problem else []
