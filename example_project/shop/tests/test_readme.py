"""The README's "Enqueueing from sync and async code" snippets (docs/examples/enqueue.py), run."""

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction

from django_arq import JobNotFound, JobNotQueued, JobStatus
from django_arq.models import JobRecord
from docs.examples import enqueue
from shop import jobs
from shop.models import Order, Report


@pytest.mark.django_db(transaction=True)
async def test_async_enqueue_and_outcome(queue, mug):
    job_id = await enqueue.start_report("ada")
    assert await enqueue.outcome(job_id) == "queued"

    async def quick_report(ctx, **kwargs):  # the real job, without its 5 seconds of waiting
        return await jobs.build_sales_report(ctx, **{**kwargs, "seconds": 0})

    await queue.run_queued({"shop.jobs.build_sales_report": quick_report})
    assert await enqueue.outcome(job_id) == "done: {'orders': 0, 'revenue': '0.00', 'best_seller': 'Mug'}"
    assert (await Report.objects.aget(job_id=job_id)).requested_by == "ada"
    with pytest.raises(JobNotFound):
        await enqueue.outcome("no-such-job")


@pytest.mark.django_db(transaction=True)
def test_sync_enqueue(queue, mug):
    order = Order.objects.create(product=mug, email="b@example.com")
    job_id = enqueue.confirm_order(order.pk)
    assert [(job.id, job.name) for job in queue.jobs()] == [(job_id, "shop.jobs.send_order_confirmation")]
    (result,) = async_to_sync(queue.run_queued)()
    assert result.result == {"order": order.pk, "sent_to": "b@example.com"}


@pytest.mark.django_db
def test_enqueue_options(queue, mug):
    order = Order.objects.create(product=mug, email="c@example.com")
    job_id = enqueue.remind_later(order.pk)
    assert job_id == f"cart-reminder-{order.pk}"
    assert queue.get_job_metadata_sync(job_id).status == JobStatus.deferred
    with pytest.raises(JobNotQueued):
        enqueue.remind_later(order.pk)  # the same id again: refused


@pytest.mark.django_db
def test_bulk_enqueue_writes_every_record(queue):
    ids = enqueue.remind_all([1, 2, 3])
    assert len(set(ids)) == 3
    assert {job.status for job in queue.jobs()} == {JobStatus.deferred}
    assert JobRecord.objects.filter(job_id__in=ids).count() == 3


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit(queue, mug):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue.place_order(mug.pk, "rolled-back@example.com")
        raise RuntimeError("the order is rolled back")
    assert queue.jobs() == []  # so no confirmation was sent

    job_id = enqueue.place_order(mug.pk, "d@example.com")
    assert [job.id for job in queue.jobs()] == [job_id]


@pytest.mark.django_db(transaction=True)
async def test_async_enqueue_on_commit(queue, mug):
    job_id = await enqueue.aplace_order(mug.pk, "e@example.com")
    assert [job.id for job in queue.jobs()] == [job_id]


@pytest.mark.django_db
def test_cancel(queue, mug):
    order = Order.objects.create(product=mug, email="f@example.com")
    job_id = enqueue.confirm_order(order.pk)
    assert enqueue.cancel(job_id) is True
    assert async_to_sync(enqueue.outcome)(job_id) == "failed: CancelledError()"
    assert enqueue.cancel(job_id) is False  # finished (aborted) already
    assert enqueue.cancel("no-such-job") is False
