//! Every way `/agent` can fail, and the one place that turns a failure into an HTTP response:
//! `{"error": {"code": "...", "message": "..."}}`, 4xx for the caller's mistakes, 502/504 when
//! the model API fails.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use service_kit::error::{ApiFailure, BadRequest, error_response};
use telemetry::genai::{ErrorType, InvalidSessionId};

use crate::{agent::AgentError, llm::LlmError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error(transparent)]
    Session(#[from] InvalidSessionId),
    #[error(transparent)]
    Agent(#[from] AgentError),
}

impl ApiFailure for ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(bad) => (bad.status, bad.code),
            Self::Session(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_session_id"),
            Self::Agent(AgentError::Llm(LlmError::Timeout(_))) => {
                (StatusCode::GATEWAY_TIMEOUT, "llm_timeout")
            }
            Self::Agent(error) => (StatusCode::BAD_GATEWAY, error.error_type()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        error_response(status, code, self.to_string())
    }
}
