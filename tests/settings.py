"""Settings for the test suite: SQLite by default, PostgreSQL with DJANGO_ARQ_TEST_DB=postgres."""

import os
import tempfile

# One test database per pytest process, so that concurrent runs never share one.
RUN_ID = os.environ.get("DJANGO_ARQ_TEST_RUN", str(os.getpid()))

SECRET_KEY = "tests-only-not-secret"
DEBUG = True
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_arq",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
STATIC_URL = "/static/"

if os.environ.get("DJANGO_ARQ_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "django_arq",
            "USER": "postgres",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": f"test_django_arq_{RUN_ID}"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(os.path.dirname(__file__), "test.sqlite3"),
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"django-arq-test-{RUN_ID}.sqlite3")},
        }
    }

#: Prometheus metrics (django_arq.metrics): off unless a test turns them on (override_settings, or
#: DJANGO_ARQ_TEST_METRICS=1 for a child process), so that other tests see the queues unwrapped.
ARQ_METRICS = os.environ.get("DJANGO_ARQ_TEST_METRICS") == "1"

REDIS_URL = os.environ.get("DJANGO_ARQ_TEST_REDIS", "redis://127.0.0.1:6379/11")
TEST_QUEUE = "django-arq-tests:queue"
TEST_OTHER_QUEUE = "django-arq-tests:other"

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TEST_QUEUE,
        "WORKER": {
            "FUNCTIONS": ["tests.jobs.add", "tests.jobs.sleep_for", "tests.jobs.fail", "tests.jobs.echo"]
        },
    },
    "mock": {"BACKEND": "django_arq.MockArqQueue", "DEFAULT_QUEUE_NAME": TEST_QUEUE},
}
