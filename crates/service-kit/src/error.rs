//! The one error shape, `{"error": {"code": "...", "message": "..."}}`: the caller's mistakes
//! ([`BadRequest`], always a 4xx) and [`error_response`], which every service's `IntoResponse`
//! goes through (and which logs server errors, rate-limited).

use std::{
    sync::LazyLock,
    time::{Duration, Instant},
};

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::log_limit::LogLimit;

/// The first `E` in `error`'s source chain: how a body that hit a size cap or a deadline, or
/// serde's own error, is found under the wrapping reqwest, hyper and axum put around it.
pub fn find_cause<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// Whether an `E` is anywhere in `error`'s source chain ([`find_cause`]).
pub fn caused_by<E: std::error::Error + 'static>(
    error: &(dyn std::error::Error + 'static),
) -> bool {
    find_cause::<E>(error).is_some()
}

/// An upstream's error code (the model provider's, the agent's), kept only if it looks like
/// one (`invalid_api_key`, `llm_timeout`): it is their text, and it reaches our logs and error
/// bodies, where a newline or markup in it could forge a line.
pub fn upstream_code(code: Option<String>) -> String {
    match code {
        Some(code)
            if !code.is_empty()
                && code.len() <= 64
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) =>
        {
            code
        }
        Some(_) => "unrecognised_code".to_owned(),
        None => "unknown".to_owned(),
    }
}

/// The one error shape: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid_json`, `agent_timeout`, ...
    pub code: String,
    /// For people; never carries request content or secrets.
    pub message: String,
}

/// Server-error log lines per error code, at most one per this interval.
pub const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Builds the error response ([`error_body`]).
pub fn error_response(status: StatusCode, code: &'static str, message: String) -> Response {
    (status, Json(error_body(status, code, message))).into_response()
}

/// The error body, for a response or for the `error` event of a stream that already started.
/// Server errors are logged here, at most once per code per [`FAILURE_LOG_INTERVAL`] with a
/// count of the ones held back (each still has its trace); the caller's mistakes (4xx) are not
/// logged at all.
pub fn error_body(status: StatusCode, code: &'static str, message: String) -> ErrorBody {
    static FAILURES: LazyLock<LogLimit> = LazyLock::new(|| LogLimit::new(FAILURE_LOG_INTERVAL));
    if status.is_server_error()
        && let Some(held_back) = FAILURES.due(code, Instant::now())
    {
        tracing::error!(
            http.response.status_code = status.as_u16(),
            error.type = code,
            // Not `message`: that is the event's own field (its text), and a second one would
            // be a duplicate key in JSON lines.
            error.message = %message,
            agent_tracing.failures_not_logged = held_back,
            "request failed (each failure code is logged at most every {}s)",
            FAILURE_LOG_INTERVAL.as_secs()
        );
    }
    ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
        },
    }
}

/// A failure a service answers with: its HTTP status and stable code, decided in one place per
/// service (its `ApiError`), so a plain response and a stream's `error` event say the same.
pub trait ApiFailure: std::fmt::Display {
    /// The status a plain response gets, and the code both carry.
    fn status_and_code(&self) -> (StatusCode, &'static str);
}

/// A request the caller got wrong: always a 4xx.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadRequest {
    /// The 4xx status.
    pub status: StatusCode,
    /// The stable error code.
    pub code: &'static str,
    /// A fixed message for people (never request content).
    pub message: String,
}

impl BadRequest {
    /// Any 4xx with its code and a fixed message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Well-formed JSON that breaks a rule of ours: 422.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        error_response(self.status, self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_codes_are_kept_only_when_they_look_like_codes() {
        assert_eq!(
            upstream_code(Some("invalid_api_key".into())),
            "invalid_api_key"
        );
        assert_eq!(upstream_code(None), "unknown");
        for forged in ["x\nERROR forged line", "<b>", "", &"a".repeat(65)] {
            assert_eq!(upstream_code(Some(forged.to_owned())), "unrecognised_code");
        }
    }
}
