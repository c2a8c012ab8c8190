"""Settings of the worker processes of the schedules' tests: the worker tests' own, plus ``count_run``."""

from tests.worker.settings import *  # noqa: F403
from tests.worker.settings import ARQ_QUEUES

ARQ_QUEUES["default"]["WORKER"]["FUNCTIONS"].append("tests.schedules.jobs.count_run")  # type: ignore[index]
