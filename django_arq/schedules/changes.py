"""Announcing edits of the schedules, so that the workers' firers look at them at once.

A ``Schedule`` saved or deleted through the ORM (the admin, ``arq_schedules``, a project's code)
publishes on ``schedules_channel(alias)`` once its transaction commits; the ``arq_worker`` processes
of that alias hear it on their wake-up subscription and look at their schedules again. An idle
worker's firer otherwise sleeps until the earliest next run, so an edit that sends no signal
(``QuerySet.update()``, raw SQL) is taken at its next look, within ``RECHECK_INTERVAL``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from ..handler import get_queue
from ..models import Schedule
from ..queues.redis import RedisArqQueue

__all__ = ["RECHECK_INTERVAL", "SCHEDULES_PREFIX", "announce", "schedules_channel", "watch_schedule_edits"]

SCHEDULES_PREFIX = "django-arq:schedules:"
#: Longest sleep of a firer that hears the announcements: the bound for edits that send no signal.
RECHECK_INTERVAL = timedelta(seconds=60)

logger = logging.getLogger("django_arq.schedules")


def schedules_channel(alias: str) -> str:
    """The pub/sub channel on which edits of ``alias``'s schedules are announced."""
    return SCHEDULES_PREFIX + alias


def announce(alias: str) -> None:
    """Tell ``alias``'s workers that its schedules changed; a queue not on Redis has none to tell.
    Never raises: an edit not heard is taken at the firers' next look."""
    try:
        backend = get_queue(alias).backend
        if isinstance(backend, RedisArqQueue):
            backend.sync_client().publish(schedules_channel(alias), "")
    except Exception as exc:  # an unknown alias, Redis down: the edit itself is saved
        logger.warning("edit of the schedules of alias %r not announced to the workers: %s", alias, exc)


def _edited(sender: Any, instance: Schedule, **kwargs: Any) -> None:
    alias, using = instance.alias, kwargs.get("using")
    transaction.on_commit(lambda: announce(alias), using=using)


def watch_schedule_edits() -> None:
    """Announce every save and delete of a ``Schedule`` (connected once, by the app's ``ready``)."""
    post_save.connect(_edited, sender=Schedule, dispatch_uid="django_arq.schedules.changes")
    post_delete.connect(_edited, sender=Schedule, dispatch_uid="django_arq.schedules.changes")
