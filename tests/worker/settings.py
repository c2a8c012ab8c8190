"""Settings for the worker processes these tests start: tests.settings, plus the jobs below.

``DJANGO_ARQ_WORKER_DB_NAME`` points the worker at the database the test process uses (pytest-django's
test database), so that both see the same JobRecords.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import ARQ_QUEUES, DATABASES
from tests.worker.options import OPTIONED_FUNCTIONS
from tests.worker.unstorable import FUNCTIONS as UNSTORABLE_FUNCTIONS

if os.environ.get("DJANGO_ARQ_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["DJANGO_ARQ_WORKER_DB_NAME"]

ARQ_QUEUES["default"]["WORKER"] = {  # type: ignore[index]
    "FUNCTIONS": [
        "tests.jobs.add",
        "tests.jobs.sleep_for",
        "tests.jobs.fail",
        "tests.jobs.echo",
        "tests.jobs.sync_add",
        "tests.jobs.report",
        "tests.jobs.sync_report",
        "tests.worker.jobs.retry_once",
        "tests.worker.jobs.create_group",
        "tests.worker.jobs.noop",
        "tests.worker.jobs.sync_exit",
        "tests.worker.jobs.async_exit",
        "tests.worker.jobs.sync_interrupt",
        "tests.worker.jobs.async_interrupt",
        "tests.worker.jobs.retry_in",
        "tests.worker.jobs.raise_unprintable",
        "tests.worker.jobs.return_unprintable",
        "tests.worker.jobs.sync_report_then_exit",
        "tests.worker.jobs.async_report_then_interrupt",
        "tests.worker.jobs.count_groups",
        "tests.worker.jobs.stepwise",
        "tests.worker.jobs.sync_stepwise",
        "tests.worker.jobs.say",
        "tests.worker.jobs.report_after_return",
        "tests.worker.jobs.sync_report_after_return",
        "docs.examples.progress.import_rows",
        "tests.worker.jobs.mark_and_sleep",
        "tests.worker.jobs.leave_thread",
        "tests.worker.jobs.sync_sleep_an_hour",
        "tests.worker.jobs.ignore_sigterm",
        "tests.worker.jobs.default_sigterm",
        "tests.worker.jobs.stop_loop",
        *OPTIONED_FUNCTIONS,
        *UNSTORABLE_FUNCTIONS,
    ],
    # seconds without a heartbeat before a worker is lost: short in the heartbeat tests
    "LOST_AFTER": float(os.environ.get("DJANGO_ARQ_TEST_LOST_AFTER", "15")),
    "POLL_DELAY": 0.02,
    "RECORD_FLUSH_INTERVAL": 0.05,
}
if os.environ.get("DJANGO_ARQ_TEST_METRICS_ADDR"):  # where the worker serves its metrics, if not 0.0.0.0
    ARQ_QUEUES["default"]["WORKER"]["METRICS_ADDR"] = os.environ["DJANGO_ARQ_TEST_METRICS_ADDR"]  # type: ignore[index]
