"""Testing views that enqueue jobs, without Redis: the jobs land in a MockArqQueue.

``queue.jobs()`` shows what was enqueued; ``await queue.run_queued()`` runs the jobs in this
process, as a worker would, so a test can check their effects too.
"""

import pytest
from django.core import mail
from django.test import AsyncClient, Client

from django_arq import JobStatus
from shop.models import Order, Report


@pytest.mark.django_db(transaction=True)  # the jobs run in other threads: they must see committed rows
async def test_an_order_sends_a_confirmation_and_later_a_reminder(queue, user, mug):
    client = AsyncClient()
    await client.aforce_login(user)

    response = await client.post(
        "/shop/orders/", {"product": mug.pk, "quantity": 2, "email": "bob@example.com"},
        headers={"accept": "application/json"},
    )  # fmt: skip

    assert response.status_code == 201
    jobs = {job.name: job for job in queue.jobs()}
    assert jobs["shop.jobs.send_order_confirmation"].status == JobStatus.queued
    assert jobs["shop.jobs.send_cart_reminder"].status == JobStatus.deferred

    results = await queue.run_queued()  # runs what is due now: the confirmation, not the reminder
    assert [(r.name, r.success) for r in results] == [("shop.jobs.send_order_confirmation", True)]
    assert mail.outbox[0].to == ["bob@example.com"]
    assert "2 x Mug, total 30.00" in mail.outbox[0].body

    (reminder,) = await queue.run_queued(include_deferred=True)  # as if the deferral had passed
    order = await Order.objects.aget(pk=response.json()["order"])
    assert reminder.result == {"order": order.pk, "reminded": "bob@example.com"}
    assert order.confirmation_sent_at and order.reminder_sent_at


@pytest.mark.django_db
def test_an_invalid_order_enqueues_nothing(queue, user, mug):
    client = Client()
    client.force_login(user)
    response = client.post("/shop/orders/", {"product": mug.pk, "quantity": 0, "email": "not-an-email"})
    assert response.status_code == 400
    assert queue.jobs() == []


@pytest.mark.django_db(transaction=True)
async def test_a_report_records_its_progress(queue, user, mug):
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.post("/shop/reports/", {"seconds": 0}, headers={"accept": "application/json"})
    assert response.status_code == 202
    job_id = response.json()["job_id"]

    status = await client.get(f"/shop/reports/{job_id}/")
    assert status.json() == {"job_id": job_id, "progress": None, "data": None, "status": "queued"}

    (result,) = await queue.run_queued()
    assert result.success and result.result == {"orders": 0, "revenue": "0.00", "best_seller": "Mug"}
    status = await client.get(f"/shop/reports/{job_id}/")
    done = "5/5 (100%) region 5 of 5 counted"  # the job's last report_progress
    assert status.json() == {"job_id": job_id, "progress": done, "data": result.result, "status": "complete"}
    assert (await Report.objects.aget(job_id=job_id)).requested_by == "ada"


@pytest.mark.django_db
def test_the_views_need_a_login(queue):
    response = Client().post("/shop/reports/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert queue.jobs() == []


@pytest.mark.django_db(transaction=True)
async def test_report_status_follows_the_job(queue, user):
    """``set_in_progress`` / ``set_complete`` play the worker's part, without running the job."""
    client = AsyncClient()
    await client.aforce_login(user)
    job_id = (await client.post("/shop/reports/", headers={"accept": "application/json"})).json()["job_id"]

    await queue.set_in_progress(job_id)
    assert (await client.get(f"/shop/reports/{job_id}/")).json()["status"] == "in_progress"

    await queue.set_complete(job_id, result={"orders": 7})
    assert (await client.get(f"/shop/reports/{job_id}/")).json()["status"] == "complete"
    assert (await queue.get_job_result(job_id)).result == {"orders": 7}
