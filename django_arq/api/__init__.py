"""The HTTP API's building blocks: errors, authentication, request parsing and the JSON form of jobs.

The views themselves live in ``django_arq.api.views`` and are mounted by ``django_arq.urls``, which
needs the app installed: without it, importing the API says so, rather than failing on its models.
"""

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

if apps.ready and not apps.is_installed("django_arq"):
    raise ImproperlyConfigured(
        'the HTTP API (django_arq.urls) needs "django_arq" in INSTALLED_APPS: add it there, and run '
        "`manage.py migrate`"
    )
