"""Alias -> queue instance, the role ``django.core.cache.caches`` plays for caches.

One instance per alias per process, shared by threads and event loops (the backends are safe
for both), created on first use and dropped when ``ARQ_QUEUES`` changes (``override_settings``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .conf import DEFAULT_ALIAS, get_config, queue_settings
from .queues.base import ArqQueue, QueueConfig

__all__ = ["QueueHandler", "get_queue", "queues"]


def build_backend(config: QueueConfig) -> ArqQueue:
    """Instantiate the BACKEND of one alias, without the audit layer."""
    backend = import_string(config.backend)
    if not (isinstance(backend, type) and issubclass(backend, ArqQueue)):
        raise TypeError(
            f"ARQ_QUEUES[{config.alias!r}]['BACKEND'] {config.backend!r} is not an ArqQueue subclass"
        )
    return backend.from_config(config)


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
        """A new queue for ``alias``, wrapped by the audit layer if enabled."""
        config = get_config(alias)
        queue = build_backend(config)
        if self.wrapper is not None:
            queue = self.wrapper(queue, config)
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
