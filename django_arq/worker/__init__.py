"""An arq worker for one ``ARQ_QUEUES`` alias, built from its WORKER settings, inside Django.

``create_worker(alias)`` gives a ``DjangoWorker``: arq's own ``Worker`` with the alias's Redis
settings and serializer, the FUNCTIONS and CRON_JOBS it names by dotted path, sync functions
run in a thread pool with Django's connection housekeeping around each job, and, when the
alias has ``AUDIT: True``, a ``JobRecorder`` keeping the JobRecords current, and with
``TRACING`` on and OpenTelemetry installed, each job in a span (``django_arq.tracing``).

A job that raises ``SystemExit``, ``KeyboardInterrupt`` or any other ``BaseException`` but
``asyncio.CancelledError`` fails with a ``JobExited`` naming that exception; the worker runs on.
The worker runs in a ``contextvars`` context of its own, with its own thread for thread-sensitive
sync code (the async ORM, sync signal receivers), so that it can run inside another program's
event loop or thread (``call_command("arq_worker", ...)`` from async code). A burst worker stops
when no job is due: deferred jobs not yet due are left for a later run. arq's internals are
reached through ``queues.arq_internals`` only.
"""

from .containment import JobExited
from .django_worker import DjangoWorker
from .factory import create_worker
from .functions import ctx_problem
from .settings import WORKER_SETTINGS, worker_problems

__all__ = ["WORKER_SETTINGS", "DjangoWorker", "JobExited", "create_worker", "ctx_problem", "worker_problems"]
