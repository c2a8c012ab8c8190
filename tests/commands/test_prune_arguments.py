"""``arq_prune``'s own options and output: its --help, the cutoff of unfinished and late-finished
records, the verbosity lines, and rows another pruner deleted between its SELECT and its DELETE."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from django_arq.management.commands.arq_prune import Command
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db


def make(job_id: str, enqueued_days_ago: float, finished_days_ago: float | None, status: str) -> None:
    now = timezone.now()
    JobRecord.objects.create(
        job_id=job_id, name="tests.jobs.add", status=status, queue_name="q", alias="default",
        enqueue_time=now - dt.timedelta(days=enqueued_days_ago),
        finish_time=None if finished_days_ago is None else now - dt.timedelta(days=finished_days_ago),
    )  # fmt: skip


def prune(*args: str, verbosity: int = 1) -> list[str]:
    out = StringIO()
    call_command("arq_prune", *args, verbosity=verbosity, stdout=out)
    return out.getvalue().splitlines()


def left() -> set[str]:
    return set(JobRecord.objects.values_list("job_id", flat=True))


def test_its_options_explain_themselves_in_help() -> None:
    text = " ".join(Command().create_parser("manage.py", "arq_prune").format_help().split())
    for line in (
        "--older-than DAYS age in days (> 0)",
        "--status {deferred,queued,in_progress,complete,not_found,all} status to prune; repeat for "
        "several (default: complete)",
        "--alias ALIAS only records of this ARQ_QUEUES alias",
        "--batch-size BATCH_SIZE rows per DELETE (default: 1000)",
        "--dry-run count what would be deleted, delete nothing",
    ):
        assert line in text, text


def test_a_finished_record_goes_by_its_finish_time_an_unfinished_one_by_its_enqueue_time() -> None:
    make("old-done", 40, 35, "complete")
    make("late-done", 40, 1, "complete")  # enqueued long ago, finished recently: kept
    make("old-running", 40, None, "in_progress")
    make("new-running", 1, None, "in_progress")  # unfinished and recent: kept
    assert prune("--older-than", "30", "--status", "complete", "--status", "in_progress") == [
        "deleted 2 job record(s) older than 30 day(s), status complete or in_progress"
    ]
    assert left() == {"late-done", "new-running"}


def test_dry_run_names_every_status_and_deletes_nothing() -> None:
    make("old-queued", 40, None, "queued")
    make("old-deferred", 40, None, "deferred")
    assert prune("--older-than", "1.5", "--status", "queued", "--status", "deferred", "--dry-run") == [
        "would delete 2 job record(s) older than 1.5 day(s), status queued or deferred"
    ]
    assert left() == {"old-queued", "old-deferred"}


@pytest.mark.parametrize("verbosity", [0, 1, 2, 3])
def test_a_line_per_batch_only_above_verbosity_1(verbosity: int) -> None:
    for i in range(5):
        make(f"old-{i}", 40, 40, "complete")
    batches = ["  deleted 2 so far", "  deleted 4 so far", "  deleted 5 so far"] if verbosity > 1 else []
    assert prune("--older-than", "30", "--batch-size", "2", verbosity=verbosity) == [
        *batches,
        "deleted 5 job record(s) older than 30 day(s), status complete",
    ]
    assert left() == set()


def test_rows_deleted_by_someone_else_meanwhile_count_as_none() -> None:
    """Between the command's SELECT of a batch's ids and its DELETE, another pruner deletes them."""
    make("old", 40, 40, "complete")
    table = JobRecord._meta.db_table
    raced: list[str] = []

    def other_pruner(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        # The delete's own SELECT of the rows it collects, after the batch's ids (ORDER BY pk) were read.
        if not raced and sql.startswith("SELECT") and "ORDER BY" not in sql and table in sql:
            raced.append(sql)
            JobRecord.objects.all().delete()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_pruner):
        assert prune("--older-than", "30", verbosity=2) == [
            "  deleted 0 so far",
            "deleted 0 job record(s) older than 30 day(s), status complete",
        ]
    assert raced and left() == set()
