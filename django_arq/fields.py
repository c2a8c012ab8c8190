"""Times as every database takes them under either ``USE_TZ``, read back aware.

arq and django-arq make aware times (UTC). With ``USE_TZ = False`` Django stores naive times in
``TIME_ZONE``: SQLite and MySQL refuse an aware one, and PostgreSQL reads a naive one in its
session's time zone. ``storable_time`` gives each database an unambiguous time there: naive in
``TIME_ZONE`` where it keeps no time zones, aware where it does. ``AwareDateTimeField`` does that
for every ORM write and lookup of django-arq's models, and reads their times back aware (in
``TIME_ZONE`` then), so that django-arq's code compares aware times only; the statements
django-arq writes itself send their times through ``time_adapter``, which does the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["AwareDateTimeField", "aware_time", "storable_time", "time_adapter"]


def storable_time(value: Any, zoned: bool) -> Any:
    """``value`` as a database stores it under the current ``USE_TZ``: with ``USE_TZ = False``, a
    time in ``TIME_ZONE``, naive for a database that keeps no time zones, aware for one that does
    (``zoned``: ``connection.features.supports_timezones``); anything else unchanged."""
    if settings.USE_TZ or not isinstance(value, datetime):
        return value
    aware = value.utcoffset() is not None
    if zoned:
        return value if aware else timezone.make_aware(value)
    return timezone.make_naive(value) if aware else value


def time_adapter(connection: Any) -> Callable[[datetime | None], Any]:
    """How a statement django-arq writes itself gives ``connection`` a time (or None):
    ``storable_time``, then the backend's adapter, as ``AwareDateTimeField`` does. On SQLite under
    ``USE_TZ``, a time in the connection's time zone (UTC: arq's times) is written at once, as that
    adapter would write it (both read at each call: settings may change; ``USE_TZ`` first, since
    Django brings only the changing thread's connections up to date)."""
    zoned, adapt = connection.features.supports_timezones, connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite":
        return lambda value: adapt(storable_time(value, zoned))

    def adapted(value: datetime | None) -> Any:
        if value is not None and settings.USE_TZ and value.tzinfo is connection.timezone:
            return str(value.replace(tzinfo=None))
        return adapt(storable_time(value, zoned))

    return adapted


def aware_time(value: datetime) -> datetime:
    """``value`` aware: a naive time read with ``USE_TZ = False`` is one in ``TIME_ZONE``."""
    return timezone.make_aware(value) if value.utcoffset() is None else value


class AwareDateTimeField(models.DateTimeField):
    """A ``DateTimeField`` that takes aware datetimes with ``USE_TZ = False`` too (``storable_time``),
    and gives them back aware (``aware_time``).

    Its migrations name it a plain ``DateTimeField``: its column and what it stores are the same.
    """

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        """``auto_now`` and ``auto_now_add`` put an aware time on the instance, as a read one is
        (Django's clock is naive with ``USE_TZ = False``)."""
        if self.auto_now or (self.auto_now_add and add):
            value = aware_time(timezone.now())
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        zoned = connection.features.supports_timezones
        return connection.ops.adapt_datetimefield_value(storable_time(value, zoned))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if value is None or settings.USE_TZ else aware_time(value)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
