"""A Django Task (Django >= 6.0). With ``TASKS`` on ``django_arq.tasks.ArqBackend`` it runs on the arq
workers, like the jobs in ``jobs.py``; the task code does not know which backend runs it.

Import this module only on Django 6 (``django.tasks`` does not exist before).
"""

from __future__ import annotations

from django.tasks import task

from .models import Order, Product


@task
def restock_check(product_name: str, threshold: int = 1) -> dict[str, object]:
    """Whether a product sold at least ``threshold`` units and should be reordered."""
    product = Product.objects.get(name=product_name)
    sold = sum(Order.objects.filter(product=product).values_list("quantity", flat=True))
    return {"product": product.name, "sold": sold, "restock": sold >= threshold}
