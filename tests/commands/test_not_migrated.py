"""A project that has not run ``migrate`` (or not since an upgrade): every place that needs
django-arq's tables says so in one line, naming the migrations left and ``manage.py migrate``,
rather than "no such table" (SQLite) or a traceback (PostgreSQL's "relation ... does not exist")."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.settings import REDIS_URL

SETTINGS = """
import os
SECRET_KEY = "not-migrated"
USE_TZ = True
INSTALLED_APPS = ["django_arq"]
DATABASES = {"default": %(database)r}
ARQ_QUEUES = {"default": {
    "BACKEND": "django_arq.RedisArqQueue",
    "REDIS_URL": %(redis)r,
    "DEFAULT_QUEUE_NAME": %(queue)r,
    "AUDIT": os.environ.get("NOT_MIGRATED_AUDIT", "on") == "on",
    "WORKER": {"FUNCTIONS": ["tests.jobs.add"]},
}}
"""
MIGRATE = "run `manage.py migrate`"
NOT_APPLIED = (
    "django-arq's migrations are not applied (0001_initial, 0002_index_only_what_is_read, 0003_schedule, "
)
NOT_APPLIED += "0004_record_progress_tries_worker_trace on database 'default')"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a project whose database (of the leg's kind) has no tables."""
    queue = f"not-migrated-{uuid.uuid4().hex[:8]}"
    if os.environ.get("DJANGO_ARQ_TEST_DB") == "postgres":
        import psycopg

        name = f"django_arq_not_migrated_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": "127.0.0.1",
            "USER": "postgres",
        }
    else:
        admin, name = None, ""
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "empty.sqlite3")}
    (tmp_path / "not_migrated_settings.py").write_text(
        SETTINGS % {"database": database, "redis": REDIS_URL, "queue": queue}
    )
    try:
        yield {
            **os.environ,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "not_migrated_settings",
        }
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.close()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["arq_job", "no-such-job"], ["arq_reconcile"]])
def test_a_command_says_to_migrate_in_one_line_with_exit_status_5(
    project: dict[str, str], command: list[str]
) -> None:
    done = manage(project, *command)
    assert done.returncode == 5, done.stderr
    assert done.stderr.strip() == f"CommandError: {NOT_APPLIED}: {MIGRATE}", done.stderr


def test_an_enqueue_is_kept_and_its_record_warning_says_to_migrate(project: dict[str, str]) -> None:
    done = manage(project, "arq_enqueue", "tests.jobs.add", "1", "2")
    assert done.returncode == 0, done.stderr  # the job is in Redis: its record is what waits
    assert f"could not write 1 job record(s), will retry: {NOT_APPLIED}: {MIGRATE}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_a_migration_behind_is_named_with_the_migration_left(project: dict[str, str]) -> None:
    migrated = manage(project, "migrate", "django_arq", "0003", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    done = manage(project, "arq_job", "no-such-job")  # reads a column 0004 adds
    assert done.returncode == 5, done.stderr
    assert done.stderr.strip() == (
        "CommandError: django-arq's migrations are not applied (0004_record_progress_tries_worker_trace on "
        f"database 'default'): {MIGRATE}"
    )


@pytest.mark.parametrize("audit", ["on", "off"])
def test_a_worker_starts_with_a_warning_that_says_to_migrate(project: dict[str, str], audit: str) -> None:
    """It may come up before a deployment's ``migrate`` ends: its records wait and are retried."""
    done = manage({**project, "NOT_MIGRATED_AUDIT": audit}, "arq_worker", "--burst")
    assert done.returncode == 0, done.stderr
    assert f"warning: {NOT_APPLIED}: {MIGRATE}" in done.stderr.splitlines()
