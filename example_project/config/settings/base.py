"""Settings shared by every environment; everything site-specific comes from environment variables.

- ``DATABASE_URL``: ``sqlite:///path`` (default: ``example_project/db.sqlite3``) or
  ``postgres://user:password@host:port/name``; ``EXAMPLE_DB=postgres`` is a shortcut for the local
  PostgreSQL (``PGHOST``/``PGPORT``/``PGUSER``, database ``django_arq_example``).
- ``REDIS_URL``: the Redis that jobs go through (default ``redis://127.0.0.1:6379/0``).
- ``EXAMPLE_QUEUE_NAME``: the arq queue (default ``shop:queue``, so as not to mix with other arq apps).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def database_from_url(url: str) -> dict[str, object]:
    """A ``DATABASES`` entry from a ``sqlite:///...`` or ``postgres://...`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path.lstrip("/"))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or str(BASE_DIR / "db.sqlite3")}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ValueError(f"DATABASE_URL must start with sqlite:// or postgres://, not {parts.scheme!r}")


def default_database_url() -> str:
    if os.environ.get("EXAMPLE_DB") == "postgres":
        host = os.environ.get("PGHOST", "127.0.0.1")
        port = os.environ.get("PGPORT", "5432")
        user = os.environ.get("PGUSER", "postgres")
        return f"postgres://{user}@{host}:{port}/django_arq_example"
    return f"sqlite:///{BASE_DIR / 'db.sqlite3'}"


DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL") or default_database_url())}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_arq",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "admin:login"
DEFAULT_FROM_EMAIL = "shop@example.com"

# --- django-arq -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE_NAME = os.environ.get("EXAMPLE_QUEUE_NAME", "shop:queue")

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": QUEUE_NAME,
        "OPTIONS": {"conn_timeout": 2, "conn_retries": 2},
        "WORKER": {
            # Dotted paths: the job's name is its path, and this list is the HTTP API's allow-list.
            "FUNCTIONS": [
                "shop.jobs.build_sales_report",
                "shop.jobs.send_order_confirmation",
                "shop.jobs.import_price_list",
                "shop.jobs.send_cart_reminder",
                "shop.jobs.take_sales_snapshot",  # also fired by the demo's database schedule
            ],
            "CRON_JOBS": [
                # Every 10 seconds, so that the demo shows it; a real shop would take one a day.
                {"FUNCTION": "shop.jobs.take_sales_snapshot", "second": {0, 10, 20, 30, 40, 50}},
                # Housekeeping: the audit records of jobs finished over 30 days ago, every night.
                {"FUNCTION": "shop.jobs.prune_job_records", "hour": 3, "minute": 30},
            ],
            "MAX_JOBS": 10,
            "JOB_TIMEOUT": 300,
            "KEEP_RESULT": 3600,
        },
    },
}

# Traces (django-arq[otel]): each enqueue and each job run is a span, both in one trace.
# EXAMPLE_TRACES=console prints this process's spans; the admin links trace ids to ARQ_TRACE_URL.
if os.environ.get("EXAMPLE_TRACES") == "console":
    from config.tracing import export_traces_to_console

    export_traces_to_console()
ARQ_TRACE_URL = os.environ.get("ARQ_TRACE_URL")  # e.g. "https://tempo.example/trace/{trace_id}"

# Bearer token(s) for service-to-service calls to the HTTP API at /arq/ (browsers use the session).
ARQ_API_TOKENS = [t for t in os.environ.get("ARQ_API_TOKENS", "").split(",") if t]
# Bearer token(s) of the Prometheus server scraping /metrics (django-arq[prometheus]); nothing else.
ARQ_METRICS_TOKENS = [t for t in os.environ.get("ARQ_METRICS_TOKENS", "").split(",") if t]

# Django's Tasks framework (Django >= 6.0): @task functions run on the same arq workers.
if django.VERSION >= (6, 0):
    TASKS = {
        "default": {
            "BACKEND": "django_arq.tasks.ArqBackend",
            "OPTIONS": {"ALIAS": "default"},
        }
    }
