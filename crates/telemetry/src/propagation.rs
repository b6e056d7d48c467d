//! Context propagation: the two functions that carry a trace across a process boundary.
//!
//! Both go through the *global* text-map propagator that [`crate::init`] installs (W3C
//! `traceparent`/`tracestate` plus `baggage`). Without it the default propagator is a no-op and
//! every service silently starts its own trace — the most common way a distributed trace breaks.

use opentelemetry::{Context, global};
use opentelemetry_http::HeaderExtractor;
pub use reqwest_middleware::ClientBuilder;
use reqwest_middleware::ClientWithMiddleware;
use reqwest_tracing::TracingMiddleware;

use crate::http_client::ClientSpan;

/// Reads the caller's trace context (and baggage) from incoming request headers. An absent or
/// invalid `traceparent` yields an empty context, so the request starts a new trace.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Finishes a reqwest-middleware client so that every request gets a CLIENT span and carries
/// that span's context downstream in `traceparent` and `baggage` (injected by reqwest-tracing's
/// middleware, which calls the same global propagator). Call sites use the returned client
/// like a plain one.
///
/// The tracing middleware goes last, innermost: middleware added before it (a retry policy)
/// wraps it, so each attempt is its own CLIENT span with its own `traceparent`, as the HTTP
/// conventions ask.
pub fn traced_client(builder: ClientBuilder) -> ClientWithMiddleware {
    builder.with(TracingMiddleware::<ClientSpan>::new()).build()
}
