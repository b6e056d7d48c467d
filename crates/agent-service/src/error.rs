//! Every way `/agent` can fail, and the one place that turns a failure into an HTTP response:
//! `{"error": {"code": "...", "message": "..."}}`, 4xx for the caller's mistakes, 502/504 when
//! the model API fails.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{agent::AgentError, llm::LlmError};

/// The one error shape: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_json`, `agent_timeout`, ...
    pub code: String,
    /// For people; never contains request content or secrets.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error(transparent)]
    Agent(#[from] AgentError),
}

impl ApiError {
    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
        }
    }
}

/// Body rejections keep axum's status (400 syntax, 415 content type, 413 size, 422 shape) and
/// message, in our error shape.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match status {
            StatusCode::BAD_REQUEST => "invalid_json",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            _ => "invalid_body",
        };
        Self::BadRequest {
            status,
            code,
            message: rejection.body_text(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::BadRequest { status, code, .. } => (*status, *code),
            Self::Agent(AgentError::Llm(LlmError::Timeout(_))) => {
                (StatusCode::GATEWAY_TIMEOUT, "llm_timeout")
            }
            Self::Agent(error) => (StatusCode::BAD_GATEWAY, error.error_type()),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
            },
        };
        (status, Json(body)).into_response()
    }
}
