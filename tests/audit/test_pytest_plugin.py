"""django_arq.pytest_plugin: tests of a user's project wait for records with ``arq_records``, and a
test run never writes records into the real database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from django_arq import get_queue
from django_arq.models import JobRecord
from django_arq.pytest_plugin import ArqRecords
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


async def test_arq_records_waits_in_async_tests(arq_records: ArqRecords) -> None:
    meta = await get_queue("mock").enqueue("tests.jobs.add", 1, 2)
    await arq_records.aflush()
    assert await JobRecord.objects.filter(alias="mock", job_id=meta.id).aexists()


def test_arq_records_waits_in_sync_tests(arq_records: ArqRecords) -> None:
    meta = get_queue("mock").enqueue_sync("tests.jobs.add", 1, 2)
    arq_records.flush()
    assert JobRecord.objects.filter(alias="mock", job_id=meta.id).exists()


def test_arq_records_fails_the_test_when_records_are_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_arq.audit import writer

    with monkeypatch.context() as patched, pytest.raises(AssertionError, match=r"within 0\.5s"):
        patched.setattr(writer, "flush_records", lambda timeout: False)
        ArqRecords(timeout=0.5).flush()


USER_TESTS = """
import pytest

from django_arq import get_queue
from django_arq.audit.writer import writer
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)


def test_waits_for_its_record(arq_records):
    get_queue("mock").enqueue_sync("tests.jobs.add", 1, 2, _job_id="waited-for")
    arq_records.flush()
    assert JobRecord.objects.filter(job_id="waited-for").exists()


async def test_leaves_a_record_pending():
    writer.stop()
    writer.interval = 3600  # the writer has fallen behind: the record is still pending at exit
    await get_queue("mock").enqueue("tests.jobs.add", 1, 2, _job_id="left-pending")
"""


@pytest.fixture
def real_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database standing for a developer's real one, under the test database's engine."""
    name = f"django_arq_real_{uuid.uuid4().hex[:8]}"
    config = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        real, test = str(tmp_path / f"{name}.sqlite3"), str(tmp_path / f"test_{name}.sqlite3")
    else:
        real, test = name, f"test_{name}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{real}"')
    database = {key: config[key] for key in ("ENGINE", "USER", "HOST", "PORT")}
    database.update(NAME=real, TEST={"NAME": test})
    settings = f"from tests.settings import *  # noqa\nDATABASES = {{'default': {database!r}}}\n"
    (tmp_path / "user_settings.py").write_text(settings)
    path = f"{tmp_path}{os.pathsep}{ROOT}"
    env = {**os.environ, "PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "user_settings"}
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=tmp_path, check=True)
    yield {"real": real, **env}
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{real}" WITH (FORCE)')


def real_records(real: str) -> list[str]:
    if connection.vendor == "sqlite":
        with sqlite3.connect(real) as db:
            return [row[0] for row in db.execute("SELECT job_id FROM django_arq_jobrecord")]
    import psycopg

    config = connection.settings_dict
    with psycopg.connect(dbname=real, user=config["USER"], host=config["HOST"], port=config["PORT"]) as db:
        return [row[0] for row in db.execute("SELECT job_id FROM django_arq_jobrecord")]


def test_a_user_projects_test_run_never_writes_records_into_its_real_database(
    tmp_path: Path, real_database: dict[str, str]
) -> None:
    """Issue 15, finding 3: a record still pending at exit, after pytest-django dropped the test
    database and restored the real one's settings, is dropped with a warning, not written there."""
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    env = {k: v for k, v in real_database.items() if k != "real"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "django_arq.pytest_plugin", "-p", "no:randomly",
         "-p", "no:cacheprovider", "test_user.py"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "2 passed" in output, output
    assert "dropped 1 job record(s) meant for database 'default'" in output, output
    assert real_records(real_database["real"]) == []
