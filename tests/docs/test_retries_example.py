"""docs/examples/retries.py passes ``manage.py check`` and gives a worker its options."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.conf import settings
from django.test import override_settings

import docs.examples.retries as example
from django_arq.checks import check_queues
from django_arq.queues.arq_internals import Function
from django_arq.worker import create_worker


def queues() -> dict[str, Any]:
    alias = {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": settings.REDIS_URL, "AUDIT": False}
    return {"default": {**alias, "WORKER": example.WORKER}}


def test_the_example_passes_the_checks_and_builds_a_worker() -> None:
    with override_settings(ARQ_QUEUES=queues()):
        assert check_queues() == []
        worker = create_worker(handle_signals=False)  # never run: no connection is opened
    prices = worker.functions["docs.examples.retries.sync_prices"]
    assert isinstance(prices, Function)
    assert (prices.max_tries, prices.timeout_s, prices.keep_result_s) == (5, 60.0, 600.0)
    policy = worker.retry_policies["docs.examples.retries.sync_prices"]
    assert [policy.backoff.capped(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert "docs.examples.retries.send_receipt" not in worker.retry_policies


@pytest.mark.skipif(django.VERSION < (6, 0), reason="django.tasks is Django 6.0+")
def test_the_example_tasks_options_pass_the_checks() -> None:
    from django.tasks import task_backends

    with override_settings(ARQ_QUEUES=queues(), TASKS=example.TASKS):
        backend = task_backends["default"]
        assert [m for m in backend.check() if m.id.startswith("django_arq")] == []
        assert backend.task_options["shop.tasks.restock_check"].max_tries == 3
