//! `http.server.request.duration` for every request, per the HTTP semantic conventions: method,
//! the route axum matched (never the raw path), scheme, protocol and version, status, and
//! `error.type` for a 5xx.
//! A layer of its own, inside the SERVER span's layer: it needs the request when the response
//! comes back, which tower-http's `on_response` hook does not see.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::extract::MatchedPath;
use http::{Request, Response};
use opentelemetry::KeyValue;
use tower::{Layer, Service};

use crate::{
    metrics::instruments,
    semconv::{self, known_method},
};

/// Wraps a service in [`ServerMetrics`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerMetricsLayer;

impl<S> Layer<S> for ServerMetricsLayer {
    type Service = ServerMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerMetrics { inner }
    }
}

/// Times each request from arrival to response headers.
#[derive(Debug, Clone)]
pub struct ServerMetrics<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for ServerMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let mut attributes = vec![
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, known_method(request.method())),
            KeyValue::new(semconv::URL_SCHEME, "http"),
            KeyValue::new(semconv::NETWORK_PROTOCOL_NAME, "http"),
            KeyValue::new(
                semconv::NETWORK_PROTOCOL_VERSION,
                semconv::http_version(request.version()),
            ),
        ];
        if let Some(route) = request.extensions().get::<MatchedPath>() {
            attributes.push(KeyValue::new(
                semconv::HTTP_ROUTE,
                route.as_str().to_owned(),
            ));
        }
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            if let Ok(response) = &result {
                let status = response.status();
                attributes.push(KeyValue::new(
                    semconv::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
                if status.is_server_error() {
                    attributes.push(KeyValue::new(
                        semconv::ERROR_TYPE,
                        status.as_str().to_owned(),
                    ));
                }
            }
            instruments()
                .http_server_duration
                .record(started.elapsed().as_secs_f64(), &attributes);
            result
        })
    }
}
