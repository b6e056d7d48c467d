//! The HTTP surface both services share: the probes (`/health`, `/openapi.json`), the JSON
//! answers to what the router itself refuses (404, 405), the body limit, and the error
//! responses every `POST` endpoint documents.

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{BadRequest, ErrorBody};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `GET /health`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /health`: up as long as the process serves.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// JSON errors for what the router itself refuses — an unknown path (404 `not_found`) and a
/// known path with another method (405 `method_not_allowed`, with axum's `Allow` header) — so
/// every answer has one shape. Call before the tracing layer, so those requests are traced.
pub fn with_json_fallbacks<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// `GET /health` and `GET /openapi.json` (the document `openapi` builds from the code). Merge
/// them *after* the tracing layer: a probe every few seconds would otherwise be a stream of
/// one-span traces in the user's backend.
pub fn probes<S: Clone + Send + Sync + 'static>(
    openapi: fn() -> utoipa::openapi::OpenApi,
) -> Router<S> {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(move || async move { Json(openapi()) }))
        .method_not_allowed_fallback(method_not_allowed)
}

/// The request body limit every service applies (413 past it).
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_BODY_BYTES)
}

async fn not_found() -> Response {
    BadRequest::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such path; see /openapi.json",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    BadRequest::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not accept that method; see /openapi.json",
    )
    .into_response()
}

/// The error answers every `POST` endpoint of ours can give, for
/// `#[utoipa::path(responses((status = 200, ...), ErrorResponses))]`.
#[derive(Debug, utoipa::IntoResponses)]
pub enum ErrorResponses {
    /// The body is not JSON.
    #[response(status = 400)]
    NotJson(ErrorBody),
    /// The body did not arrive within the server's body read timeout.
    #[response(status = 408)]
    BodyTimeout(ErrorBody),
    /// The body is over 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The content type is not `application/json`.
    #[response(status = 415)]
    NotJsonContentType(ErrorBody),
    /// Valid JSON, but not a valid request.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// Past the request-rate limit (`RATE_LIMIT_PER_SECOND`, off by default); see `Retry-After`.
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// The service downstream (the agent, the model API) failed.
    #[response(status = 502)]
    Upstream(ErrorBody),
    /// The service downstream did not answer in time.
    #[response(status = 504)]
    UpstreamTimeout(ErrorBody),
}
