"""Every ARQ_QUEUES key with its default (docs/settings.md); tests/docs/test_readme.py checks it."""

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",  # or "django_arq.MockArqQueue", or any ArqQueue subclass
        "REDIS_URL": "redis://localhost:6379/0",  # redis://, rediss:// (TLS), unix://; unused by the mock
        "DEFAULT_QUEUE_NAME": "arq:queue",
        "OPTIONS": {},  # arq RedisSettings fields (conn_timeout, ssl_ca_certs, sentinel, ...), socket_timeout
        "SERIALIZER": "pickle",  # arq's default; "json" for payloads that cannot run code
        "AUDIT": True,  # JobRecords for jobs enqueued through get_queue(); "immediate" or False
        "ABORT_TIMEOUT": 10.0,  # seconds abort_job(timeout=None) waits for a worker
        "WORKER": {},  # read by `manage.py arq_worker --alias default`; FUNCTIONS is the HTTP allow-list
        "UNKNOWN_FUNCTIONS": "warn",  # enqueueing a name missing from WORKER["FUNCTIONS"]: "error", "ignore"
        "TRACING": True,  # OpenTelemetry spans of enqueues and job runs, when opentelemetry-api is installed
    },
}
