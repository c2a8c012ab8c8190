"""Fixtures for running the example project as a user would: bin/demo and manage.py in subprocesses."""

from __future__ import annotations

import os
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT

EXAMPLE = ROOT / "example_project"
POSTGRES = os.environ.get("DJANGO_ARQ_TEST_DB") == "postgres"


class ExampleDatabase:
    """A fresh database for one run of the example: a SQLite file, or a PostgreSQL database."""

    def __init__(self, tmp_path: Path) -> None:
        if POSTGRES:
            self.name = f"django_arq_example_{uuid.uuid4().hex[:8]}"
            host, port = os.environ.get("PGHOST", "127.0.0.1"), os.environ.get("PGPORT", "5432")
            self.url = f"postgres://postgres@{host}:{port}/{self.name}"
        else:
            self.path = tmp_path / "example.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query with ``%s`` placeholders."""
        if POSTGRES:
            import psycopg

            with psycopg.connect(self.url.replace("postgres://", "postgresql://")) as conn:
                return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
        with closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()

    def create(self) -> None:
        """Create the PostgreSQL database (bin/demo does it itself; a SQLite file needs nothing)."""
        if POSTGRES:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if POSTGRES:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def example_db(tmp_path: Path) -> Iterator[ExampleDatabase]:
    db = ExampleDatabase(tmp_path)
    yield db
    db.drop()


@pytest.fixture
def example_env(example_db: ExampleDatabase, tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: no test settings, the example's own database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "ARQ_"))}
    env.pop("REDIS_URL", None)
    env.pop("EXAMPLE_DB", None)
    env["DATABASE_URL"] = example_db.url
    # Set, not just dropped: helpers.Process adds os.environ, which holds the tests' settings module.
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    env["DEMO_VENV"] = sys.prefix  # bin/demo runs on the same Python and Django as these tests
    env["DEMO_VAR"] = str(tmp_path / "demo-logs")
    return env
