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


def run_user_tests(tmp_path: Path, real_database: dict[str, str], tests: str) -> tuple[int, str]:
    """Run ``tests`` with pytest and the plugin in the user project; its exit code and output."""
    (tmp_path / "test_user.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    env = {k: v for k, v in real_database.items() if k != "real"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "django_arq.pytest_plugin", "-p", "no:randomly",
         "-p", "no:cacheprovider", "test_user.py"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_user_projects_test_run_never_writes_records_into_its_real_database(
    tmp_path: Path, real_database: dict[str, str]
) -> None:
    """Issue 15, finding 3: a record still pending at the end of the run, after pytest-django
    dropped the test database, is dropped, not written into the real one at exit."""
    returncode, output = run_user_tests(tmp_path, real_database, USER_TESTS)
    assert returncode == 0 and "2 passed" in output, output
    assert "django-arq: dropped 1 job record(s) still pending at the end of the test run" in output, output
    assert real_records(real_database["real"]) == []


NO_DATABASE_TESTS = """
from django_arq import get_queue


async def test_enqueues_without_database_access(arq_records):
    await get_queue("mock").enqueue("tests.jobs.add", 1, 2, _job_id="no-database")


def test_after_it(arq_records):
    pass


async def test_leaves_a_record_without_the_fixture():
    await get_queue("mock").enqueue("tests.jobs.add", 1, 2, _job_id="left-at-the-end")
"""


def test_records_of_a_test_without_database_access_fail_it_at_once_and_are_never_written(
    tmp_path: Path, real_database: dict[str, str]
) -> None:
    """No test of the run uses the database, so no test database is made: the records must fail
    their test with the cause (not a 10 s wait), not fail the next test, and not reach the real
    database at exit."""
    returncode, output = run_user_tests(tmp_path, real_database, NO_DATABASE_TESTS)
    assert returncode == 1 and "3 passed, 1 error" in output, output
    assert "ERROR at teardown of test_enqueues_without_database_access" in output, output
    assert (
        "1 job record(s) wait for django-arq's background record writer, but this test has no "
        "database access (pytest-django blocks it); they were dropped. Mark the test "
        "@pytest.mark.django_db (transaction=True for async code" in output
    ), output
    assert "within 10s" not in output, output
    assert "django-arq: dropped 1 job record(s) still pending at the end of the test run" in output, output
    assert real_records(real_database["real"]) == []


LEAKING_TESTS = """
import pytest

from django_arq import get_queue
from django_arq.models import JobRecord


@pytest.mark.django_db
async def test_leaks_a_record(arq_records):
    await get_queue("mock").enqueue("tests.jobs.add", 1, 2, _job_id="leaked")
    await arq_records.aflush()


async def test_leaks_one_with_the_db_fixture_named_after_arq_records(arq_records, db):
    await get_queue("mock").enqueue("tests.jobs.add", 1, 2, _job_id="leaked-too")


@pytest.mark.django_db
def test_writes_its_record_in_its_transaction(arq_records):
    get_queue("mock").enqueue_sync("tests.jobs.add", 1, 2, _job_id="in-transaction")
    assert JobRecord.objects.filter(job_id="in-transaction").exists()


@pytest.mark.django_db
def test_sees_no_record_of_the_others():
    assert list(JobRecord.objects.values_list("job_id", flat=True)) == []
"""


def test_records_the_writer_commits_during_a_test_in_a_transaction_fail_it_and_are_deleted(
    tmp_path: Path, real_database: dict[str, str]
) -> None:
    """A non-transactional ``django_db`` test's transaction is rolled back, but the records the
    writer committed on its own connection are not: the test fails naming the fix, and the next
    test does not see them."""
    returncode, output = run_user_tests(tmp_path, real_database, LEAKING_TESTS)
    assert returncode == 1 and "4 passed, 2 errors" in output, output
    for test in ("test_leaks_a_record", "test_leaks_one_with_the_db_fixture_named_after_arq_records"):
        assert f"ERROR at teardown of {test}" in output, output
    leaked = (
        "django-arq's background record writer committed 1 job record(s) outside this test's "
        "transaction, which is rolled back (django_db without transaction=True): later tests would "
        "see them, so they are deleted."
    )
    # once in each test's error section (the summary repeats it whole where CI=true is set)
    assert sum(line.startswith(leaked) for line in output.splitlines()) == 2, output
    assert (
        "mark the test @pytest.mark.django_db(transaction=True) (a Django TestCase: make it a "
        "TransactionTestCase)" in output
    ), output
