"""The Django admin of django-arq: the job list and page, the queue dashboard, operator actions.

``jobs`` registers ``JobRecordAdmin``; ``changelist`` holds its list's query and filters,
``dashboard`` the per-queue live counts and throughput, ``workers`` the workers page's data
(heartbeats), ``actions`` the abort/refresh/retry
operations the admin's actions and buttons run.
"""

from .jobs import JobRecordAdmin
from .schedules import ScheduleAdmin  # noqa: F401 - registers the schedules' admin

__all__ = ["JobRecordAdmin"]
