"""The Django admin for jobs: a fast, read-only job list, abort/refresh/retry, and a queue dashboard.

Viewing needs ``django_arq.view_jobrecord``; aborting, refreshing and retrying need
``django_arq.operate_jobrecord``, checked on the server by every action and button. Records
cannot be added or edited by hand; deleting them needs ``django_arq.delete_jobrecord``
(superusers have it), as for any Django model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..audit.tries import try_status
from ..conf import trace_url
from ..models import ABORTED, JobRecord
from ..queues.jobs import parse_aware_time
from ..queues.text import storable_text
from . import actions, dashboard, workers
from .actions import Outcome, Report
from .changelist import CappedPaginator, DistinctValuesFilter, JobChangeList, task_path
from .progress import progress_bar, record_progress, running_progress
from .queries import AnswerableListAdmin
from .schedules import schedule_link
from .tracebacks import render_traceback

__all__ = ["JobRecordAdmin"]

#: Message level of each outcome.
LEVELS = {
    Outcome.aborted: messages.SUCCESS,
    Outcome.refreshed: messages.SUCCESS,
    Outcome.retried: messages.SUCCESS,
    Outcome.finished: messages.INFO,
    Outcome.newer: messages.INFO,
    Outcome.unknown: messages.WARNING,
    Outcome.requested: messages.WARNING,
    Outcome.not_finished: messages.WARNING,
    Outcome.lossy: messages.WARNING,
    Outcome.unavailable: messages.ERROR,
    Outcome.failed: messages.ERROR,
}
#: How many retries of a job its page links to.
RETRIES_SHOWN = 20
#: How many jobs one message names before it says "and N more".
NAMED_IN_MESSAGE = 10


#: The one date format of the job list and a job's page: compact, to the second, unambiguous.
DATETIME_FORMAT = "Y-m-d H:i:s"
#: Characters of a job id shown in the list (the full id is its title, and on the job's page).
SHORT_ID = 8


def show_time(value: Any) -> SafeString | str:
    """A time in the admin's one format, in the current time zone; "-" for none.

    A narrow column may wrap it between the date and the time of day, never inside either.
    """
    if not value:
        return "-"
    day, time = formats.date_format(timezone.localtime(value), DATETIME_FORMAT).split(" ", 1)
    return format_html('<span class="arq-nowrap">{}</span> <span class="arq-nowrap">{}</span>', day, time)


def _time_column(field: str, label: Any) -> Callable[[Any, JobRecord], SafeString | str]:
    """A list column / read-only field showing a time to the second, sortable by ``field``."""

    @admin.display(description=label, ordering=field)
    def show(self: Any, obj: JobRecord) -> SafeString | str:
        return show_time(getattr(obj, field))

    return show


def breakable(text: str) -> SafeString:
    """``text`` escaped, with line-break opportunities after its dots and colons (dotted paths, queue
    names): a narrow column wraps ``myapp.tasks.`` / ``send_email`` rather than at any letter."""
    return mark_safe("<wbr>".join(escape(part) for part in re.split(r"(?<=[.:])", text)))  # noqa: S308


def short_id(job_id: str) -> SafeString:
    """The first characters of a job id, the full id in its title (shown on hover, read by search)."""
    if len(job_id) <= SHORT_ID + 1:
        return format_html("<code>{}</code>", job_id)
    return format_html('<code title="{}">{}…</code>', job_id, job_id[:SHORT_ID])


def pretty_json(value: Any) -> SafeString:
    """A JSON payload, indented, escaped, inside ``<pre>`` (whatever a record written by hand holds)."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except RecursionError:
        text = "(nested too deeply to show)"
    return format_html('<pre class="arq-payload">{}</pre>', storable_text(text))


@admin.register(JobRecord)
class JobRecordAdmin(AnswerableListAdmin):
    """Jobs as operators see them: read-only records plus abort, refresh and retry."""

    #: Seconds an abort waits for workers to confirm (in total, for all selected jobs).
    abort_timeout = 2.0
    #: Most jobs one action works on; a larger selection is refused with a message.
    max_selection = 500

    # Sized for a laptop with the admin's sidebar open: the start time is on the job's page (and is
    # its finish time less its duration), success is in the status badge, the alias in the queue's title.
    list_display = (
        "short_job_id",
        "task_display",
        "status_column",
        "queue_display",
        "enqueued",
        "finished",
        "duration_display",
    )
    list_display_links = ("short_job_id", "task_display")
    list_filter = (
        "status",
        ("queue_name", DistinctValuesFilter),
        ("alias", DistinctValuesFilter),
        ("name", DistinctValuesFilter),
        "success",
        ("enqueue_time", admin.DateFieldListFilter),
    )
    search_fields = ("=job_id", "name")
    date_hierarchy = "enqueue_time"
    ordering = ("-enqueue_time", "-id")
    list_select_related = False
    show_full_result_count = False
    paginator = CappedPaginator
    list_per_page = 100
    actions = ("abort_jobs", "refresh_jobs", "retry_jobs")
    change_list_template = "admin/django_arq/jobrecord/change_list.html"
    change_form_template = "admin/django_arq/jobrecord/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "job_id",
                    "task_detail",
                    "status_badge",
                    "progress_display",
                    "queue_name",
                    "alias",
                    "job_try",
                    "try_errors_display",
                )
            },
        ),
        (_("Times"), {"fields": ("enqueued", "started", "finished", "duration_display")}),
        (
            _("Payload"),
            {"fields": ("args_pretty", "kwargs_pretty", "success", "result_pretty", "error_pretty")},
        ),
        (
            _("Operations"),
            {
                "fields": (
                    "abort_requested",
                    "abort_requested_by",
                    "retry_of",
                    "retries_display",
                    "schedule_display",
                    "trace_display",
                    "record_created",
                    "record_updated",
                )
            },
        ),
    )
    readonly_fields = (
        "task_detail",
        "abort_requested",
        "record_created",
        "record_updated",
        "task_display",
        "status_badge",
        "status_column",
        "progress_display",
        "enqueued",
        "started",
        "finished",
        "duration_display",
        "retries_display",
        "try_errors_display",
        "schedule_display",
        "trace_display",
        "args_pretty",
        "kwargs_pretty",
        "result_pretty",
        "error_pretty",
    )

    class Media:
        css = {"all": ("django_arq/admin.css",)}

    # -- permissions -------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Abort, refresh and retry: ``django_arq.operate_jobrecord``."""
        return request.user.has_perm(f"{self.opts.app_label}.operate_{self.opts.model_name}")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return JobChangeList

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        """The dashboard's "last hour" counts link to the jobs finished since a time."""
        return lookup == "finish_time__gte" or super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[JobRecord], search_term: str
    ) -> tuple[QuerySet[JobRecord], bool]:
        """A job id finds its job through the index; any other term searches task names (a scan)."""
        term = search_term.strip()
        if term and queryset.filter(job_id=term).exists():
            return queryset.filter(job_id=term), False
        return super().get_search_results(request, queryset, search_term)

    # -- columns and fields ------------------------------------------------------------------

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: JobRecord) -> SafeString:
        label = obj.get_status_display()
        css = obj.status
        if obj.status == "complete" and obj.success is not None:
            if obj.success:
                css = label = "success"
            else:
                aborted = getattr(obj, "was_aborted", None)  # annotated on the list, computed on a job's page
                if aborted is None:
                    aborted = obj.error == ABORTED  # set by the worker that aborted it
                css = label = "aborted" if aborted else "failed"
        badge = format_html('<span class="arq-badge arq-{}">{}</span>', css, label)
        tries = try_status(obj)
        return format_html('{} <span class="arq-quiet arq-tries">{}</span>', badge, tries) if tries else badge

    @admin.display(description=_("status"), ordering="status")
    def status_column(self, obj: JobRecord) -> SafeString:
        """The job list's status: the badge, and under it the progress bar of a running job."""
        return format_html("{}{}", self.status_badge(obj), running_progress(obj))

    @admin.display(description=_("progress"))
    def progress_display(self, obj: JobRecord) -> SafeString | str:
        """A job's page: its last progress report in full, and when it was made; "-" if none."""
        progress = record_progress(obj)
        if progress is None:
            return "-"
        return format_html(
            '{}<div class="arq-quiet">{} {}</div>',
            progress_bar(progress, css="arq-progress arq-progress-wide"),
            _("reported at"),
            show_time(progress.time),
        )

    @admin.display(description=_("task"), ordering="name")
    def task_display(self, obj: JobRecord) -> SafeString:
        """The job's function, or for a Django task (``run_task``) the task's module path."""
        return breakable(task_path(obj))

    @admin.display(description=_("task"))
    def task_detail(self, obj: JobRecord) -> SafeString | str:
        """On a job's page: the task, and the arq job name when that differs (a Django task)."""
        path = task_path(obj)
        if path == obj.name:
            return path
        return format_html('{} <span class="arq-quiet">(arq job {})</span>', path, obj.name)

    @admin.display(description=_("job id"), ordering="job_id")
    def short_job_id(self, obj: JobRecord) -> SafeString:
        return short_id(obj.job_id)

    @admin.display(description=_("queue"), ordering="queue_name")
    def queue_display(self, obj: JobRecord) -> SafeString:
        return format_html('<span title="{}: {}">{}</span>', _("alias"), obj.alias, breakable(obj.queue_name))

    enqueued = _time_column("enqueue_time", _("enqueued at"))
    started = _time_column("start_time", _("started at"))
    finished = _time_column("finish_time", _("finished at"))
    abort_requested = _time_column("abort_requested_at", _("abort requested at"))
    record_created = _time_column("created_at", _("record created"))
    record_updated = _time_column("updated_at", _("record updated"))

    @admin.display(description=_("retried as"))
    def retries_display(self, obj: JobRecord) -> SafeString | str:
        change = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change"
        retries = obj.retries.only("pk", "job_id").order_by("enqueue_time", "pk")[:RETRIES_SHOWN]
        links = [(reverse(change, args=[r.pk]), short_id(r.job_id)) for r in retries]
        return format_html_join(", ", '<a href="{}">{}</a>', links) if links else "-"

    @admin.display(description=_("errors of earlier tries"))
    def try_errors_display(self, obj: JobRecord) -> SafeString | str:
        """One line per failed try: its number, when it ended, and its error (or that it was lost)."""
        entries = [e for e in obj.try_errors or () if isinstance(e, dict)]
        lines = [
            (
                e.get("try", "?"),
                show_time(parse_aware_time(e.get("time"))),
                e.get("error", ""),
                _(" (lost)") if e.get("lost") else "",
            )
            for e in entries
        ]
        html = format_html_join("", "<li>try {} at {}: <code>{}</code>{}</li>", lines)
        return format_html('<ul class="arq-tries">{}</ul>', html) if lines else "-"

    @admin.display(description=_("fired by schedule"))
    def schedule_display(self, obj: JobRecord) -> SafeString | str:
        return schedule_link(obj.job_id, self.admin_site.name) or "-"

    @admin.display(description=_("trace"))
    def trace_display(self, obj: JobRecord) -> SafeString | str:
        """The trace id of the job's enqueue, linked when ``ARQ_TRACE_URL`` gives a trace's address."""
        if not obj.trace_id:
            return "-"
        url = trace_url(obj.trace_id)
        if url is None:
            return format_html("<code>{}</code>", obj.trace_id)
        return format_html('<a href="{}" rel="noopener"><code>{}</code></a>', url, obj.trace_id)

    @admin.display(description=_("duration"))
    def duration_display(self, obj: JobRecord) -> str:
        seconds = obj.duration
        if seconds is None:
            return "-"
        return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"

    @admin.display(description=_("positional arguments"))
    def args_pretty(self, obj: JobRecord) -> SafeString:
        return pretty_json(obj.args)

    @admin.display(description=_("keyword arguments"))
    def kwargs_pretty(self, obj: JobRecord) -> SafeString:
        return pretty_json(obj.kwargs)

    @admin.display(description=_("result"))
    def result_pretty(self, obj: JobRecord) -> SafeString:
        return pretty_json(obj.result)

    @admin.display(description=_("error or traceback"))
    def error_pretty(self, obj: JobRecord) -> SafeString | str:
        """The error; for a traceback, the project's own frames first and the whole of it folded."""
        return render_traceback(obj.error) if obj.error else "-"

    # -- actions -----------------------------------------------------------------------------

    def _operate(
        self,
        request: HttpRequest,
        queryset: QuerySet[JobRecord],
        run: Callable[[list[JobRecord]], list[Report]],
    ) -> None:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        records = list(
            queryset.defer(None)[: self.max_selection + 1]
        )  # every field: the list's query defers some
        if len(records) > self.max_selection:
            message = f"Select at most {self.max_selection} jobs at a time; nothing was done."
            self.message_user(request, message, messages.ERROR)
            return
        self._report(request, run(records))

    @admin.action(description=_("Abort selected jobs"), permissions=["operate"])
    def abort_jobs(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        user = request.user.get_username()
        self._operate(
            request, queryset, lambda records: actions.abort_records(records, user, self.abort_timeout)
        )

    @admin.action(description=_("Refresh selected jobs from Redis"), permissions=["operate"])
    def refresh_jobs(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        self._operate(request, queryset, actions.refresh_records)

    @admin.action(description=_("Retry selected finished jobs"), permissions=["operate"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        self._operate(request, queryset, actions.retry_records)

    def _report(self, request: HttpRequest, reports: Sequence[Report]) -> None:
        """One message per outcome, naming the jobs it concerns."""
        groups: dict[tuple[Outcome, str], list[Report]] = {}
        for report in reports:
            detail = "" if report.outcome is Outcome.retried else report.detail
            groups.setdefault((report.outcome, detail), []).append(report)
        for (outcome, detail), group in groups.items():
            names = [self._describe(r) for r in group[:NAMED_IN_MESSAGE]]
            if len(group) > NAMED_IN_MESSAGE:
                names.append(f"and {len(group) - NAMED_IN_MESSAGE} more")
            text = f"{outcome.value}: {', '.join(names)}"
            if detail:
                text += f" ({detail})"
            self.message_user(request, text, LEVELS[outcome])

    @staticmethod
    def _describe(report: Report) -> str:
        text = f"{task_path(report.record)} [{report.record.job_id}]"
        if report.outcome is Outcome.retried:
            text += f" as job {report.detail}"
        return text

    # -- buttons on a job's page, and the dashboard ------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("dashboard/", wrap(self.dashboard_view), name=f"{info}_dashboard"),
            path("workers/", wrap(self.workers_view), name=f"{info}_workers"),
            path("<path:object_id>/abort/", wrap(self.button_view(self.abort_jobs)), name=f"{info}_abort"),
            path(
                "<path:object_id>/refresh/",
                wrap(self.button_view(self.refresh_jobs)),
                name=f"{info}_refresh",
            ),
            path("<path:object_id>/retry/", wrap(self.button_view(self.retry_jobs)), name=f"{info}_retry"),
            *super().get_urls(),
        ]

    def button_view(
        self, action: Callable[[HttpRequest, QuerySet[JobRecord]], None]
    ) -> Callable[..., HttpResponse]:
        """A POST-only view running ``action`` on one job, then back to the job's page."""

        @require_POST
        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            if not (self.has_view_permission(request) and self.has_operate_permission(request)):
                raise PermissionDenied
            record = self.get_object(request, object_id)
            if record is None:
                raise Http404(f"no job record {object_id!r}")
            action(request, self.get_queryset(request).filter(pk=record.pk))
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:django_arq_jobrecord_change", args=[record.pk])
            )

        return view

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {"can_operate": self.has_operate_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The job list, with a link to the dashboard (a query it cannot answer: ``AnswerableListAdmin``)."""
        dashboard = reverse(f"{self.admin_site.name}:django_arq_jobrecord_dashboard")
        return super().changelist_view(request, {"dashboard_url": dashboard, **(extra_context or {})})

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Counts, worker health and the last hour's throughput of every queue."""
        return self._queue_page(
            request,
            "dashboard",
            _("Queue dashboard"),
            queues=dashboard.collect(),
            changelist_url=self._url("changelist"),
            workers_url=self._url("workers"),
        )

    def workers_view(self, request: HttpRequest) -> HttpResponse:
        """The live and recently lost workers of every shown queue, from their heartbeats."""
        return self._queue_page(
            request,
            "workers",
            _("Workers"),
            queues=workers.collect(self.admin_site.name),
            dashboard_url=self._url("dashboard"),
        )

    def _url(self, name: str) -> str:
        return reverse(f"{self.admin_site.name}:django_arq_jobrecord_{name}")

    def _queue_page(
        self, request: HttpRequest, page: str, title: str | Promise, **context: Any
    ) -> HttpResponse:
        """One of the admin's pages about queues (``jobrecord/<page>.html``), for viewers of jobs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context.update(
            self.admin_site.each_context(request),
            title=title,
            page_class=f"arq-{page}-page",
            opts=self.opts,
            media=self.media,
        )
        return TemplateResponse(request, f"admin/django_arq/jobrecord/{page}.html", context)
