"""Products for the demo shop, and a database schedule to edit in the admin (idempotent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from django_arq.models import Schedule
from shop.models import Product

PRODUCTS = {"Coffee beans": "12.50", "Green tea": "8.00", "Mug": "15.00", "Grinder": "89.00"}

# schedule: start
#: A schedule kept in the database: edit its cron expression in the admin (Schedules) and the
#: workers fire it at the new times from their next poll, without a restart.
SNAPSHOT_SCHEDULE = {
    "function": "shop.jobs.take_sales_snapshot",
    "cron": "*/5 * * * *",  # every five minutes
    "time_zone": "Europe/Paris",
}
# schedule: end


class Command(BaseCommand):
    help = "Create the demo shop's products and its sales snapshot schedule."

    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for name, price in PRODUCTS.items():
            _, new = Product.objects.get_or_create(name=name, defaults={"price": Decimal(price)})
            created += new
        self.stdout.write(f"{created} products created, {len(PRODUCTS) - created} already there")
        _, new = Schedule.objects.get_or_create(name="Sales snapshot", defaults=SNAPSHOT_SCHEDULE)
        self.stdout.write("schedule 'Sales snapshot' " + ("created" if new else "already there"))
