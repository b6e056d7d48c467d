//! The HTTP surface: `POST /agent`, `GET /health`, and the layers around them. The request and
//! response are the TypeScript service's contract (`sessionId` in camelCase), so either half of
//! the original demo can be swapped for ours.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, FromRequest, State},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Messages above this many characters are refused with 422.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Session ids longer than this are refused with 422.
pub const MAX_SESSION_ID_CHARS: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRequest {
    pub message: String,
    #[serde(default)]
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResponse {
    pub answer: String,
    pub session_id: String,
}

/// `axum::Json`, but rejections come out in our error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/agent", post(agent))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(telemetry::http_server_layer())
        .with_state(state)
}

async fn agent(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<AgentRequest>,
) -> Result<Json<AgentResponse>, ApiError> {
    let message = request.message.trim();
    if message.is_empty() {
        return Err(ApiError::invalid(
            "invalid_message",
            "message must not be empty",
        ));
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(
            "message_too_long",
            format!("message must be at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let session_id = match request.session_id {
        Some(id)
            if id.is_empty()
                || id.chars().count() > MAX_SESSION_ID_CHARS
                || id.chars().any(char::is_control) =>
        {
            return Err(ApiError::invalid(
                "invalid_session_id",
                format!("sessionId must be 1-{MAX_SESSION_ID_CHARS} printable characters"),
            ));
        }
        Some(id) => id,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let answer =
        telemetry::genai::with_session(&session_id, state.agent.run(message, &session_id)).await?;
    Ok(Json(AgentResponse { answer, session_id }))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
