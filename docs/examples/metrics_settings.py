"""docs/observability.md: Prometheus metrics in a project's settings.

``tests/metrics/test_docs_examples.py`` loads these settings and checks them as ``manage.py check``
does.
"""

import os

# On by default once prometheus-client is installed (pip install "django-arq[prometheus]");
# False turns every metric off, True makes a missing package an error of manage.py check.
ARQ_METRICS = True

# The bearer token Prometheus sends to a web process's /metrics; it grants nothing else.
# (A token of ARQ_API_TOKENS, or a logged-in user with the view_jobrecord permission, may read it too.)
ARQ_METRICS_TOKENS = [os.environ["ARQ_METRICS_TOKEN"]]

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "WORKER": {
            "FUNCTIONS": ["shop.jobs.send_order_confirmation"],
            # Each worker serves http://0.0.0.0:9100/metrics (arq_worker --metrics-port overrides it).
            "METRICS_PORT": 9100,
            "METRICS_ADDR": "0.0.0.0",  # noqa: S104 - the address Prometheus scrapes the worker on
        },
    },
}
