"""How long an idle worker may go without polling its queue.

A django-arq worker with no job running, subscribed to its queue's wake channel, does not poll every
``poll_delay``: django-arq's enqueues wake it. It polls again at the first of:

- the score of the earliest deferred job in the queue, read with one command after anything that
  may have added one (a wake-up, a job ended, a cron job enqueued), so deferred jobs start on time;
- its cron jobs' next run, less arq's lead (arq enqueues a cron job one poll window ahead);
- the time its poll must write arq's health check again (it lives one interval and a second);
- ``IDLE_POLLS`` poll delays after its last poll: the bound for what no wake-up announces (a plain
  arq client's enqueue, a job whose plain arq worker died and whose in-progress key expired).
"""

from __future__ import annotations

from collections.abc import Iterable

from .protocol import Call, Op

__all__ = ["IDLE_POLLS", "IdleWait", "next_deferred"]

#: An idle worker polls at least once every this many poll delays.
IDLE_POLLS = 4
#: How late after its due time the poll that writes the health check comes (arq compares times).
HEALTH_MARGIN_MS = 20


def next_deferred(queue_name: str, after_ms: int) -> Op[int | None]:
    """The score (ms) of the queue's earliest job due after ``after_ms``, or None."""
    reply = yield Call((("ZRANGEBYSCORE", queue_name, f"({after_ms}", "+inf", "WITHSCORES", "LIMIT", 0, 1),))
    if not reply:
        return None
    score = reply[0][1] if isinstance(reply[0], list | tuple) else reply[1]
    return int(float(score))


class IdleWait:
    """When an idle worker polls next. Tell it ``changed()`` after anything that may have added a
    deferred job; ``until()`` then reads the earliest one again."""

    def __init__(self, queue_name: str, poll_delay: float) -> None:
        self.queue_name = queue_name
        self.idle_poll_ms = int(poll_delay * IDLE_POLLS * 1000)
        self.cron_lead_ms = int(max(poll_delay, 0.5) * 1000)  # half of arq's cron window
        self.next_due: int | None = None  # score of the earliest deferred job, as last read
        self._stale = True
        self._crons: tuple[int, ...] = ()

    def changed(self) -> None:
        self._stale = True

    def read_needed(self, now_ms: int, cron_runs_ms: Iterable[int]) -> bool:
        """Whether the earliest deferred job must be read again before ``seconds()``."""
        crons = tuple(cron_runs_ms)
        if crons != self._crons:  # a cron job was enqueued (or first planned)
            self._crons, self._stale = crons, True
        return self._stale or (self.next_due is not None and self.next_due <= now_ms)

    def read(self, next_due: int | None) -> None:
        self.next_due, self._stale = next_due, False

    def seconds(self, now_ms: int, health_due_ms: int) -> float:
        """Seconds from ``now_ms`` to the next poll."""
        deadline = min(now_ms + self.idle_poll_ms, health_due_ms + HEALTH_MARGIN_MS)
        if self.next_due is not None:
            deadline = min(deadline, self.next_due)
        for run in self._crons:
            deadline = min(deadline, run - self.cron_lead_ms)
        return max(0.0, (deadline - now_ms) / 1000)
