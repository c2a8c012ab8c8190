from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="shop:index")),
    path("admin/", admin.site.urls),
    path("arq/", include("django_arq.urls")),  # the HTTP API: POST arq/jobs/, GET arq/jobs/<id>/, ...
    path("shop/", include("shop.urls")),
]
