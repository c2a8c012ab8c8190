"""URLs of the HTTP API: ``path("arq/", include("django_arq.urls"))``."""

from django.urls import path

from .api import views

app_name = "django_arq"

urlpatterns = [
    path("jobs/", views.enqueue, name="enqueue"),
    path("jobs/<str:job_id>/", views.job_detail, name="job"),
    path("jobs/<str:job_id>/result/", views.job_result, name="job-result"),
    path("jobs/<str:job_id>/abort/", views.abort_job, name="job-abort"),
]
