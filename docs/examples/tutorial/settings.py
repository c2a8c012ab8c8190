# ruff: noqa: F821 - a fragment: README "Configure" appends it to the settings.py of a project
"""README "Configure": what the settings.py of an existing project gains.

tests/docs/test_tutorial.py appends README's copy of this block to a new ``startproject``'s
settings.py; tests/docs/test_examples.py runs it through ``manage.py check``'s checks.
"""

import os

INSTALLED_APPS += ["django_arq", "myapp"]

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
        "DEFAULT_QUEUE_NAME": "mysite:queue",  # a queue per project: Redis may be shared
        "WORKER": {
            # The job functions the worker runs, by dotted path: a job's name is its function's path.
            "FUNCTIONS": ["myapp.jobs.send_welcome", "myapp.jobs.count_words"],
        },
    },
}
