//! What a service reads from, or writes to, the span it runs in: the trace id to hand back to the
//! caller, and a failure, recorded the same way by every layer.

use opentelemetry::trace::{Status, TraceContextExt};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::semconv;

/// The trace id of the current span as 32 lowercase hex digits, or `None` when nothing of this
/// trace is exported: no recording trace (`OTEL_SDK_DISABLED=true`), or a trace the caller's
/// `traceparent` marked as not sampled. Returned to callers so a user can paste it into a
/// tracing backend's search box — so never an id that no backend will have.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    // A remote context is the caller's, passed through untouched: with `OTEL_SDK_DISABLED` the
    // no-op tracer gives our spans their parent's context, and nothing of that trace is ours.
    (span_context.is_valid() && span_context.is_sampled() && !span_context.is_remote())
        .then(|| span_context.trace_id().to_string())
}

/// Marks `span` as failed: status ERROR with `message`, and `error.type` set to a
/// low-cardinality `error_type`.
pub fn record_error(span: &tracing::Span, error_type: &str, message: impl std::fmt::Display) {
    span.set_status(Status::error(message.to_string()));
    span.set_attribute(semconv::ERROR_TYPE, error_type.to_owned());
}
