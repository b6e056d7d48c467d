"""The OpenTelemetry Python SDK set up as a Python service would: OTLP/HTTP export (to the test's
receiver, from OTEL_EXPORTER_OTLP_ENDPOINT) and the propagators OTEL_PROPAGATORS names, which the
SDK reads itself (tracecontext,baggage by default; b3multi from opentelemetry-propagator-b3)."""

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def init(service_name: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    # Simple (synchronous) export: every span is at the receiver when the request returns.
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
