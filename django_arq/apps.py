"""Django app configuration for django-arq."""

from __future__ import annotations

import contextlib

from django.apps import AppConfig


class DjangoArqConfig(AppConfig):
    name = "django_arq"
    verbose_name = "arq jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .audit.queue import audit_wrapper
        from .handler import queues
        from .metrics.enqueue import metered
        from .schedules.changes import watch_schedule_edits

        queues.wrapper = metered(audit_wrapper)  # JobRecords for aliases with AUDIT: True, metrics if on
        watch_schedule_edits()  # workers look at edited schedules at once
        with contextlib.suppress(ImportError):  # Django >= 6: its import registers the TASKS checks,
            import django.tasks  # noqa: F401 - which run ArqBackend's own (T001-T004)
