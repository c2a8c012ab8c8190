"""A tiny shop: products, orders, and reports that a background job builds."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100, unique=True)
    price = models.DecimalField(max_digits=9, decimal_places=2)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveIntegerField(default=1)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Order #{self.pk}: {self.quantity} x {self.product}"

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


class Report(models.Model):
    """A sales report built by ``shop.jobs.build_sales_report`` (its progress is the job's own)."""

    job_id = models.CharField(max_length=255, unique=True)
    requested_by = models.CharField(max_length=150, blank=True, default="")
    data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Sales report {self.job_id}"


class SalesSnapshot(models.Model):
    """Written by the cron job ``shop.jobs.take_sales_snapshot``."""

    taken_at = models.DateTimeField(auto_now_add=True)
    orders = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["-taken_at", "-id"]
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M:%S}: {self.orders} orders, {self.revenue}"
