"""The command tests share the API tests' database override, child-process settings and fixtures."""

from tests.api.conftest import django_db_modify_db_settings, lonely_queue

__all__ = ["django_db_modify_db_settings", "lonely_queue"]
