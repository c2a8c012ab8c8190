"""Create the PostgreSQL database named in settings if it does not exist (``EXAMPLE_DB=postgres``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it is missing."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(f"the default database is {connection.vendor}, not PostgreSQL")
        name = connection.settings_dict["NAME"]
        # Django's own way to reach the server without the (maybe missing) database: the "postgres" db.
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                self.stdout.write(f"database {name!r} exists")
                return
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        self.stdout.write(f"created database {name!r}")
