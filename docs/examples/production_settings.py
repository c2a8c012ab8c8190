"""docs/production.md: ``ARQ_QUEUES`` for Redis over TLS, or behind Redis Sentinel.

Everything comes from the environment. ``tests/example/test_production.py`` loads this file
against a real TLS Redis and a real Sentinel.
"""

import os

WORKER = {
    "FUNCTIONS": [
        "shop.jobs.build_sales_report",
        "shop.jobs.send_order_confirmation",
        "shop.jobs.import_price_list",
        "shop.jobs.send_cart_reminder",
    ],
    "MAX_JOBS": 20,  # per worker process; run as many processes, on as many machines, as you need
    "JOB_TIMEOUT": 600,
    "KEEP_RESULT": 24 * 3600,  # results stay readable in Redis for a day; JobRecords stay until pruned
}
RETRIES = {"conn_timeout": 5, "conn_retries": 5, "conn_retry_delay": 1}

if os.environ.get("REDIS_SENTINELS"):
    # Redis Sentinel: REDIS_SENTINELS="10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379".
    # The URL gives the database (and password); its host is not used: the sentinels name the master.
    sentinels = [
        (host, int(port))
        for host, port in (s.rsplit(":", 1) for s in os.environ["REDIS_SENTINELS"].split(","))
    ]
    OPTIONS = {
        "sentinel": True,
        "sentinel_master": os.environ.get("REDIS_SENTINEL_MASTER", "mymaster"),
        "host": sentinels,
        **RETRIES,
    }
else:
    # TLS: a rediss:// URL, e.g. rediss://:password@redis.internal:6380/0, and the CA that signed
    # the server's certificate (ssl_certfile / ssl_keyfile too, if Redis checks client certificates).
    OPTIONS = {"ssl_ca_certs": os.environ.get("REDIS_CA_CERTS"), **RETRIES}

ARQ_QUEUES = {
    "default": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": os.environ["REDIS_URL"],
        "DEFAULT_QUEUE_NAME": "shop:queue",
        "OPTIONS": OPTIONS,
        "WORKER": WORKER,
    }
}
