"""``TRACING`` of an alias: a boolean, reported by the system checks otherwise; off means no spans."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_arq.conf import get_config
from django_arq.handler import build_backend
from django_arq.queues.redis import RedisArqQueue
from tests.core.test_settings import MOCK, REDIS, ids_for, messages_for


@pytest.mark.parametrize("value", ["yes", 1, None, float("nan")])
def test_bad_tracing_values_are_reported(value: Any) -> None:
    assert ids_for(other={**REDIS, "TRACING": value}) == ["django_arq.E001"]
    messages = messages_for({**REDIS, "TRACING": value})
    assert any(m.startswith("ARQ_QUEUES['other']: TRACING must be True or False") for m in messages)
    with (
        override_settings(ARQ_QUEUES={"default": {**MOCK, "TRACING": value}}),
        pytest.raises(ImproperlyConfigured, match="TRACING must be True or False"),
    ):
        get_config()


@pytest.mark.parametrize("value", [True, False])
def test_tracing_setting_reaches_the_backend(value: bool) -> None:
    with override_settings(ARQ_QUEUES={"default": {**REDIS, "TRACING": value}}):
        config = get_config()
        backend = build_backend(config)
    assert config.tracing is value
    assert isinstance(backend, RedisArqQueue)
    assert (backend._protocol.tracer is not None) is value
    backend.close()
