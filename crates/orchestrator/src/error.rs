//! Every way `/ask` can fail, and the one place that turns a failure into an HTTP response:
//! `{"error": {"code": "...", "message": "..."}}` with a 4xx for the caller's mistakes and a
//! 502/504 for the agent's.

use std::time::Duration;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use graph::GraphError;
use service_kit::error::{ApiFailure, BadRequest, error_response};
use telemetry::genai::{ErrorType, InvalidSessionId};

/// A failed call to the agent service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AgentCallError {
    #[error("the agent service is unreachable")]
    Unreachable,
    #[error("the agent service did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the agent service answered HTTP {0}")]
    Status(u16),
    #[error("the agent service sent a response that is not an /agent answer")]
    InvalidResponse,
    #[error("the agent service's response is larger than {} KiB", .0 / 1024)]
    TooLarge(usize),
    #[error("the agent service's stream failed: {0}")]
    StreamFailed(String),
    #[error("the agent service's stream ended before its final event")]
    Truncated,
}

impl AgentCallError {
    pub(crate) fn from_transport(error: &reqwest_middleware::Error, timeout: Duration) -> Self {
        match transport_error(error) {
            Some(e) if e.is_timeout() => Self::Timeout(timeout),
            _ => Self::Unreachable,
        }
    }
}

impl ErrorType for AgentCallError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Unreachable => "agent_unreachable",
            Self::Timeout(_) => "timeout",
            Self::Status(_) => "agent_error_status",
            Self::InvalidResponse => "agent_invalid_response",
            Self::TooLarge(_) => "agent_response_too_large",
            Self::StreamFailed(_) => "agent_stream_failed",
            Self::Truncated => "agent_stream_truncated",
        }
    }
}

/// The reqwest error under the retry middleware's wrapping.
fn transport_error(error: &reqwest_middleware::Error) -> Option<&reqwest::Error> {
    match error {
        reqwest_middleware::Error::Reqwest(e) => Some(e),
        reqwest_middleware::Error::Middleware(e) => {
            match e.downcast_ref::<reqwest_retry::RetryError>()? {
                reqwest_retry::RetryError::WithRetries { err, .. }
                | reqwest_retry::RetryError::Error(err) => transport_error(err),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error(transparent)]
    Session(#[from] InvalidSessionId),
    #[error(transparent)]
    Workflow(#[from] GraphError<AgentCallError>),
}

impl ApiFailure for ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(bad) => (bad.status, bad.code),
            Self::Session(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_session_id"),
            Self::Workflow(GraphError::Node { source, .. }) => match source {
                AgentCallError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "agent_timeout"),
                AgentCallError::Unreachable => (StatusCode::BAD_GATEWAY, "agent_unreachable"),
                AgentCallError::Status(_) => (StatusCode::BAD_GATEWAY, "agent_error"),
                AgentCallError::InvalidResponse => {
                    (StatusCode::BAD_GATEWAY, "agent_invalid_response")
                }
                AgentCallError::TooLarge(_) => {
                    (StatusCode::BAD_GATEWAY, "agent_response_too_large")
                }
                // What a plain call answers when the agent fails: it failed after streaming.
                AgentCallError::StreamFailed(_) => (StatusCode::BAD_GATEWAY, "agent_error"),
                AgentCallError::Truncated => (StatusCode::BAD_GATEWAY, "agent_stream_truncated"),
            },
            // A graph that loops or routes nowhere is our bug, not the caller's or the agent's.
            Self::Workflow(_) => (StatusCode::INTERNAL_SERVER_ERROR, "workflow_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        error_response(status, code, self.to_string())
    }
}
