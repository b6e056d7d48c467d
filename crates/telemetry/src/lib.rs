//! How both services are traced: the one place that wires OpenTelemetry and `tracing`.
//!
//! Read it in this order:
//! - `init.rs` — [`init`]: the propagator, the tracer, meter and logger providers and the
//!   subscriber, from the standard `OTEL_*` variables, as the upstream examples build them.
//!   [`Telemetry`] (`guard.rs`) owns the providers until `main` shuts them down.
//! - `propagation.rs` — the lesson: [`extract_context`] (the caller's `traceparent` in) and
//!   [`inject_context`] / [`traced_client`] (ours out, on every outgoing call).
//! - `http_server.rs`, `http_client.rs` — the SERVER and CLIENT spans of the HTTP conventions,
//!   and their duration metrics (`http_server_metrics.rs`, `metrics.rs`, recorded through
//!   `bound_histogram.rs`: each attribute set resolved once).
//! - [`genai`] — the spans, content, metrics and sessions that make a trace read as an AI
//!   workflow.
//! - [`semconv`] — every attribute and metric name we emit, defined once.
//!
//! The rest is plumbing: the console (`console.rs`), the filters of each output (`filters.rs`),
//! the resource (`resource.rs`), log records (`logs.rs`), and the variables we read
//! (`env_vars.rs`). Where the SDK falls short, the fix lives in the `sdk-corrections` crate.

#![warn(missing_docs)]

mod bound_histogram;
mod console;
mod current_span;
mod env_vars;
mod error;
mod filters;
pub mod genai;
mod guard;
mod http_client;
mod http_server;
mod http_server_metrics;
mod init;
mod logs;
mod metrics;
mod propagation;
mod resource;
pub mod semconv;
mod spans;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use current_span::{current_trace_id, record_error};
pub use env_vars::ENV_VARS;
pub use error::TelemetryError;
pub use guard::{SHUTDOWN_FLUSH_TIMEOUT, Telemetry};
pub use http_client::UrlTemplate;
pub use http_server::{HttpServerLayer, ServerSpanLayer, http_server_layer};
pub use http_server_metrics::{ServerMetrics, ServerMetricsLayer};
pub use init::init;
pub use propagation::{ClientBuilder, extract_context, inject_context, traced_client};
pub use sdk_corrections::{DeliverySnapshot, DeliveryStats, Loss};
/// Re-exported for the graph runner's step spans (services record through
/// [`genai::GenAiSpan`] and never need it).
pub use tracing_opentelemetry::OpenTelemetrySpanExt;
