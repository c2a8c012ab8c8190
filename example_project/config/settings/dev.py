"""Development settings (the default of ``manage.py`` and ``bin/demo``): debug on, e-mail to the console."""

import os

import django

from .base import *  # noqa: F403

DEBUG = True
# Development only: production.py refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-project-dev-only")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
_email_backend = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if django.VERSION >= (6, 1):  # Django 6.1 configures e-mail with MAILERS
    MAILERS = {"default": {"BACKEND": _email_backend}}
else:
    EMAIL_BACKEND = _email_backend
