"""OpenTelemetry: one trace from the HTTP request through the store, the outbox, Kafka, consumers.

The ``traceparent`` of the span that appends events is stored with each event; the relay puts it
on the Kafka record; consumers continue it. Every process a service runs (its API, its worker,
its command) installs a tracer provider at start (``configure_tracing``), never at import time:
spans are always made, so every event carries a ``traceparent``; they are exported to the OTLP
endpoint of ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) when one is set, and to
the Zipkin server of ``OTEL_EXPORTER_ZIPKIN_ENDPOINT`` (e.g. ``http://127.0.0.1:9411/api/v2/spans``,
what ``make run`` sets) when that is set: either, both or neither.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

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


def configure_tracing(service: str) -> trace.TracerProvider:
    """Install this process's tracer provider, unless one is installed already (a test's)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"tongxin-{service}", "service.namespace": "tongxin"}
        )
    )
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("spans of tongxin-%s go to %s", service, endpoint)
    zipkin = os.environ.get("OTEL_EXPORTER_ZIPKIN_ENDPOINT")
    if zipkin:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        provider.add_span_processor(BatchSpanProcessor(ZipkinExporter(endpoint=zipkin)))
        log.info("spans of tongxin-%s go to Zipkin at %s", service, zipkin)
    trace.set_tracer_provider(provider)
    return provider
