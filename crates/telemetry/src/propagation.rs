//! Context propagation: the two functions that carry a trace across a process boundary, as the
//! opentelemetry-rust `tracing-http-propagator` example has them.
//!
//! - [`extract_context`]: a service reads the caller's `traceparent` (and `baggage`) from the
//!   request headers; the SERVER span (`http_server.rs`) is parented on it.
//! - [`inject_context`]: the current span's context — the CLIENT span of an outgoing call — is
//!   written into that call's headers; [`traced_client`] does it for every request.
//!
//! Both go through the *global* text-map propagator that `init` installs (W3C
//! `traceparent`/`tracestate` plus `baggage`). Without it the default propagator is a no-op and
//! every service silently starts its own trace — the most common way a distributed trace breaks.

use opentelemetry::{Context, global};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
pub use reqwest_middleware::ClientBuilder;
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use reqwest_tracing::TracingMiddleware;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::http_client::ClientSpan;

/// Reads the caller's trace context (and baggage) from incoming request headers. An absent or
/// invalid `traceparent` yields an empty context, so the request starts a new trace.
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// Writes the current span's context (and the baggage it carries) into outgoing request
/// headers, so the next service's spans join this trace.
pub fn inject_context(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}

/// Finishes a reqwest-middleware client so that every request gets a CLIENT span
/// (reqwest-tracing, with our span backend) and carries that span's context downstream
/// ([`inject_context`]). Call sites use the returned client like a plain one.
///
/// The tracing middleware goes last, innermost: middleware added before it (a retry policy)
/// wraps it, so each attempt is its own CLIENT span with its own `traceparent`, as the HTTP
/// conventions ask.
pub fn traced_client(builder: ClientBuilder) -> ClientWithMiddleware {
    builder
        .with(TracingMiddleware::<ClientSpan>::new())
        .with(InjectContext)
        .build()
}

/// Runs inside the CLIENT span reqwest-tracing opened, so the context it injects is that span's.
struct InjectContext;

#[async_trait::async_trait]
impl Middleware for InjectContext {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        inject_context(request.headers_mut());
        next.run(request, extensions).await
    }
}
