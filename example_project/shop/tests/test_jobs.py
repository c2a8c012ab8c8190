"""Job functions are plain functions: call them with a ``ctx`` dict, as the worker does."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from django_arq.models import JobRecord
from shop import jobs
from shop.models import Order, Product, SalesSnapshot


@pytest.mark.django_db
def test_a_bad_price_list_changes_nothing(mug):
    with pytest.raises(ValueError, match=r"row 2: price 'n/a' is not a number"):
        jobs.import_price_list(
            {"job_try": 1}, [{"name": "Mug", "price": "16.00"}, {"name": "Mug", "price": "n/a"}]
        )
    mug.refresh_from_db()
    assert mug.price == Decimal("15.00")


@pytest.mark.django_db
def test_a_price_list_for_an_unknown_product_fails(mug):
    with pytest.raises(ValueError, match="no product named 'Teapot'"):
        jobs.import_price_list({}, [{"name": "Teapot", "price": "30"}])


@pytest.mark.django_db
def test_a_good_price_list(mug):
    assert jobs.import_price_list({}, [{"name": "Mug", "price": "16.5"}]) == {"updated": 1}
    assert Product.objects.get().price == Decimal("16.50")


@pytest.mark.django_db(transaction=True)
async def test_the_cron_job_takes_a_snapshot(mug):
    await Order.objects.acreate(product=mug, quantity=3, email="c@example.com")
    assert await jobs.take_sales_snapshot({}) == {"orders": 1, "revenue": "45.00"}
    snapshot = await SalesSnapshot.objects.aget()
    assert (snapshot.orders, snapshot.revenue) == (1, Decimal("45.00"))


@pytest.mark.django_db
def test_the_nightly_cron_job_prunes_old_records():
    now = timezone.now()
    for job_id, age in [("old", 40), ("recent", 2)]:
        finished = now - timedelta(days=age)
        JobRecord.objects.create(
            job_id=job_id, name="shop.jobs.import_price_list", queue_name="shop:queue", enqueue_time=finished,
            status="complete", finish_time=finished, success=True,
        )  # fmt: skip
    report = jobs.prune_job_records({})
    assert report.startswith("deleted 1 job record(s) older than 30 day(s)")
    assert list(JobRecord.objects.values_list("job_id", flat=True)) == ["recent"]
