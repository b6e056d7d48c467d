//! The opt-in request-rate limit in front of a service's API routes (tower_governor, one bucket
//! for the whole process): `RATE_LIMIT_PER_SECOND` requests a second on average, bursts of
//! `RATE_LIMIT_BURST`. Off unless set — on loopback nobody else can call — and meant to be on as
//! soon as a service listens on any other address, above all with a real model key behind it.
//!
//! A refused request is a 429 in the one error shape with `Retry-After`. Put the layer inside the
//! tracing layer, so each refusal still has its SERVER span and is counted in
//! `http.server.request.duration` (`http.response.status_code=429`).

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use governor::middleware::NoOpMiddleware;
use tower_governor::{
    GovernorError, GovernorLayer, governor::GovernorConfigBuilder,
    key_extractor::GlobalKeyExtractor,
};

use crate::error::BadRequest;

/// The layer [`RateLimit::layer`] makes.
pub type RateLimitLayer = GovernorLayer<GlobalKeyExtractor, NoOpMiddleware, Body>;

/// How many requests a second a service takes, and in what bursts; `0` a second is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, on average (`RATE_LIMIT_PER_SECOND`); 0 = no limit.
    pub per_second: u32,
    /// Requests that may arrive at once (`RATE_LIMIT_BURST`); 0 = as many as a second allows.
    pub burst: u32,
}

impl RateLimit {
    /// The limit's layer, or `None` when it is off.
    pub fn layer(self) -> Option<RateLimitLayer> {
        if self.per_second == 0 {
            return None;
        }
        let burst = if self.burst == 0 {
            self.per_second
        } else {
            self.burst
        };
        let config = GovernorConfigBuilder::default()
            .key_extractor(GlobalKeyExtractor)
            .period(Duration::from_secs(1) / self.per_second)
            .burst_size(burst)
            .finish()
            .expect("a non-zero period and burst");
        Some(GovernorLayer::new(Arc::new(config)).error_handler(too_many_requests))
    }
}

/// 429 `rate_limited` in the one error shape, with `Retry-After` (whole seconds, at least 1).
fn too_many_requests(error: GovernorError) -> Response {
    let wait = match error {
        GovernorError::TooManyRequests { wait_time, .. } => wait_time.max(1),
        _ => 1,
    };
    let mut response = BadRequest::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests; retry after the time in Retry-After",
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(wait));
    response
}

#[cfg(test)]
mod tests {
    use axum::{Router, routing::post};
    use tower::ServiceExt;

    use super::*;

    async fn status_and_retry_after(app: &Router) -> (StatusCode, Option<String>) {
        let request = axum::http::Request::post("/").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status(), retry_after)
    }

    #[tokio::test]
    async fn past_the_burst_requests_get_429_with_retry_after_and_off_refuses_nothing() {
        let limited = RateLimit {
            per_second: 1,
            burst: 2,
        };
        let app = Router::new()
            .route("/", post(|| async { "ok" }))
            .route_layer(limited.layer().unwrap());
        assert_eq!(status_and_retry_after(&app).await.0, StatusCode::OK);
        assert_eq!(status_and_retry_after(&app).await.0, StatusCode::OK);
        let (status, retry_after) = status_and_retry_after(&app).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after.as_deref(), Some("1"));

        assert!(RateLimit::default().layer().is_none());
    }
}
