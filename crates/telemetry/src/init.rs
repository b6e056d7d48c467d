//! The wiring, in the order the opentelemetry-rust examples use: the propagator, the resource,
//! then the tracer, meter and logger providers — each registered globally and handed back to
//! `main` inside [`Telemetry`] — and last the `tracing` subscriber that feeds them.
//!
//! Everything is configured by the standard `OTEL_*` variables, read by the SDK's builders
//! (`OTEL_EXPORTER_OTLP_*`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, …). Where the SDK
//! falls short of the spec or of what we measured we need, the fix is one named call into
//! `sdk_corrections` (its README lists each gap and its upstream issue).
//!
//! Every exporter uses the *blocking* HTTP client: the SDK's batch processors and the periodic
//! metric reader export from their own OS threads, where an async client has no reactor.

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use sdk_corrections::{BatchQueues, OtlpSpanExporter};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

use crate::{
    console, error::TelemetryError, genai, guard::Telemetry, logs, metrics, resource, spans,
};

/// Installs the propagator, the three providers and the global subscriber.
///
/// `default_service_name` applies only when neither `OTEL_SERVICE_NAME` nor a `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES` is set; `service_version` is the caller's `CARGO_PKG_VERSION`.
pub fn init(
    default_service_name: &'static str,
    service_version: &'static str,
) -> Result<Telemetry, TelemetryError> {
    // Propagation: W3C `traceparent`/`tracestate` and `baggage` unless `OTEL_PROPAGATORS` says
    // otherwise. Without a global propagator every service silently starts its own trace.
    global::set_text_map_propagator(sdk_corrections::propagator_from_env()?);
    let capture = genai::init_capture()?;
    if sdk_corrections::sdk_disabled()? {
        return passthrough();
    }
    let resource = resource::from_env(default_service_name, service_version);

    // Traces: OTLP exporter → batch processors → tracer provider. The batch processors are
    // the SDK's own, side by side, with every span counted as exported or lost; the exporter is
    // opentelemetry-otlp's, with a cheaper encoding of the batch.
    let (batches, delivery) =
        BatchQueues::from_env(|| Ok::<_, TelemetryError>(OtlpSpanExporter::from_env()?))?;
    let tracer_provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_span_processor(genai::session_attributes(batches))
        .build();
    global::set_tracer_provider(tracer_provider.clone());

    // Metrics: OTLP exporter → periodic reader → meter provider (`OTEL_METRICS_EXPORTER=none`:
    // none, and every instrument is the API's no-op).
    let meter_provider = metrics::provider(resource.clone())?;
    if let Some(meter_provider) = &meter_provider {
        global::set_meter_provider(meter_provider.clone());
        delivery.observe(&metrics::meter());
    }

    // Logs: OTLP exporter → batch processor → logger provider (`OTEL_LOGS_EXPORTER=none`: none).
    let logger_provider = logs::provider(resource)?;

    // The subscriber: console lines, spans to the tracer, events to log records.
    tracing_subscriber::registry()
        .with(console::layer()?)
        .with(spans::layer(tracer_provider.tracer("telemetry")))
        .with(logger_provider.as_ref().map(logs::bridge))
        .try_init()?;
    tracing::info!(
        agent_tracing.content_capture = ?capture,
        agent_tracing.export.queues = delivery.settings().queues,
        agent_tracing.export.max_queue_size = delivery.settings().max_queue_size,
        agent_tracing.metrics.enabled = meter_provider.is_some(),
        "tracing to OTLP"
    );
    Ok(Telemetry {
        tracer_provider: Some(tracer_provider),
        meter_provider,
        logger_provider,
        delivery: Some(delivery),
    })
}

/// `OTEL_SDK_DISABLED=true`: spans off, propagation on. The API's no-op tracer gives every span
/// its parent's context unchanged, so a caller's `traceparent` and `baggage` still reach the
/// agent — what the spec asks of the API without an SDK. Cutting them would split the trace of
/// a traced system this service sits in the middle of.
fn passthrough() -> Result<Telemetry, TelemetryError> {
    tracing_subscriber::registry()
        .with(console::layer()?)
        .with(spans::layer(opentelemetry::trace::noop::NoopTracer::new()))
        .try_init()?;
    tracing::info!(
        "OTEL_SDK_DISABLED=true: spans are not recorded or exported; trace context and baggage \
         are passed on"
    );
    Ok(Telemetry {
        tracer_provider: None,
        meter_provider: None,
        logger_provider: None,
        delivery: None,
    })
}
