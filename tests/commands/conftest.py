"""The command tests share the API tests' child-process settings and fixtures."""

from tests.api.conftest import lonely_queue

__all__ = ["lonely_queue"]
