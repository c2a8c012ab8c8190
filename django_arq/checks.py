"""System checks for ``ARQ_QUEUES``: misconfiguration is reported by ``manage.py check``, not at first use."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import DEFAULT_ALIAS, DEFAULT_SETTINGS, config_problems, queue_settings
from .queues.base import ArqQueue

__all__ = ["check_queues"]


def _backend_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return f"BACKEND must be a dotted path string, not {type(path).__name__}"
    try:
        backend = import_string(path)
    except ImportError as exc:
        return f"BACKEND {path!r} cannot be imported: {exc}"
    if not (isinstance(backend, type) and issubclass(backend, ArqQueue)):
        return f"BACKEND {path!r} is not an ArqQueue subclass"
    return None


def _is_mock(path: Any) -> bool:
    return isinstance(path, str) and path.rsplit(".", 1)[-1] == "MockArqQueue"


def _insecure_remote(raw: Mapping[str, Any]) -> bool:
    """A Redis URL that leaves this machine in clear text and without a password."""
    url = raw.get("REDIS_URL", DEFAULT_SETTINGS["REDIS_URL"])
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.password or raw.get("OPTIONS", {}).get("password"):
        return False
    host = parts.hostname or "localhost"
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


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
        problems = config_problems(alias, raw)
        url_problem = [p for p in problems if "REDIS_URL" in p]
        other = [p for p in problems if "REDIS_URL" not in p]
        messages += [Error(f"{where}: {p}", id="django_arq.E001") for p in other]
        messages += [
            Error(f"{where}: {p}", hint="e.g. redis://:password@host:6379/0", id="django_arq.E003")
            for p in url_problem
        ]
        if not isinstance(raw, Mapping):
            continue
        backend = raw.get("BACKEND")
        problem = _backend_problem(backend) if backend is not None else None
        if problem:
            messages.append(Error(f"{where}: {problem}", id="django_arq.E002"))
        if _is_mock(backend) and not settings.DEBUG:
            messages.append(
                Warning(
                    f"{where} uses MockArqQueue with DEBUG off: jobs are kept in memory and never run.",
                    hint="Use django_arq.RedisArqQueue in production.",
                    id="django_arq.W001",
                )
            )
        if not _is_mock(backend) and not url_problem and _insecure_remote(raw):
            messages.append(
                Warning(
                    f"{where} talks to a non-loopback Redis without TLS or a password.",
                    hint="Anyone who can write to that Redis can run code in your workers with the pickle "
                    'serializer: use rediss://, a password, or SERIALIZER "json".',
                    id="django_arq.W002",
                )
            )
    return messages
