"""Prometheus metrics of jobs and queues: the ``django-arq[prometheus]`` extra.

``switch`` says whether metrics are on (``ARQ_METRICS``, and ``prometheus-client`` importable),
``directory`` whether this process can record them (``PROMETHEUS_MULTIPROC_DIR``); only then do
the other modules get imported and ``prometheus_client`` with them. ``instruments``
defines the counters and histograms, ``labels`` makes label values safe, ``enqueue`` times the
enqueues of web processes, ``jobs`` counts the worker's jobs, ``collector`` reads the queues'
counts from Redis at scrape time, and ``exposition`` renders a scrape and serves a worker's
``/metrics``.
"""

from .switch import job_lost, metrics_enabled, metrics_problems

__all__ = ["job_lost", "metrics_enabled", "metrics_problems"]
