from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls)]

try:
    urlpatterns.append(path("arq/", include("django_arq.urls")))
except ImportError:  # the HTTP API module is optional while it is being built
    pass
