"""The worker's SIGINT and SIGTERM handlers kept: a job that replaces one (ignoring SIGTERM, which
would leave the worker deaf to its process manager, or restoring Python's default, which would kill
it without a shutdown) has it put back, with a warning."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

__all__ = ["SignalGuard"]

logger = logging.getLogger("django_arq.worker")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalGuard:
    """The handlers installed when it was made, put back by ``restore()`` (main thread only)."""

    def __init__(self) -> None:
        self.handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def restore(self, during: Callable[[], str]) -> None:
        """Put back each handler that changed, with a warning naming what ran (``during()``)."""
        for sig, handler in self.handlers.items():
            now = signal.getsignal(sig)
            if now != handler:
                signal.signal(sig, handler)
                logger.warning(
                    "the worker's %s handler was replaced (by %r) while %s ran: restored",
                    sig.name,
                    now,
                    during(),
                )
