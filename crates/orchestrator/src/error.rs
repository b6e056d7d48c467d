//! Every way `/ask` can fail, and the one place that turns a failure into an HTTP response:
//! `{"error": {"code": "...", "message": "..."}}` with a 4xx for the caller's mistakes and a
//! 502/504 for the agent's.

use std::time::Duration;

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use graph::GraphError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A failed call to the agent service.
#[derive(Debug, thiserror::Error)]
pub enum AgentCallError {
    #[error("the agent service is unreachable")]
    Unreachable,
    #[error("the agent service did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the agent service answered HTTP {0}")]
    Status(u16),
    #[error("the agent service sent an unreadable response: {0}")]
    InvalidResponse(String),
}

impl AgentCallError {
    pub(crate) fn from_transport(error: &reqwest_middleware::Error, timeout: Duration) -> Self {
        match transport_error(error) {
            Some(e) if e.is_timeout() => Self::Timeout(timeout),
            _ => Self::Unreachable,
        }
    }

    /// The span's `error.type`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Unreachable => "agent_unreachable",
            Self::Timeout(_) => "timeout",
            Self::Status(_) => "agent_error_status",
            Self::InvalidResponse(_) => "agent_invalid_response",
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
    Workflow(#[from] GraphError<AgentCallError>),
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
/// its message, which names the offending field, but in our error shape.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonSyntaxError(_) => "invalid_json",
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                "body_too_large"
            }
            _ => "invalid_body",
        };
        Self::BadRequest {
            status: rejection.status(),
            code,
            message: rejection.body_text(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::BadRequest { status, code, .. } => (*status, *code),
            Self::Workflow(GraphError::Node { source, .. }) => match source {
                AgentCallError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "agent_timeout"),
                AgentCallError::Unreachable => (StatusCode::BAD_GATEWAY, "agent_unreachable"),
                AgentCallError::Status(_) => (StatusCode::BAD_GATEWAY, "agent_error"),
                AgentCallError::InvalidResponse(_) => {
                    (StatusCode::BAD_GATEWAY, "agent_invalid_response")
                }
            },
            Self::Workflow(_) => (StatusCode::INTERNAL_SERVER_ERROR, "workflow_error"),
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
