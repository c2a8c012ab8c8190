"""A django.tasks task on ArqBackend that reports its progress (docs/tasks.md)."""

from django.tasks import TaskContext, task

from django_arq import report_progress_sync


@task(takes_context=True)
def import_rows(context: TaskContext, rows: list[str]) -> int:
    for done, row in enumerate(rows, start=1):
        row.strip()  # ... the work on one row ...
        report_progress_sync(context, done, len(rows), f"row {done} of {len(rows)}")
    return len(rows)
