from django.urls import path

from . import views

app_name = "shop"
urlpatterns = [
    path("", views.index, name="index"),
    path("orders/", views.place_order, name="place_order"),
    path("reports/", views.start_report, name="start_report"),
    path("reports/<str:job_id>/", views.report_status, name="report_status"),
]
