//! The one place that knows how OpenTelemetry is wired. Both services call into this crate and
//! nothing else touches the SDK, the exporter or the propagator.
//!
//! The map:
//! - [`init`] (`setup.rs`): OTLP exporters → batch processors (`batch.rs`, with every span
//!   exported or counted as lost in `delivery.rs`) → tracer provider, the W3C
//!   propagators, and the `tracing` subscriber (console + OpenTelemetry layers). Configured only
//!   through the standard `OTEL_*` variables.
//! - [`extract_context`] and [`traced_client`] (`propagation.rs`): the two halves of context
//!   propagation — read `traceparent`/`baggage` from an incoming request, write them on an
//!   outgoing one (through reqwest-tracing).
//! - [`http_server_layer`] (`http_server.rs`): the SERVER span for every request, parented on the
//!   extracted context and named after the matched route, and inside it the request-duration
//!   metric (`http_metrics.rs`); `http_client.rs`: the CLIENT span and duration of each attempt.
//! - `metrics.rs`: the meter provider (OTLP, periodic) and every instrument, with the
//!   conventions' names, units and buckets; the span pipeline's health as metrics.
//! - `propagators.rs`: `OTEL_PROPAGATORS` → W3C (ours), B3, Jaeger, X-Ray (maintained crates).
//! - [`semconv`]: every attribute and metric name we emit, defined once.
//! - [`w3c`]: the `traceparent`/`tracestate`/`baggage` propagators, stricter than the SDK's.
//! - [`genai`]: [`genai::GenAiSpan`] (the span of one GenAI operation), message content behind
//!   the opt-in capture switch, sessions carried as baggage onto every span, and the GenAI
//!   client metrics ([`genai::GenAiMetrics`]).
//!
//! Each service's `main.rs` calls [`init`] first and [`Telemetry::shutdown`] last, after the
//! server has drained.

#![warn(missing_docs)]

mod batch;
mod console;
mod delivery;
mod export;
pub mod genai;
mod http_client;
mod http_metrics;
mod http_server;
mod logs;
mod metrics;
mod propagation;
mod propagators;
pub mod semconv;
mod setup;
pub mod w3c;

pub use delivery::{DeliverySnapshot, DeliveryStats, Loss};
pub use http_client::UrlTemplate;
pub use http_metrics::{ServerMetrics, ServerMetricsLayer};
pub use http_server::{HttpServerLayer, ServerSpanLayer, http_server_layer};
pub use propagation::{ClientBuilder, extract_context, traced_client};
pub use setup::{SHUTDOWN_FLUSH_TIMEOUT, Telemetry, TelemetryError, init};

/// Re-exported for the graph runner's step spans (services record through
/// [`genai::GenAiSpan`] and never need it).
pub use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The trace id of the current span as 32 lowercase hex digits, or `None` when nothing of this
/// trace is exported: no recording trace (`OTEL_SDK_DISABLED=true`), or a trace the caller's
/// `traceparent` marked as not sampled. Returned to callers so a user can paste it into a
/// tracing backend's search box — so never an id that no backend will have.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    // A remote context is the caller's, passed through untouched: with `OTEL_SDK_DISABLED` the
    // no-op tracer gives our spans their parent's context, and nothing of that trace is ours.
    (span_context.is_valid() && span_context.is_sampled() && !span_context.is_remote())
        .then(|| span_context.trace_id().to_string())
}

/// Marks `span` as failed: status ERROR with `message`, and `error.type` set to a
/// low-cardinality `error_type`. One helper so every layer records failures the same way.
pub fn record_error(span: &tracing::Span, error_type: &str, message: impl std::fmt::Display) {
    span.set_status(opentelemetry::trace::Status::error(message.to_string()));
    span.set_attribute(semconv::ERROR_TYPE, error_type.to_owned());
}

/// Every `OTEL_*` variable (and `RUST_LOG`) a service built on this crate honours: read by the
/// Rust SDK itself, or by us where the SDK does not (`OTEL_SDK_DISABLED`). The README's
/// variable table and the compose-file check use this list.
pub const ENV_VARS: &[&str] = &[
    "RUST_LOG",
    "OTEL_SDK_DISABLED",
    "OTEL_PROPAGATORS",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "LOG_FORMAT",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    "OTEL_BLRP_SCHEDULE_DELAY",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_METRICS_EXPORTER",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
];
