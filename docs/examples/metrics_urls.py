"""docs/observability.md: a web process's metrics at /metrics, beside the HTTP API (which also
serves them at /arq/metrics). ``tests/metrics/test_docs_examples.py`` serves this URLconf."""

from django.urls import include, path

from django_arq.api.metrics import metrics_view

urlpatterns = [
    path("arq/", include("django_arq.urls")),
    path("metrics", metrics_view),
]
