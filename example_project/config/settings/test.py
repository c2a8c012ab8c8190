"""Settings for the example's own tests: jobs go to an in-memory MockArqQueue, no Redis needed."""

import os

import django

from .base import *  # noqa: F403
from .base import ARQ_QUEUES, BASE_DIR

SECRET_KEY = "example-tests-only"  # noqa: S105 - tests only
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
if os.environ.get("DJANGO_ARQ_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "django_arq_example",
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": "test_django_arq_example"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / "test.sqlite3"),
            "TEST": {"NAME": str(BASE_DIR / "test-db.sqlite3")},
        }
    }

# The one line that makes a project's tests independent of Redis: same API, jobs kept in memory.
ARQ_QUEUES = {"default": {**ARQ_QUEUES["default"], "BACKEND": "django_arq.MockArqQueue"}}

if django.VERSION >= (6, 0):
    # Django Tasks run at once, in the test's own process, with Django's ImmediateBackend.
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
