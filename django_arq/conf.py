"""Reads and validates ``ARQ_QUEUES`` (one ``QueueConfig`` per alias, every default filled in), and
the rules of ``ARQ_TRACE_URL`` and of the bearer-token lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .function_options import FunctionOptions, entry_problems, function_options
from .queues.base import DEFAULT_ABORT_TIMEOUT, ArqQueue, QueueConfig
from .queues.connection import EXTRA_OPTIONS, REDIS_OPTIONS
from .queues.heartbeats import LOST_AFTER, lost_after_problem
from .queues.serializers import SERIALIZERS

__all__ = [
    "DEFAULT_SETTINGS",
    "InvalidQueueAlias",
    "allowed_tasks",
    "backend_problem",
    "config_problems",
    "configured_functions",
    "get_config",
    "health_check_interval",
    "known_functions",
    "lost_after",
    "max_tries",
    "queue_settings",
    "tokens_problem",
    "trace_url",
    "trace_url_problem",
]

DEFAULT_ALIAS = "default"
#: The arq job name of every Django task (``tasks.runner.run_task``); here, where modules that
#: cannot import ``django.tasks`` (Django < 6, the admin) can read it too.
RUN_TASK = "django_arq.tasks.run_task"
TASKS_PACKAGE = "django_arq.tasks"
#: Every key of an ``ARQ_QUEUES`` alias, with its default.
DEFAULT_SETTINGS: dict[str, Any] = {
    "BACKEND": "django_arq.RedisArqQueue",
    "REDIS_URL": "redis://localhost:6379/0",
    "DEFAULT_QUEUE_NAME": "arq:queue",
    "OPTIONS": {},
    "SERIALIZER": "pickle",
    "AUDIT": True,
    "ABORT_TIMEOUT": DEFAULT_ABORT_TIMEOUT,
    "WORKER": {},
    "UNKNOWN_FUNCTIONS": "warn",
    "TRACING": True,
}
#: What enqueueing a name the alias's ``WORKER["FUNCTIONS"]`` lacks does (when FUNCTIONS is set).
UNKNOWN_FUNCTIONS_MODES = ("warn", "error", "ignore")
#: The longest ``ABORT_TIMEOUT``: a day of waiting for a worker to confirm an abort.
MAX_ABORT_TIMEOUT = 24 * 3600
REDIS_SCHEMES = ("redis", "rediss", "unix")
#: Seconds between a worker's health reports (``WORKER["HEALTH_CHECK_INTERVAL"]``; arq's own is an
#: hour): a worker that stops reporting is shown as gone this long after its last report.
HEALTH_CHECK_INTERVAL = 10
#: arq's ``max_tries`` of a worker without ``WORKER["MAX_TRIES"]``.
MAX_TRIES = 5


class InvalidQueueAlias(ImproperlyConfigured):
    """``get_queue`` was asked for an alias that ``ARQ_QUEUES`` does not define."""


def queue_settings() -> dict[str, Any]:
    """``ARQ_QUEUES`` as set, or one "default" alias on local Redis when it is missing."""
    value = getattr(settings, "ARQ_QUEUES", None)
    if value is None:
        return {DEFAULT_ALIAS: {"BACKEND": DEFAULT_SETTINGS["BACKEND"]}}
    return value


def redis_url_problem(url: Any) -> str | None:
    """Why a REDIS_URL cannot be used, or None if it can."""
    if not isinstance(url, str):
        return f"REDIS_URL must be a string, not {type(url).__name__}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"REDIS_URL is malformed: {exc}"
    if parts.scheme not in REDIS_SCHEMES:
        return f"REDIS_URL must start with one of {', '.join(s + '://' for s in REDIS_SCHEMES)}"
    if parts.scheme == "unix" and not parts.path:
        return "a unix:// REDIS_URL needs a socket path"
    if parts.scheme != "unix":
        if not parts.hostname:
            return "REDIS_URL has no host"
        db = parts.path.lstrip("/")
        if db and not (db.isascii() and db.isdigit()):  # "²" is a digit to isdigit(), not to int()
            return f"REDIS_URL database {db!r} is not a number"
    return None


def in_memory_backend(path: Any) -> bool:
    """True if BACKEND ``path`` names an ArqQueue whose jobs run in process (no Redis, no worker)."""
    try:
        backend = import_string(path) if isinstance(path, str) else None
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, ArqQueue) and backend.jobs_run_in_process


def backend_problem(path: Any) -> str | None:
    """Why BACKEND ``path`` cannot be used (not importable, not an ``ArqQueue``), or None if it can."""
    if not isinstance(path, str):
        return f"BACKEND must be a dotted path string, not {type(path).__name__}"
    try:
        backend = import_string(path)
    except ImportError as exc:
        return f"BACKEND {path!r} cannot be imported: {exc}"
    if not (isinstance(backend, type) and issubclass(backend, ArqQueue)):
        return f"BACKEND {path!r} is not an ArqQueue subclass"
    return None


def config_problems(alias: str, raw: Any) -> list[tuple[str, str]]:
    """Everything wrong with one alias's settings, as (setting key, sentence) pairs; empty if valid.

    The key is "" for a problem with the alias as a whole (not a dict, unknown keys).
    """
    if not isinstance(raw, Mapping):
        return [("", f"must be a dict, not {type(raw).__name__}")]
    problems: list[tuple[str, str]] = []
    unknown = set(raw) - set(DEFAULT_SETTINGS)
    if unknown:
        problems.append(("", f"unknown keys {sorted(unknown)}; valid keys are {sorted(DEFAULT_SETTINGS)}"))
    if "BACKEND" not in raw:
        problems.append(("BACKEND", "BACKEND is required"))
    elif problem := backend_problem(raw["BACKEND"]):
        problems.append(("BACKEND", problem))
    backend = raw.get("BACKEND", DEFAULT_SETTINGS["BACKEND"])
    if not in_memory_backend(backend):
        problem = redis_url_problem(raw.get("REDIS_URL", DEFAULT_SETTINGS["REDIS_URL"]))
        if problem:
            problems.append(("REDIS_URL", problem))
    name = raw.get("DEFAULT_QUEUE_NAME", DEFAULT_SETTINGS["DEFAULT_QUEUE_NAME"])
    if not isinstance(name, str) or not name:
        problems.append(("DEFAULT_QUEUE_NAME", "DEFAULT_QUEUE_NAME must be a non-empty string"))
    options = raw.get("OPTIONS", {})
    if not isinstance(options, Mapping):
        problems.append(("OPTIONS", "OPTIONS must be a dict"))
    elif bad := set(options) - REDIS_OPTIONS - set(EXTRA_OPTIONS):
        problems.append(
            ("OPTIONS", f"OPTIONS has unknown keys {sorted(bad)}; valid keys are RedisSettings fields")
        )
    serializer = raw.get("SERIALIZER", "pickle")
    if not isinstance(serializer, str) or serializer not in SERIALIZERS:
        problems.append(
            ("SERIALIZER", f"SERIALIZER must be one of {sorted(SERIALIZERS)}, not {serializer!r}")
        )
    mode = raw.get("UNKNOWN_FUNCTIONS", "warn")
    if not isinstance(mode, str) or mode not in UNKNOWN_FUNCTIONS_MODES:
        choices = ", ".join(f'"{m}"' for m in UNKNOWN_FUNCTIONS_MODES)
        problems.append(("UNKNOWN_FUNCTIONS", f"UNKNOWN_FUNCTIONS must be one of {choices}, not {mode!r}"))
    if not isinstance(raw.get("WORKER", {}), Mapping):
        problems.append(("WORKER", "WORKER must be a dict"))
    audit = raw.get("AUDIT", True)
    if not (isinstance(audit, bool) or audit == "immediate"):
        problems.append(("AUDIT", f'AUDIT must be True, False or "immediate", not {audit!r}'))
    if not isinstance(raw.get("TRACING", True), bool):
        problems.append(("TRACING", f"TRACING must be True or False, not {raw['TRACING']!r}"))
    timeout = raw.get("ABORT_TIMEOUT", DEFAULT_ABORT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 <= timeout <= MAX_ABORT_TIMEOUT
    ):
        problems.append(
            ("ABORT_TIMEOUT", f"ABORT_TIMEOUT must be a number of seconds from 0 to {MAX_ABORT_TIMEOUT}")
        )
    return problems


def get_config(alias: str = DEFAULT_ALIAS) -> QueueConfig:
    """The validated settings of one alias; ``ImproperlyConfigured`` if they are wrong."""
    all_settings = queue_settings()
    if not isinstance(all_settings, Mapping):
        raise ImproperlyConfigured(f"ARQ_QUEUES must be a dict of aliases, not {type(all_settings).__name__}")
    if alias not in all_settings:
        raise InvalidQueueAlias(f"ARQ_QUEUES has no alias {alias!r} (aliases: {sorted(all_settings)})")
    raw = all_settings[alias]
    problems = config_problems(alias, raw)
    if problems:
        raise ImproperlyConfigured(f"ARQ_QUEUES[{alias!r}]: " + "; ".join(p for _, p in problems))
    merged = {**DEFAULT_SETTINGS, **raw}
    return QueueConfig(
        alias=alias,
        backend=merged["BACKEND"],
        redis_url=merged["REDIS_URL"],
        default_queue_name=merged["DEFAULT_QUEUE_NAME"],
        options=dict(merged["OPTIONS"]),
        serializer=merged["SERIALIZER"],
        audit=merged["AUDIT"],
        abort_timeout=float(merged["ABORT_TIMEOUT"]),
        worker=dict(merged["WORKER"]),
        tracing=merged["TRACING"],
    )


def health_check_interval(alias: str) -> float:
    """Seconds between the health reports of the alias's workers, as configured."""
    value = get_config(alias).worker.get("HEALTH_CHECK_INTERVAL", HEALTH_CHECK_INTERVAL)
    return float(value) if isinstance(value, int | float) and value > 0 else float(HEALTH_CHECK_INTERVAL)


def lost_after(alias: str) -> float:
    """Seconds without a heartbeat after which a worker of the alias counts as lost, as configured."""
    value = get_config(alias).worker.get("LOST_AFTER", LOST_AFTER)
    return float(LOST_AFTER if lost_after_problem(value) else value)


def _function_paths(entries: Any) -> set[str]:
    """The dotted paths of FUNCTIONS entries: strings, or dicts with a "FUNCTION" path."""
    paths = set()
    for entry in entries if isinstance(entries, list | tuple) else ():
        if isinstance(entry, Mapping):
            entry = entry.get("FUNCTION")
        if isinstance(entry, str):
            paths.add(entry)
    return paths


def configured_functions(alias: str) -> dict[str, FunctionOptions]:
    """The options of the alias's valid FUNCTIONS entries by job name (the checks report the others)."""
    entries = get_config(alias).worker.get("FUNCTIONS", ())
    valid = [e for e in entries if not entry_problems(e)] if isinstance(entries, list | tuple) else []
    return {options.path: options for options in map(function_options, valid)}


def max_tries(alias: str, name: str) -> int:
    """How many tries the alias's workers give job ``name``: its MAX_TRIES, else the worker's."""
    options = configured_functions(alias).get(name)
    if options is not None and options.max_tries is not None:
        return options.max_tries
    value = get_config(alias).worker.get("MAX_TRIES", MAX_TRIES)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else MAX_TRIES


def allowed_tasks(alias: str) -> set[str]:
    """Task names the API may enqueue on ``alias``: its ``WORKER["FUNCTIONS"]`` dotted paths."""
    return _function_paths(get_config(alias).worker.get("FUNCTIONS", ()))


def tasks_target(alias: str) -> bool:
    """Whether a ``TASKS`` backend of django-arq's (``django_arq.tasks.ArqBackend`` or a subclass)
    sends Django tasks through ``alias``: its workers then run ``RUN_TASK`` jobs too."""
    for params in (getattr(settings, "TASKS", None) or {}).values():
        if (
            not isinstance(params, Mapping)
            or (params.get("OPTIONS") or {}).get("ALIAS", DEFAULT_ALIAS) != alias
        ):
            continue
        try:
            backend = import_string(params.get("BACKEND", ""))
        except ImportError:
            continue
        if isinstance(backend, type) and any(
            c.__module__.startswith("django_arq.tasks") for c in backend.__mro__
        ):
            return True
    return False


def known_functions(alias: str) -> tuple[str, frozenset[str] | None]:
    """``(UNKNOWN_FUNCTIONS mode, job names the alias's workers run)``; None if FUNCTIONS is not set.

    The names are the FUNCTIONS paths, plus ``RUN_TASK`` when a ``TASKS`` backend targets the alias.
    """
    raw = queue_settings()[alias]
    config = get_config(alias)
    mode = raw.get("UNKNOWN_FUNCTIONS", DEFAULT_SETTINGS["UNKNOWN_FUNCTIONS"])
    if "FUNCTIONS" not in config.worker:
        return mode, None
    names = _function_paths(config.worker["FUNCTIONS"])
    if tasks_target(alias):
        names.add(RUN_TASK)
    return mode, frozenset(names)


#: What ``ARQ_TRACE_URL`` holds in place of a job's trace id.
TRACE_ID_FIELD = "{trace_id}"


def trace_url_problem(template: Any) -> str | None:
    """Why ``ARQ_TRACE_URL`` cannot give a trace's address, or None if it can (or is unset)."""
    if template is None:
        return None
    if not isinstance(template, str) or TRACE_ID_FIELD not in template:
        return f"ARQ_TRACE_URL must be a string with {TRACE_ID_FIELD} in it, not {template!r}"
    try:
        scheme = urlsplit(template).scheme
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        return f"ARQ_TRACE_URL must be a valid http:// or https:// address, not {template!r} ({exc})"
    if scheme not in ("http", "https"):
        return f"ARQ_TRACE_URL must be an http:// or https:// address, not {template!r}"
    return None


def trace_url(trace_id: str) -> str | None:
    """``ARQ_TRACE_URL`` with the trace id in place of ``{trace_id}``; None without a usable setting."""
    template = getattr(settings, "ARQ_TRACE_URL", None)
    if template is None or trace_url_problem(template):
        return None
    return str(template).replace(TRACE_ID_FIELD, quote(trace_id, safe=""))


#: A token an ``Authorization: Bearer`` header carries as given: visible ASCII characters.
_TOKEN = re.compile(r"[\x21-\x7e]+")


def tokens_problem(setting: str, tokens: Any) -> str | None:
    """Why ``tokens`` (the value of ``setting``, e.g. ``ARQ_API_TOKENS``) is not a list of tokens a
    request can send, or None if it is."""
    if not isinstance(tokens, list | tuple):
        return f"{setting} must be a list of strings, not {type(tokens).__name__}"
    bad = [i for i, token in enumerate(tokens) if not (isinstance(token, str) and token.strip())]
    if bad:
        return f"{setting} has empty or non-string entries at positions {bad}"
    # A header is read as Latin-1 and the token stripped: such a token could never match.
    unsendable = [i for i, token in enumerate(tokens) if not _TOKEN.fullmatch(token)]
    if unsendable:
        return (
            f"{setting} has entries at positions {unsendable} with spaces, control characters or "
            "non-ASCII characters, which no Authorization header can carry as given"
        )
    return None
