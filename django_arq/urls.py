"""URLs of the HTTP API: ``path("arq/", include("django_arq.urls"))``."""

from django.urls import path, re_path, register_converter
from django.urls.converters import PathConverter

from .api import metrics, openapi, views


class AnyTextConverter(PathConverter):
    """Any non-empty text, "/" and line breaks included: every id reaches a view, which answers
    400 in JSON for one that is not valid, instead of the site's HTML 404."""

    regex = r"[\s\S]+"


register_converter(AnyTextConverter, "django_arq_any")

app_name = "django_arq"

urlpatterns = [
    path("openapi.json", openapi.document, name="openapi"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("jobs/", views.enqueue, name="enqueue"),
    path("jobs/<django_arq_any:job_id>/result/", views.job_result, name="job-result"),
    path("jobs/<django_arq_any:job_id>/abort/", views.abort_job, name="job-abort"),
    path("jobs/<django_arq_any:job_id>/", views.job_detail, name="job"),
    re_path(r"^jobs/[\s\S]*/\Z", views.not_found),  # e.g. jobs//: JSON, not the site's HTML 404
]
