"""OpenTelemetry: one trace from the HTTP request through the store, the outbox, Kafka, consumers.

The ``traceparent`` of the span that appends events is stored with each event; the relay puts it
on the Kafka record; consumers continue it. Exporters are configured by the process (or tests),
never at import time.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the current span, or ``""`` when none is recording."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


def context_from_traceparent(traceparent: str) -> otel_context.Context:
    if not traceparent:
        return otel_context.Context()
    return _PROPAGATOR.extract({"traceparent": traceparent})
