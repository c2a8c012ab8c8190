"""A second connection to the test database, for code given a database other than "default"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections


@contextmanager
def another_database(alias: str = "elsewhere") -> Iterator[None]:
    """A second connection to the test database, as ``alias``: an alias the settings list only
    while it is made (Django's test case allows such connections)."""
    connections.settings[alias] = {**connection.settings_dict}
    try:
        other = connections[alias]
    finally:
        del connections.settings[alias]
    try:
        yield
    finally:
        other.close()
        del connections[alias]
