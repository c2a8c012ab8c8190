"""The carrier of a plain W3C trace context, written and read by django-arq itself.

The propagator's ``inject`` and ``extract`` are the costliest calls of a traced job whose trace
is not sampled. When the globally configured propagator writes and reads a span context as a lone
W3C ``traceparent`` (OpenTelemetry's default, W3C trace context and baggage, does), a context with
neither baggage nor trace state is written and read here instead: the same carrier, the same
context read back, at a fraction of the cost. Anything else goes through the propagator. Whether
the propagator is such is tried once per propagator, by a round trip of a few contexts through it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["KEY", "TRACE_FIELDS", "TRACE_ID", "Remote", "Traceparent"]

KEY = "traceparent"
#: The fields of a W3C trace context (its span context), without the baggage beside it.
TRACE_FIELDS = (KEY, "tracestate")
#: The fields a propagator may name for its carrier to be this one (W3C trace context and baggage).
W3C_FIELDS = frozenset({*TRACE_FIELDS, "baggage"})
#: A ``traceparent`` of version 00, as written: lowercase hex, nothing around or after it.
CANONICAL = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
#: Where the trace id is in such a ``traceparent``.
TRACE_ID = slice(3, 35)
#: The span contexts the propagator is tried with: trace id, span id, trace flags.
PROBES = ((0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, 0x01), (1, 2, 0x00), (3, 4, 0x03))
#: How ``int`` formats a number: ids and flags formatted so are formatted in one go (``_written``).
_INT_FORMAT = int.__format__
#: The sampled bit of the trace flags.
SAMPLED = 0x01


class Remote(NamedTuple):
    """What a carrier of a plain context gives: the context to run in, its trace id as the API
    formats it, and whether its trace is sampled."""

    context: Any
    trace_id: str
    sampled: bool


class Traceparent:
    """Writes and reads the carrier of a span context, as the global propagator would, when it can."""

    def __init__(self, modules: Any) -> None:
        trace = modules.trace
        self._current = trace.get_current_span
        self._span_context, self._flags = trace.SpanContext, trace.TraceFlags
        self._non_recording, self._in_context = trace.NonRecordingSpan, trace.set_span_in_context
        self._empty = modules.context.Context()  # copied, never changed, by set_span_in_context
        self._baggage = modules.baggage.get_all
        self._textmap = modules.propagate.get_global_textmap
        self._checked: tuple[Any, bool] = (None, False)

    def _usable(self) -> bool:
        """Whether the global propagator writes and reads a plain context as this class does (tried
        once per propagator)."""
        textmap = self._textmap()
        checked, usable = self._checked
        if textmap is not checked:
            usable = self._agrees(textmap)
            self._checked = (textmap, usable)
        return usable

    def _agrees(self, textmap: Any) -> bool:
        try:
            if not set(textmap.fields) <= W3C_FIELDS:
                return False
            for trace_id, span_id, flags in PROBES:
                span_context, alone = self._span_context_of(trace_id, span_id, flags)
                carrier: dict[str, str] = {}
                textmap.inject(carrier, context=alone)
                if carrier != {KEY: _written(span_context)}:
                    return False
                extracted = textmap.extract(carrier)
                read = self._current(extracted).get_span_context()
                if read != span_context or self._baggage(extracted):  # its trace state in read
                    return False
        except Exception:  # a propagator that cannot do that does the work itself
            return False
        return True

    def write(self, span_context: Any, context: Any) -> dict[str, str] | None:
        """The carrier of ``span_context``, the context of the span of ``context``, or None if only
        the propagator can write it (its trace id: ``carrier[KEY][TRACE_ID]``)."""
        # a context that holds its span alone holds no baggage: the baggage is not looked up
        if span_context.trace_state or (len(context) > 1 and self._baggage(context)) or not self._usable():
            return None
        return {KEY: _written(span_context)}

    def read(self, carrier: Mapping[str, str]) -> Any:
        """The context ``carrier`` gives, as the propagator's ``extract`` would; None if only the
        propagator can read it."""
        remote = self.remote(carrier)
        return None if remote is None else remote.context

    def remote(self, carrier: Any) -> Remote | None:
        """``read``, with the trace id and sampling decision beside the context (``carrier`` may be
        any value: None unless it is a dict holding a lone ``traceparent``)."""
        if type(carrier) is not dict or len(carrier) != 1:
            return None
        ((key, text),) = carrier.items()  # its key text itself: no other object compared with KEY
        if type(key) is not str or type(text) is not str or key != KEY:
            return None
        match = CANONICAL.fullmatch(text)
        if match is None or not self._usable():
            return None
        trace_hex, span_hex, flags_hex = match.groups()
        trace_id, span_id, flags = int(trace_hex, 16), int(span_hex, 16), int(flags_hex, 16)
        if not (trace_id and span_id):
            return None
        return Remote(self._span_context_of(trace_id, span_id, flags)[1], trace_hex, bool(flags & SAMPLED))

    def _span_context_of(self, trace_id: int, span_id: int, flags: int) -> tuple[Any, Any]:
        """A remote span context, and a context of its own with it in a span that records nothing
        (what the W3C propagator's ``extract`` makes of its ``traceparent``)."""
        span_context = self._span_context(trace_id, span_id, True, self._flags(flags))
        return span_context, self._in_context(self._non_recording(span_context), self._empty)


def _written(span_context: Any) -> str:
    """The ``traceparent`` of ``span_context``, as the W3C trace context propagator writes it.

    Numbers formatted as ``int`` formats them are formatted in one go: each formatting of a number
    costs a web process many times what it costs in a loop (its code is cold between two
    enqueues). Any other number formats itself, as the propagator lets it."""
    trace_id, span_id, flags = span_context.trace_id, span_context.span_id, span_context.trace_flags
    if type(trace_id).__format__ is type(span_id).__format__ is type(flags).__format__ is _INT_FORMAT:
        return "00-%032x-%016x-%02x" % (trace_id, span_id, flags)  # noqa: UP031 - one formatting
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"
