//! Context propagation: the two functions that carry a trace across a process boundary.
//!
//! Both go through the *global* text-map propagator that [`crate::init`] installs (W3C
//! `traceparent`/`tracestate` plus `baggage`). Without it the default propagator is a no-op and
//! every service silently starts its own trace — the most common way a distributed trace breaks.

use std::borrow::Cow;

use opentelemetry::{Context, global};
use opentelemetry_http::HeaderExtractor;
pub use reqwest_middleware::ClientBuilder;
use reqwest_middleware::ClientWithMiddleware;
use reqwest_tracing::{ReqwestOtelSpanBackend, TracingMiddleware};
use tracing::{Span, field::Empty};

use crate::semconv::{
    ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, SERVER_ADDRESS, SERVER_PORT,
    URL_FULL, URL_SCHEME, URL_TEMPLATE,
};

/// The route of an outgoing request, as a template (`/agent`, `/users/{id}`): put it on the
/// request (`.with_extension(UrlTemplate("/agent"))`) and its CLIENT span is named
/// `{method} {template}` with `url.template` set, as the HTTP conventions allow. Without it the
/// span is named after the method alone, which never leaks a path.
#[derive(Debug, Clone, Copy)]
pub struct UrlTemplate(pub &'static str);

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

/// The CLIENT span per the HTTP semantic conventions. reqwest-tracing's default span records
/// `server.port` and `http.response.status_code` as strings and leaves out `url.full` and
/// `error.type`; this one records them with their spec types.
struct ClientSpan;

impl ReqwestOtelSpanBackend for ClientSpan {
    fn on_request_start(req: &reqwest::Request, ext: &mut http::Extensions) -> Span {
        let url = req.url();
        let mut full = url.clone();
        // Credentials never reach a span.
        let _ = full.set_username("");
        let _ = full.set_password(None);
        let template = ext.get::<UrlTemplate>().map(|t| t.0);
        let name: Cow<'_, str> = match template {
            Some(template) => format!("{} {template}", req.method()).into(),
            None => req.method().as_str().into(),
        };
        tracing::info_span!(
            "HTTP request",
            otel.name = %name,
            otel.kind = "client",
            otel.status_code = Empty,
            { HTTP_REQUEST_METHOD } = %req.method(),
            { URL_TEMPLATE } = template,
            { URL_FULL } = %full,
            { URL_SCHEME } = url.scheme(),
            { SERVER_ADDRESS } = url.host_str().unwrap_or_default(),
            { SERVER_PORT } = i64::from(url.port_or_known_default().unwrap_or_default()),
            { HTTP_RESPONSE_STATUS_CODE } = Empty,
            { ERROR_TYPE } = Empty,
        )
    }

    fn on_request_end(
        span: &Span,
        outcome: &reqwest_middleware::Result<reqwest::Response>,
        _: &mut http::Extensions,
    ) {
        match outcome {
            Ok(response) => {
                let status = response.status();
                span.record(HTTP_RESPONSE_STATUS_CODE, i64::from(status.as_u16()));
                // Client spans mark 4xx and 5xx as errors (HTTP semconv, "Status").
                if status.is_client_error() || status.is_server_error() {
                    span.record("otel.status_code", "ERROR");
                    span.record(ERROR_TYPE, status.as_str());
                }
            }
            Err(error) => {
                span.record("otel.status_code", "ERROR");
                span.record(ERROR_TYPE, transport_error_type(error));
            }
        }
    }
}

/// A low-cardinality `error.type` for a request that got no response.
fn transport_error_type(error: &reqwest_middleware::Error) -> &'static str {
    match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connection_error",
        reqwest_middleware::Error::Reqwest(_) => "request_error",
        reqwest_middleware::Error::Middleware(_) => "middleware_error",
    }
}
