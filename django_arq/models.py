"""JobRecord: the database mirror of every job's metadata and result, for auditing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .queues.jobs import JobStatus

__all__ = ["JobRecord"]

STATUS_CHOICES = [(s.value, s.value.replace("_", " ")) for s in JobStatus]


#: ``JobRecord.error`` of a job that a worker aborted.
ABORTED = "aborted"


class JobRecord(models.Model):
    """One arq job as enqueued, run and ended; fields follow ``JobResult`` (``job_id`` for ``id``)."""

    job_id = models.CharField(_("job id"), max_length=255)
    name = models.CharField(_("task name"), max_length=255)
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    enqueue_time = models.DateTimeField(_("enqueued at"))
    status = models.CharField(
        _("status"), max_length=16, choices=STATUS_CHOICES, default=JobStatus.queued.value
    )
    queue_name = models.CharField(_("queue"), max_length=255)
    alias = models.CharField(_("queue alias"), max_length=100, default="default")
    start_time = models.DateTimeField(_("started at"), null=True, blank=True)
    finish_time = models.DateTimeField(_("finished at"), null=True, blank=True)
    success = models.BooleanField(_("success"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error or traceback"), blank=True, default="")
    job_try = models.PositiveIntegerField(_("tries"), default=0)
    abort_requested_at = models.DateTimeField(_("abort requested at"), null=True, blank=True)
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
    created_at = models.DateTimeField(_("record created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("record updated"), auto_now=True)

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
