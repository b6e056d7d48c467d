//! The bridge from `tracing` spans to OpenTelemetry spans (tracing-opentelemetry), set up once
//! for the real pipeline and for the in-memory one the tests use.

use tracing_subscriber::{
    Layer,
    filter::{FilterExt, FilterFn},
};

use crate::filters::export_filter;

/// The tracing → OpenTelemetry layer over `tracer`, with its own filter (never `RUST_LOG`).
///
/// Spans only: a log line inside a span is an OTLP log record stamped with that span's ids
/// (`logs.rs`), not also a span event — which the bridge would name after the message and give
/// the unregistered keys `level` and `target` (the OpenTelemetry project is moving events from
/// spans to logs too). A failure is on its span as status and `error.type`.
pub(crate) fn layer<S, T>(tracer: T) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    T: opentelemetry::trace::Tracer + Send + Sync + 'static,
    T::Span: Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Keep exported spans about the request, not about the process.
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(export_filter().and(FilterFn::new(|metadata| metadata.is_span())))
}
