"""Production settings: every secret from the environment, nothing insecure by default."""

import os

import django
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ARQ_QUEUES


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"set the {name} environment variable for production settings")
    return value


DEBUG = False
SECRET_KEY = required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = required("DJANGO_ALLOWED_HOSTS").split(",")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 3600
# HSTS for subdomains and the preload list bind a whole domain: decide them for yours.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if django.VERSION >= (6, 1):  # Django 6.1 configures e-mail with MAILERS
    MAILERS = {"default": {"OPTIONS": {"host": os.environ.get("EMAIL_HOST", "localhost")}}}  # SMTP
else:
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")

# Redis in production: TLS with rediss://, a password in the URL, and bounded connection retries.
ARQ_QUEUES["default"]["OPTIONS"] = {"conn_timeout": 5, "conn_retries": 5, "conn_retry_delay": 1}
