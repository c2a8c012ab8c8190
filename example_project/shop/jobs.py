"""The shop's background jobs. Each is named by its dotted path, e.g. ``"shop.jobs.build_sales_report"``.

A job is ``fn(ctx, *args, **kwargs)``: ``ctx`` is arq's context (``job_id``, ``job_try``, ...).
Async jobs use Django's async ORM; sync jobs are run in a thread by ``manage.py arq_worker``.
"""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.mail import send_mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone

from django_arq import report_progress

from .models import Order, Product, Report, SalesSnapshot

REPORT_STEPS = 5


async def build_sales_report(
    ctx: dict[str, Any], seconds: float = 3.0, requested_by: str = ""
) -> dict[str, Any]:
    """A report that takes a while, and says how far it is: the admin, the HTTP API and the
    commands show its progress (``report_progress``)."""
    report, _ = await Report.objects.aget_or_create(
        job_id=ctx["job_id"], defaults={"requested_by": requested_by}
    )
    await report_progress(ctx, 0, REPORT_STEPS, "starting")
    for step in range(1, REPORT_STEPS + 1):
        await asyncio.sleep(seconds / REPORT_STEPS)  # the slow part: imagine a warehouse query
        await report_progress(ctx, step, REPORT_STEPS, f"region {step} of {REPORT_STEPS} counted")
    totals = await _sales_totals()
    best = await Product.objects.annotate(n=Count("orders")).order_by("-n", "name").afirst()
    report.data = {**totals, "best_seller": best.name if best else None}
    report.finished_at = timezone.now()
    await report.asave(update_fields=["data", "finished_at"])
    return report.data


def send_order_confirmation(ctx: dict[str, Any], order_id: int) -> dict[str, Any]:
    """An e-mail notification, written as a plain sync function (the worker runs it in a thread)."""
    order = Order.objects.select_related("product").get(pk=order_id)
    send_mail(
        subject=f"Your order #{order.pk}",
        message=f"Thank you! {order.quantity} x {order.product.name}, total {order.total}.",
        from_email=None,
        recipient_list=[order.email],
    )
    order.confirmation_sent_at = timezone.now()
    order.save(update_fields=["confirmation_sent_at"])
    return {"order": order.pk, "sent_to": order.email}


def import_price_list(ctx: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, int]:
    """Update prices from a supplier's list; a bad row fails the whole job and changes nothing."""
    with transaction.atomic():
        for number, row in enumerate(rows, 1):
            try:
                price = Decimal(str(row["price"]))
            except (KeyError, InvalidOperation) as exc:
                raise ValueError(f"row {number}: price {row.get('price')!r} is not a number") from exc
            updated = Product.objects.filter(name=row.get("name")).update(price=price)
            if not updated:
                raise ValueError(f"row {number}: no product named {row.get('name')!r}")
    return {"updated": len(rows)}


async def send_cart_reminder(ctx: dict[str, Any], order_id: int) -> dict[str, Any]:
    """Enqueued with ``_defer_by``: reminds the customer some time after the order."""
    order = await Order.objects.aget(pk=order_id)
    order.reminder_sent_at = timezone.now()
    await order.asave(update_fields=["reminder_sent_at"])
    return {"order": order.pk, "reminded": order.email}


async def take_sales_snapshot(ctx: dict[str, Any]) -> dict[str, Any]:
    """A cron job (``WORKER["CRON_JOBS"]``): stores the running totals."""
    totals = await _sales_totals()
    await SalesSnapshot.objects.acreate(orders=totals["orders"], revenue=Decimal(totals["revenue"]))
    return totals


def prune_job_records(ctx: dict[str, Any], days: int = 30) -> str:
    """A nightly cron job: delete the JobRecords of jobs that finished more than ``days`` ago."""
    out = io.StringIO()
    call_command("arq_prune", "--older-than", str(days), stdout=out)
    return out.getvalue().strip()


async def _sales_totals() -> dict[str, Any]:
    line = ExpressionWrapper(F("product__price") * F("quantity"), output_field=DecimalField())
    totals = await Order.objects.aaggregate(orders=Count("id"), revenue=Sum(line))
    revenue = Decimal(totals["revenue"] or 0).quantize(Decimal("0.01"))  # SQLite drops trailing zeros
    return {"orders": totals["orders"], "revenue": str(revenue)}
