"""Lists whose address a person may write by hand: a query no database can answer goes back to the
list with ``?e=1``, as Django does for an unknown filter, rather than failing the page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.db import DatabaseError, router, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from ..queues.text import storable_text

__all__ = ["AnswerableListAdmin"]


class AnswerableListAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` whose list sends an unanswerable query (text a database cannot hold, a date
    or number out of range, a lookup the database lacks) back to the list with ``?e=1``."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # NUL and lone surrogates: text no database can compare with
        if any(storable_text(value) != value for _, values in request.GET.lists() for value in values):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        if request.method != "GET":  # an action: its own reports say what failed
            return super().changelist_view(request, extra_context)
        try:
            with transaction.atomic(using=router.db_for_read(self.model)):  # an error rolls back to here
                response = super().changelist_view(request, extra_context)
                if isinstance(response, TemplateResponse) and not response.is_rendered:
                    response.render()  # the page's own queries run here: their errors too
        except (ValueError, OverflowError, DatabaseError):
            if request.GET.get(ERROR_FLAG):  # the list itself fails: not the query's fault
                raise
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return response
