"""Views that start jobs: a sync view (``enqueue_sync``) and async views (``await enqueue``)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from django_arq import JobNotFound, enqueue_on_commit, get_queue

from .models import Order, Product, Report, SalesSnapshot

#: How long after an order the cart reminder goes out (a real shop would wait a day).
REMINDER_DELAY = 3


class OrderForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["product", "quantity", "email"]


def _wants_json(request: HttpRequest) -> bool:
    return request.accepts("application/json") and not request.accepts("text/html")


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context = {
        "form": OrderForm(),
        "products": Product.objects.all(),
        "orders": Order.objects.select_related("product")[:10],
        "reports": Report.objects.all()[:5],
        "snapshot": SalesSnapshot.objects.first(),
    }
    return render(request, "shop/index.html", context)


@login_required
@require_POST
def place_order(request: HttpRequest) -> HttpResponse:
    """A sync view: the confirmation is sent once the order is committed, the reminder later."""
    form = OrderForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "invalid", "detail": form.errors.get_json_data()}, status=400)
    with transaction.atomic():
        order = form.save()
        # Sent to Redis only if this transaction commits: no e-mail for an order that was rolled back.
        confirmation_id = enqueue_on_commit("shop.jobs.send_order_confirmation", order.pk)
    # Outside a transaction, the sync twin of ``await queue.enqueue(...)``:
    reminder = get_queue().enqueue_sync("shop.jobs.send_cart_reminder", order.pk, _defer_by=REMINDER_DELAY)
    jobs = {"confirmation": confirmation_id, "reminder": reminder.id}
    if _wants_json(request):
        return JsonResponse({"order": order.pk, "jobs": jobs}, status=201)
    messages.success(request, f"Order #{order.pk} placed; confirmation job {confirmation_id} queued.")
    return redirect("shop:index")


@login_required
@require_POST
async def start_report(request: HttpRequest) -> HttpResponse:
    """An async view: ``await get_queue().enqueue(...)`` with a job id chosen up front."""
    user = await request.auser()
    job_id = uuid4().hex
    report = await Report.objects.acreate(job_id=job_id, requested_by=user.get_username())
    seconds = min(float(request.POST.get("seconds", 3)), 30.0)
    try:
        await get_queue().enqueue(
            "shop.jobs.build_sales_report", seconds=seconds, requested_by=report.requested_by, _job_id=job_id
        )
    except Exception:
        await report.adelete()  # nothing half-done: no report row for a job that was never sent
        raise
    if _wants_json(request):
        return JsonResponse({"job_id": job_id, "status_url": f"/shop/reports/{job_id}/"}, status=202)
    messages.success(request, f"Report {job_id} started.")
    return redirect("shop:index")


@login_required
@require_GET
async def report_status(request: HttpRequest, job_id: str) -> HttpResponse:
    """An async view: the job's live status and progress from Redis, its data from the database."""
    report = await Report.objects.filter(job_id=job_id).afirst()
    if report is None:
        return JsonResponse({"error": "not_found", "detail": f"no report {job_id!r}"}, status=404)
    body: dict[str, Any] = {"job_id": job_id, "progress": None, "data": report.data}
    try:
        job = await get_queue().get_job_metadata(job_id)
    except JobNotFound:  # results expire from Redis (KEEP_RESULT); the row stays
        body["status"] = "complete" if report.finished_at else "not_found"
        return JsonResponse(body)
    body["status"] = job.status.value
    if job.progress is not None:  # what report_progress last said: "3/5 (60%) region 3 of 5 counted"
        body["progress"] = job.progress.summary()
    return JsonResponse(body)
