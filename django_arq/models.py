"""JobRecord: the database mirror of every job's metadata and result, for auditing; Schedule: a job
fired by the workers at times kept in the database (``django_arq.schedules`` fires them)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .fields import AwareDateTimeField
from .queues.jobs import JobStatus

__all__ = ["JobRecord", "Schedule"]

STATUS_CHOICES = [(s.value, s.value.replace("_", " ")) for s in JobStatus]


#: ``JobRecord.error`` of a job that a worker aborted.
ABORTED = "aborted"


class JobRecord(models.Model):
    """One arq job as enqueued, run and ended; fields follow ``JobResult`` (``job_id`` for ``id``)."""

    job_id = models.CharField(_("job id"), max_length=255)
    name = models.CharField(_("task name"), max_length=255)
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    enqueue_time = AwareDateTimeField(_("enqueued at"))
    status = models.CharField(
        _("status"), max_length=16, choices=STATUS_CHOICES, default=JobStatus.queued.value
    )
    queue_name = models.CharField(_("queue"), max_length=255)
    alias = models.CharField(_("queue alias"), max_length=100, default="default")
    start_time = AwareDateTimeField(_("started at"), null=True, blank=True)
    finish_time = AwareDateTimeField(_("finished at"), null=True, blank=True)
    success = models.BooleanField(_("success"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error or traceback"), blank=True, default="")
    job_try = models.PositiveIntegerField(_("tries"), default=0)
    abort_requested_at = AwareDateTimeField(_("abort requested at"), null=True, blank=True)
    abort_requested_by = models.CharField(_("abort requested by"), max_length=150, blank=True, default="")
    retry_of = models.ForeignKey(
        "self",
        verbose_name=_("retry of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        db_index=False,  # a partial index below: few records are retries
    )
    #: The job's last progress report: ``{"done", "total", "fraction", "message", "time"}`` (None: none).
    progress = models.JSONField(_("progress"), null=True, blank=True)
    #: The error of each failed try, oldest first: ``{"try", "error", "time", "lost"}``, kept short.
    try_errors = models.JSONField(_("errors of earlier tries"), default=list, blank=True)
    next_try_at = AwareDateTimeField(_("next try at"), null=True, blank=True)
    #: The id of the worker that runs (or last ran) the job.
    worker_id = models.CharField(_("worker"), max_length=64, blank=True, default="")
    #: The OpenTelemetry trace the job's enqueue and runs belong to (32 hex digits; empty: none).
    trace_id = models.CharField(_("trace id"), max_length=32, blank=True, default="")
    created_at = AwareDateTimeField(_("record created"), auto_now_add=True)
    updated_at = AwareDateTimeField(_("record updated"), auto_now=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-enqueue_time", "-id"]
        # Every index costs each insert (and each status update) an entry, so there are only those
        # the admin's filters, ordering and searches read. The unique constraint leads with
        # ``job_id``: it also serves the search by job id. Columns that stay empty for most of a
        # record's life (``finish_time``, ``retry_of``) are indexed where set only.
        constraints = [
            models.UniqueConstraint(fields=["job_id", "alias"], name="django_arq_unique_job_id_alias")
        ]
        indexes = [
            models.Index(fields=["-enqueue_time", "-id"], name="django_arq_enqueue_idx"),
            models.Index(fields=["status", "-enqueue_time"], name="django_arq_status_idx"),
            models.Index(fields=["queue_name", "-enqueue_time"], name="django_arq_queue_idx"),
            models.Index(fields=["alias", "-enqueue_time"], name="django_arq_alias_idx"),
            models.Index(fields=["name", "-enqueue_time"], name="django_arq_name_idx"),
            models.Index(
                fields=["finish_time"], name="django_arq_finished_idx", condition=Q(finish_time__isnull=False)
            ),
            models.Index(
                fields=["retry_of"], name="django_arq_retry_of_idx", condition=Q(retry_of__isnull=False)
            ),
        ]
        permissions = [
            ("operate_jobrecord", "Can abort and retry jobs"),
            ("enqueue_jobrecord", "Can enqueue jobs through the HTTP API"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.job_id}]"

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, once finished."""
        if self.start_time and self.finish_time:
            return (self.finish_time - self.start_time).total_seconds()
        return None


def default_time_zone() -> str:
    """The project's ``TIME_ZONE``: a schedule's time zone unless it names another."""
    from django.conf import settings

    return str(settings.TIME_ZONE or "UTC")


class CatchUp(models.TextChoices):
    """What a schedule does with slots missed while no worker fired it."""

    LAST = "last", _("fire the last missed slot once")
    SKIP = "skip", _("skip missed slots")


class Schedule(models.Model):
    """A job fired by the alias's workers at each slot of a cron expression or a fixed interval.

    ``next_run`` is the slot the workers fire next (None: to be computed from the timing, as after
    an edit of it); ``last_run`` the newest slot fired. Timing edits made through ``save()`` reset
    ``next_run``; a ``QuerySet.update()`` of the timing should set ``next_run=None`` too.
    """

    #: Fields whose change makes ``next_run`` stale.
    TIMING_FIELDS = ("cron", "interval", "time_zone", "enabled")
    #: Fields the workers write.
    WORKER_FIELDS = ("next_run", "last_run", "last_job_id")

    name = models.CharField(_("name"), max_length=200, unique=True)
    alias = models.CharField(_("queue alias"), max_length=100, default="default")
    function = models.CharField(
        _("function"), max_length=255, help_text=_("Dotted path, one of the alias's WORKER FUNCTIONS.")
    )
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    cron = models.CharField(
        _("cron expression"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Five fields: minute hour day-of-month month day-of-week, e.g. 30 2 * * *."),
    )
    interval = models.PositiveIntegerField(
        _("interval (seconds)"),
        null=True,
        blank=True,
        help_text=_("Instead of a cron expression: fire every this many seconds (slots since the epoch)."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=63, default=default_time_zone, help_text=_("Of the cron expression.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    queue_name = models.CharField(
        _("queue"), max_length=255, blank=True, default="", help_text=_("Empty: the alias's default queue.")
    )
    catch_up = models.CharField(
        _("after downtime"), max_length=8, choices=CatchUp.choices, default=CatchUp.LAST
    )
    next_run = AwareDateTimeField(_("next run"), null=True, blank=True, editable=False)
    last_run = AwareDateTimeField(_("last run"), null=True, blank=True, editable=False)
    last_job_id = models.CharField(_("last job id"), max_length=255, blank=True, default="", editable=False)
    created_at = AwareDateTimeField(_("created"), auto_now_add=True)
    updated_at = AwareDateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(cron="") & Q(interval__isnull=False)) | (~Q(cron="") & Q(interval__isnull=True)),
                name="django_arq_schedule_cron_xor_interval",
            ),
            models.CheckConstraint(
                condition=Q(interval__isnull=True) | Q(interval__gte=1),
                name="django_arq_schedule_interval_min",
            ),
        ]
        # The workers' one query per poll: enabled schedules of an alias due by a time.
        indexes = [
            models.Index(
                fields=["alias", "next_run"], name="django_arq_schedule_due_idx", condition=Q(enabled=True)
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new schedule or an edited timing gets ``next_run=None``, for the workers to compute.

        Saving an existing row leaves what the workers write (next and last run, last job) as the
        database has it, unless the timing changed: an admin form loaded before a slot fired
        must not roll the row back.
        """
        retimed = self.timing_key() != getattr(self, "_loaded_timing", None)
        if retimed:
            self.next_run = None
        update_fields = kwargs.get("update_fields")
        if update_fields is None and not self._state.adding and self.pk is not None:
            skip = self.WORKER_FIELDS if not retimed else set(self.WORKER_FIELDS) - {"next_run"}
            update_fields = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in skip
            ]
        elif update_fields is not None and retimed:
            update_fields = {*update_fields, "next_run"}
        if update_fields is not None:
            kwargs["update_fields"] = update_fields
        super().save(*args, **kwargs)
        self._loaded_timing = self.timing_key()

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> Schedule:
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_timing = instance.timing_key()
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._loaded_timing = self.timing_key()

    def timing_key(self) -> tuple[Any, ...]:
        """The values that decide the slots (deferred fields count as unchanged)."""
        loaded = self.get_deferred_fields()
        return tuple(None if f in loaded else getattr(self, f) for f in self.TIMING_FIELDS)

    @property
    def job_id_prefix(self) -> str:
        """Every job this schedule fires has an id starting with this."""
        return f"schedule:{self.pk}:"
