"""The Django admin of database schedules: list, edit with validation, enable/disable, "Run now".

Times are shown in the operator's time zone (the active one). Editing needs
``django_arq.change_schedule``; "Run now" enqueues a job, so it needs the permission that operating
on jobs needs (``django_arq.operate_jobrecord``, as for aborting). The jobs a schedule fired are
one click away (the job list filtered by the schedule's job id prefix); so are the ``CRON_JOBS``
of the settings, listed read-only under the schedules.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..audit.payloads import storable_json
from ..handler import UnknownFunction
from ..models import JobRecord, Schedule
from ..queues.exceptions import ArqJobError
from ..schedules import (
    BadArguments,
    TimingError,
    configured_cron_jobs,
    refresh_next_run,
    run_now,
    schedule_pk_of,
    schedule_problems,
    timing_of,
)
from .queries import AnswerableListAdmin

__all__ = ["ScheduleAdmin", "ScheduleForm", "schedule_link"]


def show_time(value: Any) -> str:
    """A time in the active time zone, to the second, with the zone's abbreviation."""
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i:s T") if value else "-"


def schedule_link(job_id: str, site_name: str = "admin") -> SafeString | None:
    """A link to the schedule that fired job ``job_id`` (for a job's page), None for other jobs."""
    pk = schedule_pk_of(job_id)
    if pk is None:
        return None
    schedule = Schedule.objects.filter(pk=pk).only("name").first()
    if schedule is None:
        return format_html("{} (deleted)", _("schedule #{}").format(pk))
    url = reverse(f"{site_name}:django_arq_schedule_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, schedule.name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


class StorableJSONDecoder(json.JSONDecoder):
    """Reads JSON that every database stores; anything else is a ``JSONDecodeError``, which the
    form shows as its message: NaN and infinities, integers past Python's digit limit, nesting
    past its recursion limit, text holding a NUL or a lone surrogate (``jsonb`` stores neither)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "parse_float": _finite, "parse_constant": _no_constant})

    def decode(self, s: str, *args: Any, **kwargs: Any) -> Any:
        try:
            value = super().decode(s, *args, **kwargs)
            text = json.dumps(value)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as exc:
            raise json.JSONDecodeError(str(exc), s, 0) from None
        if storable_json(text) != text:
            raise json.JSONDecodeError("a NUL character or a lone surrogate", s, 0)
        return value


class ArgumentsField(forms.JSONField):
    """A schedule's arguments: JSON that every database stores, else a message (never an error page)."""

    default_error_messages = {
        "invalid": _(
            "Enter valid JSON that every database stores: no NaN or infinity, no NUL character or lone "
            "surrogate in text, no integer of more than 4300 digits, not nested hundreds deep."
        )
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "decoder": StorableJSONDecoder})


class ScheduleForm(forms.ModelForm):
    """The schedule form: the timing and the function are checked with one clear message each."""

    class Meta:
        model = Schedule
        field_classes = {"args": ArgumentsField, "kwargs": ArgumentsField}
        fields = (
            "name", "enabled", "alias", "function", "args", "kwargs", "queue_name",
            "cron", "interval", "time_zone", "catch_up",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field, problem in schedule_problems(data).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, problem)
            elif field not in self.fields:
                self.add_error(None, problem)
        return data


@admin.register(Schedule)
class ScheduleAdmin(AnswerableListAdmin):
    """Schedules as operators see them, with the jobs each one fired."""

    form = ScheduleForm
    list_display = (
        "name",
        "function",
        "when",
        "enabled",
        "next_run_display",
        "last_run_display",
        "jobs_link",
    )
    list_filter = ("enabled", "alias", "catch_up")
    search_fields = ("name", "function")
    actions = ("enable_schedules", "disable_schedules", "run_now")
    change_list_template = "admin/django_arq/schedule/change_list.html"
    readonly_fields = ("next_run_display", "last_run_display", "last_job_link", "jobs_link")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "alias", "function", "args", "kwargs", "queue_name")}),
        (_("When"), {"fields": ("cron", "interval", "time_zone", "catch_up")}),
        (
            _("What happened"),
            {"fields": ("next_run_display", "last_run_display", "last_job_link", "jobs_link")},
        ),
    )

    # -- permissions -------------------------------------------------------------------------

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """ "Run now" enqueues a job: ``django_arq.operate_jobrecord``, as for aborting jobs."""
        opts = JobRecord._meta
        return request.user.has_perm(f"{opts.app_label}.operate_{opts.model_name}")

    # -- columns and fields ------------------------------------------------------------------

    @admin.display(description=_("when"))
    def when(self, obj: Schedule) -> str:
        try:
            return timing_of(obj).describe()
        except TimingError as exc:
            return f"invalid: {exc}"

    @admin.display(description=_("next run"), ordering="next_run")
    def next_run_display(self, obj: Schedule) -> str:
        if not obj.enabled:
            return "- (disabled)"
        return show_time(obj.next_run) if obj.next_run else "computed at the next poll"

    @admin.display(description=_("last run"), ordering="last_run")
    def last_run_display(self, obj: Schedule) -> str:
        return show_time(obj.last_run)

    def _jobs_url(self, **query: str) -> str:
        opts = JobRecord._meta
        url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        return f"{url}?{urlencode(query)}"

    @admin.display(description=_("last job"))
    def last_job_link(self, obj: Schedule) -> SafeString | str:
        if not obj.last_job_id:
            return "-"
        return format_html('<a href="{}">{}</a>', self._jobs_url(job_id=obj.last_job_id), obj.last_job_id)

    @admin.display(description=_("jobs fired"))
    def jobs_link(self, obj: Schedule) -> SafeString | str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', self._jobs_url(job_id__startswith=obj.job_id_prefix), _("jobs fired")
        )

    # -- saving --------------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        """Save; a new or re-timed schedule gets its next run now, so the list shows it."""
        super().save_model(request, obj, form, change)
        refresh_next_run(obj)

    # -- actions -----------------------------------------------------------------------------

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Schedule], enabled: bool) -> None:
        """Enable or disable; a schedule whose timing cannot be used is not enabled, and said so."""
        changed = 0
        for schedule in queryset.filter(enabled=not enabled):
            if enabled:
                try:
                    timing_of(schedule)
                except TimingError as exc:
                    self.message_user(request, f"{schedule.name}: not enabled ({exc})", messages.ERROR)
                    continue
            schedule.enabled = enabled
            schedule.save(update_fields=["enabled", "updated_at"])
            refresh_next_run(schedule)
            changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {changed} schedule(s).", messages.SUCCESS)

    @admin.action(description=_("Enable selected schedules"), permissions=["change"])
    def enable_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable selected schedules"), permissions=["change"])
    def disable_schedules(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(description=_("Run selected schedules now"), permissions=["operate"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        for schedule in queryset:
            try:
                job_id, enqueued = run_now(schedule)
            except (ArqJobError, BadArguments, ImproperlyConfigured, UnknownFunction) as exc:  # a row by code
                self.message_user(request, f"{schedule.name}: not enqueued ({exc})", messages.ERROR)
                continue
            if enqueued:
                self.message_user(request, f"{schedule.name}: enqueued as job {job_id}", messages.SUCCESS)
            else:
                self.message_user(
                    request, f"{schedule.name}: job {job_id} was already enqueued", messages.INFO
                )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        cron_jobs = [
            {**job.__dict__, "next_run_local": show_time(job.next_run)} for job in configured_cron_jobs()
        ]
        return super().changelist_view(request, {"settings_cron_jobs": cron_jobs, **(extra_context or {})})
