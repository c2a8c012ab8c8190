from django.contrib import admin

from .models import Order, Product, Report, SalesSnapshot


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "price"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "product",
        "quantity",
        "email",
        "created_at",
        "confirmation_sent_at",
        "reminder_sent_at",
    ]
    list_select_related = ["product"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["job_id", "requested_by", "created_at", "finished_at"]
    readonly_fields = ["job_id", "data", "finished_at"]


@admin.register(SalesSnapshot)
class SalesSnapshotAdmin(admin.ModelAdmin):
    list_display = ["taken_at", "orders", "revenue"]
