//! The SERVER span for every request, per the HTTP semantic conventions: named
//! `{method} {route}`, parented on the caller's context, status ERROR only for 5xx.

use std::time::Duration;

use axum::extract::MatchedPath;
use http::{Request, Response};
use tower::layer::util::Stack;
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::{MakeSpan, OnResponse, TraceLayer},
};
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{
    http_server_metrics::ServerMetricsLayer,
    propagation::extract_context,
    semconv::{
        AGENT_TRACING_STREAM_OUTCOME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE,
        HTTP_ROUTE, SERVER_ADDRESS, SERVER_PORT, URL_PATH, URL_SCHEME, known_method,
    },
};

/// The SERVER span's layer.
pub type ServerSpanLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    MakeServerSpan,
    (),
    OnServerResponse,
    (),
    (),
    (),
>;

/// The layer type, named so services can store or return it: the span outside, the duration
/// metric inside it.
pub type HttpServerLayer = Stack<ServerMetricsLayer, ServerSpanLayer>;

/// Add with `Router::layer` (not `route_layer` and not around the router), so the matched
/// route is known when the span is named and unmatched paths still get a span.
pub fn http_server_layer() -> HttpServerLayer {
    let span = TraceLayer::new_for_http()
        .make_span_with(MakeServerSpan)
        .on_request(())
        .on_response(OnServerResponse)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(());
    Stack::new(ServerMetricsLayer, span)
}

#[derive(Debug, Clone, Copy)]
pub struct MakeServerSpan;

impl<B> MakeSpan<B> for MakeServerSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let method = known_method(request.method());
        let name = match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            { HTTP_REQUEST_METHOD } = method,
            { HTTP_ROUTE } = route,
            { URL_PATH } = request.uri().path(),
            { URL_SCHEME } = "http",
            { HTTP_RESPONSE_STATUS_CODE } = Empty,
            { ERROR_TYPE } = Empty,
            { SERVER_ADDRESS } = Empty,
            { SERVER_PORT } = Empty,
            // Set by a streamed answer (service-kit's `sse.rs`), which has no tracing-opentelemetry.
            { AGENT_TRACING_STREAM_OUTCOME } = Empty,
        );
        // `server.*` from the Host header, when it is a well-formed authority.
        if let Some(authority) = request
            .headers()
            .get(http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| host.parse::<http::uri::Authority>().ok())
        {
            span.record(SERVER_ADDRESS, authority.host());
            if let Some(port) = authority.port_u16() {
                span.record(SERVER_PORT, i64::from(port));
            }
        }
        // Must happen before the span is first entered; afterwards the parent is fixed.
        let _ = span.set_parent(extract_context(request.headers()));
        span
    }
}

#[derive(Debug, Clone, Copy)]
pub struct OnServerResponse;

impl<B> OnResponse<B> for OnServerResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status();
        span.record(HTTP_RESPONSE_STATUS_CODE, i64::from(status.as_u16()));
        // Server spans leave 4xx unset: the caller erred, not us.
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            span.record(ERROR_TYPE, status.as_str());
        }
        tracing::debug!(
            status = status.as_u16(),
            latency_ms = latency.as_millis() as u64,
            "request done"
        );
    }
}
