"""The Django Task, tested with Django's ImmediateBackend (config/settings/test.py): no worker needed."""

import django
import pytest

from shop.models import Order

pytestmark = pytest.mark.skipif(django.VERSION < (6, 0), reason="django.tasks exists from Django 6.0")


@pytest.mark.django_db
def test_restock_check(mug):
    from shop.tasks import restock_check

    Order.objects.create(product=mug, quantity=3, email="a@example.com")
    result = restock_check.enqueue("Mug", threshold=2)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"product": "Mug", "sold": 3, "restock": True}
