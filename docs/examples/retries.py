"""docs/retries.md: per-function options and a retry policy, in ``WORKER["FUNCTIONS"]`` and, for
Django tasks, in ``ArqBackend``'s ``OPTIONS["TASKS"]``.

``tests/docs/test_retries_example.py`` passes these settings through ``manage.py check`` and
builds a worker from them.
"""

from typing import Any


class SupplierDown(Exception):
    """The supplier's API did not answer: worth another try later."""


async def sync_prices(ctx: dict[str, Any], supplier: str) -> int:
    """Fetch a supplier's price list; raises SupplierDown while its API is down."""
    return 0


async def send_receipt(ctx: dict[str, Any], order_id: int) -> None:
    """Never retried: a second receipt is worse than none."""


WORKER = {
    "FUNCTIONS": [
        "docs.examples.retries.send_receipt",  # a dotted path: the worker's options
        {
            "FUNCTION": "docs.examples.retries.sync_prices",
            "RETRY_ON": ["docs.examples.retries.SupplierDown", "builtins.ConnectionError"],
            "MAX_TRIES": 5,  # the first try and up to 4 retries
            "BACKOFF": {"BASE": 2, "MAX": 300, "JITTER": 0.1},  # 2 s, 4 s, 8 s, 16 s, each +-10%
            "TIMEOUT": 60,  # seconds; arq fails a try that runs longer (not retried)
            "KEEP_RESULT": 600,  # seconds the result stays in Redis
        },
    ],
}

# Django 6+: the same options per task, by the task's module path (KEEP_RESULT is the worker's).
TASKS = {
    "default": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "OPTIONS": {
            "ALIAS": "default",
            "TASKS": {
                "shop.tasks.restock_check": {
                    "RETRY_ON": ["builtins.ConnectionError"],
                    "MAX_TRIES": 3,
                    "BACKOFF": {"BASE": 5, "MAX": 60, "JITTER": "full"},
                    "TIMEOUT": 30,
                },
            },
        },
    },
}
