"""Alias -> queue instance, the role ``django.core.cache.caches`` plays for caches.

One instance per alias per process, shared by threads and event loops (the backends are safe
for both), created on first use and dropped when ``ARQ_QUEUES`` changes (``override_settings``).

Two mistakes are caught when an alias's queue is first built, rather than left to fail quietly:

- ``"django_arq"`` missing from ``INSTALLED_APPS`` (or Django not set up yet) raises
  ``ImproperlyConfigured`` naming the fix. It is an error, not a warning: without the app no
  ``ARQ_QUEUES`` check runs, no JobRecord is written and ``arq_worker`` does not exist, so a
  queue that worked anyway would hide all of that.
- Enqueueing a name that the alias's ``WORKER["FUNCTIONS"]`` lacks (when FUNCTIONS is set) logs
  a warning naming the alias and its functions, once per name per queue instance; the alias's
  ``UNKNOWN_FUNCTIONS`` setting makes it an error (``UnknownFunction``, nothing is sent) or
  turns it off ("warn", "error", "ignore").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .conf import DEFAULT_ALIAS, backend_problem, get_config, known_functions, queue_settings
from .queues.base import ArqQueue, QueueConfig
from .queues.jobs import JobSpec

__all__ = ["QueueHandler", "UnknownFunction", "get_queue", "queues"]

logger = logging.getLogger("django_arq")

APP = "django_arq"
NOT_INSTALLED = (
    f'get_queue() needs "{APP}" in INSTALLED_APPS: add it there, or no ARQ_QUEUES check runs, '
    "no JobRecord is written and manage.py arq_worker does not exist"
)
NOT_SET_UP = (
    "get_queue() was called before Django's apps were loaded: call it inside a function, not at import"
)


class UnknownFunction(ValueError):
    """A job name that the alias's ``WORKER["FUNCTIONS"]`` lacks, with ``UNKNOWN_FUNCTIONS: "error"``."""


def build_backend(config: QueueConfig) -> ArqQueue:
    """Instantiate the BACKEND of one alias, without the audit layer.

    A BACKEND that cannot be used raises ``ImproperlyConfigured`` with the E002 message.
    """
    problem = backend_problem(config.backend)
    if problem:
        raise ImproperlyConfigured(f"ARQ_QUEUES[{config.alias!r}]: {problem}")
    return import_string(config.backend).from_config(config)


class FunctionGuard:
    """Checks enqueued names against the job names an alias's workers run."""

    def __init__(self, alias: str, mode: str, known: frozenset[str]) -> None:
        self.alias, self.mode, self.known = alias, mode, known
        self.warned: set[str] = set()

    def check(self, jobs: Sequence[JobSpec]) -> None:
        for spec in jobs:
            if spec.name in self.known or (self.mode == "warn" and spec.name in self.warned):
                continue
            message = (
                f"{spec.name!r} is not in ARQ_QUEUES[{self.alias!r}]['WORKER']['FUNCTIONS'], so its "
                f"workers will fail the job (known: {', '.join(sorted(self.known)) or 'none'})"
            )
            if self.mode == "error":
                raise UnknownFunction(message)
            self.warned.add(spec.name)
            logger.warning('%s; set UNKNOWN_FUNCTIONS to "error" or "ignore" to change this', message)


class QueueHandler:
    """Creates and caches the queue of each ``ARQ_QUEUES`` alias."""

    #: Wraps a backend for its alias (the audit layer installs itself here when the app is ready).
    wrapper: Callable[[ArqQueue, QueueConfig], ArqQueue] | None = None

    def __init__(self) -> None:
        self._queues: dict[str, ArqQueue] = {}
        self._lock = threading.Lock()

    def __getitem__(self, alias: str) -> ArqQueue:
        queue = self._queues.get(alias)
        if queue is None:
            with self._lock:
                queue = self._queues.get(alias)
                if queue is None:
                    queue = self._queues[alias] = self.create(alias)
        return queue

    def create(self, alias: str) -> ArqQueue:
        """A new queue for ``alias``, wrapped by the audit layer if enabled, its names checked."""
        if not apps.apps_ready:
            raise ImproperlyConfigured(NOT_SET_UP)
        if not apps.is_installed(APP):
            raise ImproperlyConfigured(NOT_INSTALLED)
        config = get_config(alias)
        queue = build_backend(config)
        if self.wrapper is not None:
            queue = self.wrapper(queue, config)
        mode, known = known_functions(alias)
        if known is not None and mode != "ignore":
            queue.backend.name_check = FunctionGuard(alias, mode, known).check
        return queue

    def __iter__(self) -> Any:
        return iter(queue_settings())

    def all(self) -> list[ArqQueue]:
        """The queue of every configured alias."""
        return [self[alias] for alias in self]

    def reset(self) -> None:
        """Forget every instance (closing blocking connections); the next use builds new ones."""
        with self._lock:
            old, self._queues = self._queues, {}
        for queue in old.values():
            queue.close()


queues = QueueHandler()


def get_queue(alias: str = DEFAULT_ALIAS) -> ArqQueue:
    """The queue configured as ``ARQ_QUEUES[alias]``."""
    return queues[alias]


def _reset_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "ARQ_QUEUES":
        queues.reset()


setting_changed.connect(_reset_on_change, dispatch_uid="django_arq.handler.reset")
