"""Products for the demo shop (idempotent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from shop.models import Product

PRODUCTS = {"Coffee beans": "12.50", "Green tea": "8.00", "Mug": "15.00", "Grinder": "89.00"}


class Command(BaseCommand):
    help = "Create the demo shop's products."

    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for name, price in PRODUCTS.items():
            _, new = Product.objects.get_or_create(name=name, defaults={"price": Decimal(price)})
            created += new
        self.stdout.write(f"{created} products created, {len(PRODUCTS) - created} already there")
