"""A plain arq worker (no Django) that uses django-arq's JSON serializer functions, as a user's
own arq worker would with ``job_serializer=json_dumps, job_deserializer=json_loads``."""

from django_arq.queues.serializers import json_dumps, json_loads
from tests.worker_settings import WorkerSettings as PickleWorkerSettings

# arq reads a settings class's own __dict__, not inherited attributes: copy them.
WorkerSettings = type(
    "WorkerSettings",
    (),
    {
        **{k: v for k, v in vars(PickleWorkerSettings).items() if not k.startswith("__")},
        "job_serializer": staticmethod(json_dumps),
        "job_deserializer": staticmethod(json_loads),
    },
)
