"""django-arq writes and reads a plain trace context itself only where the propagator would have
written and read the same: the same carrier out, the same context back, whatever a payload holds;
baggage, trace state and any other propagator go through the propagator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context, attach, create_key, detach, get_value, set_value
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from django_arq.tracing import enqueue_tracer, job_tracer
from django_arq.tracing.context import otel
from django_arq.tracing.traceparent import Traceparent

W3C = propagate.get_global_textmap()  # OpenTelemetry's default: W3C trace context and baggage
TRACE_IDS = st.integers(1, 2**128 - 1)
SPAN_IDS = st.integers(1, 2**64 - 1)
FLAGS = st.integers(0, 255)


@pytest.fixture
def textmap() -> Iterator[Any]:
    """Sets the global propagator for the test (to ``textmap(...)``'s argument)."""
    before = propagate.get_global_textmap()
    yield propagate.set_global_textmap
    propagate.set_global_textmap(before)


def context_of(
    trace_id: int, span_id: int, flags: int, state: TraceState | None = None, remote: bool = False
) -> Any:
    """A context of its own whose current span has this span context, and nothing else."""
    span_context = SpanContext(trace_id, span_id, remote, TraceFlags(flags), state)
    return trace.set_span_in_context(NonRecordingSpan(span_context), Context())


def injected(context: Any) -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def carried(context: Any) -> dict[str, str]:
    """The carrier an unsampled enqueue in ``context`` gives its job (the path that writes it)."""
    tracer = enqueue_tracer(True)
    assert tracer is not None
    span_context = trace.get_current_span(context).get_span_context()
    return tracer._carried(span_context, context).carrier


def read(carrier: Any) -> tuple[Any, dict[str, object]]:
    """The span context and baggage the worker reads from ``carrier`` (the path that reads it)."""
    tracer = job_tracer(True, "q", lambda job_id: False)
    assert tracer is not None
    return parts(tracer._parent(carrier))


def extracted(carrier: Any) -> tuple[Any, dict[str, object]]:
    return parts(propagate.extract(carrier))


def parts(context: Any) -> tuple[Any, dict[str, object]]:
    """The span context and the baggage of ``context`` (None: no context at all)."""
    if context is None:
        return trace.INVALID_SPAN_CONTEXT, {}
    return trace.get_current_span(context).get_span_context(), dict(baggage.get_all(context))


@given(TRACE_IDS, SPAN_IDS, FLAGS)
def test_a_plain_context_is_written_as_the_propagator_writes_it(
    trace_id: int, span_id: int, flags: int
) -> None:
    context = context_of(trace_id, span_id, flags)
    assert Traceparent(otel()).write(trace.get_current_span(context).get_span_context(), context) is not None
    carrier = carried(context)
    assert carrier == injected(context)
    assert Traceparent(otel()).read(carrier) is not None
    assert read(carrier) == extracted(carrier)


@given(TRACE_IDS, SPAN_IDS, FLAGS)
def test_a_job_carries_the_trace_id_as_the_api_formats_it(trace_id: int, span_id: int, flags: int) -> None:
    tracer = enqueue_tracer(True)
    assert tracer is not None
    context = context_of(trace_id, span_id, flags)
    span_context = trace.get_current_span(context).get_span_context()
    assert tracer._carried(span_context, context).trace_id == trace.format_trace_id(trace_id)
    tracestate = context_of(trace_id, span_id, flags, TraceState([("vendor", "x")]))  # the propagator's path
    assert tracer._carried(trace.get_current_span(tracestate).get_span_context(), tracestate).trace_id == (
        trace.format_trace_id(trace_id)
    )


class FormattedId(int):
    """A trace or span id that formats itself otherwise than ``int`` does."""

    def __format__(self, spec: str) -> str:
        return int.__format__(int(self) + 1, spec)


class FormattedFlags(TraceFlags):
    def __format__(self, spec: str) -> str:
        return int.__format__(int(self) | 0x02, spec)


@pytest.mark.parametrize(
    ("trace_id", "span_id", "flags"),
    [(FormattedId(0xACE), 0xBEE, TraceFlags(0)), (0xACE, FormattedId(0xBEE), TraceFlags(0)),
     (0xACE, 0xBEE, FormattedFlags(0)), (True, 0xBEE, 0)],
)  # fmt: skip
def test_numbers_that_format_themselves_are_written_as_the_propagator_writes_them(
    trace_id: int, span_id: int, flags: int
) -> None:
    context = trace.set_span_in_context(
        NonRecordingSpan(SpanContext(trace_id, span_id, False, flags)), Context()
    )
    tracer = enqueue_tracer(True)
    assert tracer is not None
    token = attach(context)
    try:
        carried = tracer._unsampled()
    finally:
        detach(token)
    assert carried is not None
    assert carried.carrier == injected(context)
    assert carried.trace_id == trace.format_trace_id(trace_id)


def test_an_invalid_span_context_is_not_read_further() -> None:
    # its flags may be anything: they are not tested (nor used)
    token = attach(trace.set_span_in_context(NonRecordingSpan(SpanContext(0, 0xBEE, False, "x")), Context()))  # type: ignore[arg-type]
    try:
        tracer = enqueue_tracer(True)
        assert tracer is not None
        assert tracer._unsampled() is None
    finally:
        detach(token)


def test_a_context_holding_more_than_its_span_is_written_as_the_propagator_writes_it() -> None:
    # its baggage is looked up (a context holding its span alone holds none)
    context = set_value(create_key("request"), "GET /", context_of(0xACE, 0xBEE, 0))
    assert carried(context) == injected(context) == {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-00"}


def traceparents() -> st.SearchStrategy[str]:
    """Text a payload's ``traceparent`` may hold: canonical, nearly so, or anything."""
    canonical = st.builds(
        lambda t, s, f, v: f"{v}-{t:032x}-{s:016x}-{f:02x}", st.integers(0, 2**128 - 1),
        st.integers(0, 2**64 - 1), FLAGS, st.sampled_from(["00", "01", "ff", "0g"]),
    )  # fmt: skip
    odd = st.builds(
        lambda text, how: how(text), canonical,
        st.sampled_from([str.upper, str.strip, lambda t: f" {t}", lambda t: f"{t}\t", lambda t: f"{t}-x",
                         lambda t: t[:-1], lambda t: t.replace("-", "_", 1), lambda t: t + "\x00"]),
    )  # fmt: skip
    return st.one_of(canonical, odd, st.text(max_size=80))


@given(
    st.one_of(
        st.builds(lambda tp: {"traceparent": tp}, traceparents()),
        st.dictionaries(
            st.sampled_from(["traceparent", "tracestate", "baggage", "other"]),
            st.one_of(traceparents(), st.sampled_from(["k=v", "a=1,b=2", "rojo=00f067aa0ba902b7"])),
        ),
    )
)
@example({"traceparent": f"00-{0:032x}-{1:016x}-01"})
@example({"traceparent": f"00-{1:032x}-{0:016x}-01"})
@example({"traceparent": f"00-{1:032x}-{1:016x}-01", "tracestate": "k=v"})
def test_any_carrier_is_read_as_the_propagator_reads_it(carrier: dict[str, str]) -> None:
    assert read(carrier) == extracted(carrier)
    context = Traceparent(otel()).read(carrier)  # never an error, for the worker to ignore
    assert context is None or parts(context) == extracted(carrier)
    remote = Traceparent(otel()).remote(carrier)  # what the worker's run reads first
    if remote is not None:  # its trace id and sampling decision are the extracted context's
        span_context, _ = extracted(carrier)
        assert remote.context is not None and parts(remote.context) == extracted(carrier)
        assert (remote.trace_id, remote.sampled) == (
            trace.format_trace_id(span_context.trace_id),
            span_context.trace_flags.sampled,
        )


@pytest.mark.parametrize(
    "value",
    [None, "00-x", 7, ["traceparent"], {"traceparent": 5}, {5: "x"}, {"traceparent": b"00-"}],
    ids=repr,
)
def test_a_payload_value_that_is_no_carrier_is_read_as_none(value: Any) -> None:
    """A payload's trace key may hold anything (a plain arq client, or a hostile one, wrote it)."""
    assert Traceparent(otel()).remote(value) is None
    assert read(value) == (trace.INVALID_SPAN_CONTEXT, {})


def test_the_current_context_is_not_part_of_what_is_written_or_read() -> None:
    carrier = {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01"}
    token = attach(baggage.set_baggage("tenant", "acme"))
    try:
        plain = Traceparent(otel())  # tried first here, with baggage in the current context
        context = plain.read(carrier)
        assert context is not None
        assert (
            parts(context) == extracted(carrier) == (trace.get_current_span(context).get_span_context(), {})
        )
    finally:
        detach(token)


def test_a_context_with_baggage_or_trace_state_goes_through_the_propagator() -> None:
    context = context_of(0xACE, 0xBEE, 1, TraceState([("vendor", "x")]))
    assert carried(context) == {
        "traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01",
        "tracestate": "vendor=x",
    }
    with_baggage = baggage.set_baggage("tenant", "acme", context_of(0xACE, 0xBEE, 0))
    carrier = carried(with_baggage)
    assert carrier == {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-00", "baggage": "tenant=acme"}
    assert read(carrier)[1] == {"tenant": "acme"}


class Tenant(TextMapPropagator):
    """A propagator of a field of its own."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        carrier["tenant"] = "acme"

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        return baggage.set_baggage("tenant", carrier.get("tenant"), context)

    @property
    def fields(self) -> set[str]:
        return {"tenant"}


class Stamped(TraceContextTextMapPropagator):
    """W3C's fields, one more of them written (and not read)."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        super().inject(carrier, context)
        carrier["baggage"] = "stamp=1"

    @property
    def fields(self) -> set[str]:
        return {*super().fields, "baggage"}


class Masking(TraceContextTextMapPropagator):
    """W3C's carrier, written with the sampled flag alone."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        super().inject(carrier, context)
        carrier["traceparent"] = carrier["traceparent"][:-2] + carrier["traceparent"][-2:].replace("3", "1")


class Sampling(TraceContextTextMapPropagator):
    """W3C's carrier, read otherwise: every trace read is sampled."""

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        read = trace.get_current_span(super().extract(carrier, context)).get_span_context()
        return context_of(read.trace_id, read.span_id, TraceFlags.SAMPLED, remote=True)


class Stating(TraceContextTextMapPropagator):
    """W3C's carrier, read with a trace state of its own."""

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        read = trace.get_current_span(super().extract(carrier, context)).get_span_context()
        state = TraceState([("vendor", "x")])
        return context_of(read.trace_id, read.span_id, read.trace_flags, state, remote=True)


class Enriching(TraceContextTextMapPropagator):
    """W3C's carrier, read with baggage of its own."""

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        return baggage.set_baggage("region", "eu", super().extract(carrier, context))


DEBUG = create_key("debug")


class Sometimes(TraceContextTextMapPropagator):
    """W3C's carrier, and a field of its own in a context that asks for it."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        super().inject(carrier, context)
        if get_value(DEBUG, context):
            carrier["x-debug"] = "1"

    @property
    def fields(self) -> set[str]:
        return {*super().fields, "x-debug"}


class Broken(TraceContextTextMapPropagator):
    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise RuntimeError("down")


@pytest.mark.parametrize(
    "other",
    [
        CompositePropagator([W3C, Tenant()]),
        Sometimes(),
        Stamped(),
        Masking(),
        Sampling(),
        Stating(),
        Enriching(),
        Broken(),
    ],
    ids=[
        "a field of its own",
        "one at times",
        "written otherwise",
        "written with fewer flags",
        "read sampled",
        "read with a state",
        "read with baggage",
        "raises",
    ],
)
def test_another_propagator_does_the_work_itself_once_set(textmap: Any, other: Any) -> None:
    context = set_value(DEBUG, True, context_of(0xACE, 0xBEE, 1))
    plain = Traceparent(otel())
    span_context = trace.get_current_span(context).get_span_context()
    assert plain.write(span_context, context) == {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01"}
    textmap(other)
    assert plain.write(span_context, context) is None
    assert plain.read({"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01"}) is None
    if not isinstance(other, Broken):
        assert carried(context) == injected(context)
        assert read(injected(context)) == extracted(injected(context))
    textmap(W3C)
    assert plain.write(span_context, context) is not None


class Counted(TraceContextTextMapPropagator):
    """W3C's own propagator, counting the carriers it writes and reads."""

    def __init__(self) -> None:
        self.calls = 0

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        self.calls += 1
        super().inject(carrier, context)

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        self.calls += 1
        return super().extract(carrier, context)


def test_a_propagator_is_tried_once_and_then_left_alone(textmap: Any) -> None:
    counted = Counted()
    textmap(counted)
    context = context_of(0xACE, 0xBEE, 1)
    traceparent = {"traceparent": f"00-{0xACE:032x}-{0xBEE:016x}-01"}
    carriers = [carried(context) for _ in range(5)]  # a tracer each, each trying it once
    assert carriers == [traceparent] * 5
    assert counted.calls > 0
    enqueues, jobs = enqueue_tracer(True), job_tracer(True, "q", lambda job_id: False)
    assert enqueues is not None and jobs is not None
    span_context = trace.get_current_span(context).get_span_context()
    enqueues._carried(span_context, context)
    jobs._parent(traceparent)
    after_trials = counted.calls
    for _ in range(5):
        assert enqueues._carried(span_context, context).carrier == traceparent
        assert parts(jobs._parent(traceparent)) == extracted(traceparent)
    assert counted.calls == after_trials + 5  # extracted() only
