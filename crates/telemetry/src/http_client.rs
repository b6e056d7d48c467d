//! The CLIENT side of an HTTP call, per the HTTP semantic conventions: its span (through
//! reqwest-tracing's backend hook, which `propagation::traced_client` installs) and its
//! `http.client.request.duration`, one of each per attempt.

use std::{borrow::Cow, time::Instant};

use opentelemetry::KeyValue;
use reqwest_tracing::ReqwestOtelSpanBackend;
use tracing::{Span, field::Empty};

use crate::{
    metrics::instruments,
    semconv::{
        ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, NETWORK_PROTOCOL_NAME,
        NETWORK_PROTOCOL_VERSION, SERVER_ADDRESS, SERVER_PORT, URL_FULL, URL_SCHEME, URL_TEMPLATE,
        http_version, known_method,
    },
};

/// The route of an outgoing request, as a template (`/agent`, `/users/{id}`): put it on the
/// request (`.with_extension(UrlTemplate("/agent"))`) and its CLIENT span is named
/// `{method} {template}` with `url.template` set, as the HTTP conventions allow. Without it the
/// span is named after the method alone, which never leaks a path.
#[derive(Debug, Clone, Copy)]
pub struct UrlTemplate(pub &'static str);

/// The CLIENT span per the HTTP semantic conventions. reqwest-tracing's default span records
/// `server.port` and `http.response.status_code` as strings and leaves out `url.full` and
/// `error.type`; this one records them with their spec types.
pub(crate) struct ClientSpan;

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
        ext.insert(ClientTimer::start(req, template));
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
        ext: &mut http::Extensions,
    ) {
        let (status, error_type) = match outcome {
            Ok(response) => {
                let status = response.status();
                // Client spans mark 4xx and 5xx as errors (HTTP semconv, "Status").
                let failed = status.is_client_error() || status.is_server_error();
                (
                    Some(i64::from(status.as_u16())),
                    failed.then(|| status.as_str().to_owned()),
                )
            }
            Err(error) => (None, Some(transport_error_type(error).to_owned())),
        };
        if let Some(status) = status {
            span.record(HTTP_RESPONSE_STATUS_CODE, status);
        }
        if let Some(error_type) = &error_type {
            span.record("otel.status_code", "ERROR");
            span.record(ERROR_TYPE, error_type.as_str());
        }
        if let Some(timer) = ext.remove::<ClientTimer>() {
            timer.finish(status, error_type);
        }
    }
}

/// `http.client.request.duration` of one attempt: started with the request's low-cardinality
/// attributes (method, server address and port, scheme, the route template if any — never the
/// full URL), recorded when it ends.
#[derive(Clone)]
struct ClientTimer {
    started: Instant,
    attributes: Vec<KeyValue>,
}

impl ClientTimer {
    fn start(req: &reqwest::Request, template: Option<&'static str>) -> Self {
        let url = req.url();
        let mut attributes = vec![
            KeyValue::new(HTTP_REQUEST_METHOD, known_method(req.method())),
            KeyValue::new(
                SERVER_ADDRESS,
                url.host_str().unwrap_or_default().to_owned(),
            ),
            KeyValue::new(
                SERVER_PORT,
                i64::from(url.port_or_known_default().unwrap_or_default()),
            ),
            KeyValue::new(URL_SCHEME, url.scheme().to_owned()),
            KeyValue::new(NETWORK_PROTOCOL_NAME, "http"),
            KeyValue::new(NETWORK_PROTOCOL_VERSION, http_version(req.version())),
        ];
        if let Some(template) = template {
            attributes.push(KeyValue::new(URL_TEMPLATE, template));
        }
        Self {
            started: Instant::now(),
            attributes,
        }
    }

    fn finish(mut self, status: Option<i64>, error_type: Option<String>) {
        if let Some(status) = status {
            self.attributes
                .push(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, status));
        }
        if let Some(error_type) = error_type {
            self.attributes.push(KeyValue::new(ERROR_TYPE, error_type));
        }
        instruments()
            .http_client_duration
            .record(self.started.elapsed().as_secs_f64(), &self.attributes);
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
