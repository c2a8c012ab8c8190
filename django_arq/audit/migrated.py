"""django-arq's migrations, and a database error explained when they are not applied.

Without them, an enqueue's record, a worker's updates and the commands' reads fail with the
database's own words ("no such table", "column ... does not exist"); ``not_migrated`` turns that
into one line that says what to do.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections, router

from ..queues.describe import safe_str

__all__ = ["not_migrated", "unapplied_migrations"]

APP_LABEL = "django_arq"
#: Every table of django-arq's models starts with this.
TABLE_PREFIX = f"{APP_LABEL}_"


def unapplied_migrations() -> dict[str, list[str]]:
    """django-arq's migrations not applied to the databases its models are written to, by alias."""
    from django.db.migrations.executor import MigrationExecutor

    unapplied: dict[str, list[str]] = {}
    for using in sorted(
        {router.db_for_write(model) for model in apps.get_app_config(APP_LABEL).get_models()}
    ):
        executor = MigrationExecutor(connections[using])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes(APP_LABEL))
        names = [migration.name for migration, _ in plan if migration.app_label == APP_LABEL]
        if names:
            unapplied[using] = names
    return unapplied


def not_migrated(error: BaseException | None = None) -> str | None:
    """One line naming django-arq's migrations not applied and saying to run ``migrate``; None if
    all are, or the database cannot say. With ``error``, only an error that names one of the
    app's tables is looked into (a database that is down is not a missing migration)."""
    if error is not None and TABLE_PREFIX not in safe_str(error):
        return None
    try:
        unapplied = unapplied_migrations()
    except Exception:  # the database cannot even be read: its own error says why
        return None
    if not unapplied:
        return None
    where = "; ".join(f"{', '.join(names)} on database {using!r}" for using, names in unapplied.items())
    return f"django-arq's migrations are not applied ({where}): run `manage.py migrate`"
