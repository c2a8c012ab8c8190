"""docs/queue-api.md: every snippet of the ArqQueue API page, runnable.

Tested by ``example_project/shop/tests/test_readme.py`` (on MockArqQueue) with the example
project's job functions.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from django_arq import JobResultUnavailable, JobSpec, aenqueue_on_commit, enqueue_on_commit, get_queue


# Async code (async views, ASGI consumers, other jobs): await the queue.
async def start_report(username: str) -> str:
    job = await get_queue().enqueue("shop.jobs.build_sales_report", seconds=5, requested_by=username)
    return job.id


# Sync code (sync views, admin actions, management commands, the shell): the *_sync twins.
def confirm_order(order_id: int) -> str:
    job = get_queue().enqueue_sync("shop.jobs.send_order_confirmation", order_id)
    return job.id


# arq's enqueue options: a delay (or _defer_until=<aware datetime>), your own job id, an expiry.
def remind_later(order_id: int) -> str:
    job = get_queue().enqueue_sync(
        "shop.jobs.send_cart_reminder",
        order_id,
        _defer_by=timedelta(hours=1),
        _job_id=f"cart-reminder-{order_id}",  # a second enqueue with this id raises JobNotQueued
        _expires=timedelta(days=1),
    )
    return job.id


# Many jobs in one Redis round trip, all or nothing (and one bulk insert of their JobRecords).
def remind_all(order_ids: list[int]) -> list[str]:
    specs = [JobSpec("shop.jobs.send_cart_reminder", (pk,), defer_by=3600) for pk in order_ids]
    return [job.id for job in get_queue().enqueue_many_sync(specs)]


# Jobs that must only run if the database transaction commits.
def place_order(product_id: int, email: str) -> str:
    from shop.models import Order

    with transaction.atomic():
        order = Order.objects.create(product_id=product_id, email=email)
        return enqueue_on_commit("shop.jobs.send_order_confirmation", order.pk)  # sent at commit


async def aplace_order(product_id: int, email: str) -> str:
    from shop.models import Order

    order = await Order.objects.acreate(product_id=product_id, email=email)
    return await aenqueue_on_commit("shop.jobs.send_order_confirmation", order.pk)


# Status and result, from any process.
async def outcome(job_id: str) -> str:
    queue = get_queue()
    metadata = await queue.get_job_metadata(job_id)  # JobNotFound if Redis does not know the id
    try:
        result = await queue.get_job_result(job_id)
    except JobResultUnavailable:
        return metadata.status.value  # "deferred", "queued" or "in_progress"
    return f"done: {result.result!r}" if result.success else f"failed: {result.result!r}"


def cancel(job_id: str) -> bool:
    """True once a worker confirmed the abort; False if the job is unknown or already finished."""
    return get_queue().abort_job_sync(job_id, timeout=5)
