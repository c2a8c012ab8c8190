"""FUNCTIONS entries with per-function options, for the worker processes and the tests reading
their records (``try_status`` reads MAX_TRIES from the settings)."""

from typing import Any

OPTIONED_FUNCTIONS: list[dict[str, Any]] = [
    {  # retried on ConnectionError only, after 0.2 s then 0.4 s
        "FUNCTION": "tests.worker.jobs.flaky",
        "RETRY_ON": ["builtins.ConnectionError"],
        "MAX_TRIES": 3,
        "BACKOFF": {"BASE": 0.2, "MAX": 0.4, "JITTER": 0},
    },
    {"FUNCTION": "tests.worker.jobs.slow", "TIMEOUT": 0.5, "KEEP_RESULT": 120},
    {  # a retry an hour later: the record shows it waiting
        "FUNCTION": "tests.worker.jobs.retry_later",
        "RETRY_ON": ["builtins.ConnectionError"],
        "MAX_TRIES": 4,
        "BACKOFF": {"BASE": 3600, "MAX": 7200},  # JITTER: the default 10%
    },
]
