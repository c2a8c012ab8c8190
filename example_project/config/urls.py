from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from django_arq.api.metrics import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="shop:index")),
    path("admin/", admin.site.urls),
    path("arq/", include("django_arq.urls")),  # the HTTP API: POST arq/jobs/, GET arq/jobs/<id>/, ...
    path("metrics", metrics_view),  # Prometheus: a token of ARQ_METRICS_TOKENS, or view_jobrecord
    path("shop/", include("shop.urls")),
]
