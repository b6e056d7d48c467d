//! The HTTP surface: `POST /ask`, `GET /health`, and the layers around them.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, FromRequest, State},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use telemetry::genai::{question_and_answer, record_content, with_session};

use crate::{ApiError, AppState, AskState};

/// Request bodies above this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Questions above this many characters are refused with 422.
pub const MAX_QUESTION_CHARS: usize = 4_000;
/// Session ids: 1–128 characters of `[A-Za-z0-9._:-]`, so they are safe in headers and logs.
pub const MAX_SESSION_ID_CHARS: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    pub question: String,
    #[serde(default)]
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AskResponse {
    pub answer: String,
    pub session_id: String,
    /// The trace to look up in a backend; absent when tracing is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// `axum::Json`, but rejections come out in our error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/ask", post(ask))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(telemetry::http_server_layer())
        .with_state(state)
}

async fn ask(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Json<AskResponse>, ApiError> {
    let question = request.question.trim();
    if question.is_empty() {
        return Err(ApiError::invalid(
            "invalid_question",
            "question must not be empty",
        ));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::invalid(
            "question_too_long",
            format!("question must be at most {MAX_QUESTION_CHARS} characters"),
        ));
    }
    let session_id = match request.session_id {
        Some(id) => validate_session_id(id)?,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let initial = AskState {
        question: question.to_owned(),
        session_id: session_id.clone(),
        ..AskState::default()
    };
    let done = with_session(&session_id, state.graph.run(initial)).await?;
    let answer = done.answer.unwrap_or_default();
    // The root span shows the question and the answer, so the trace reads from the top.
    record_content(&tracing::Span::current(), || {
        question_and_answer(question, &answer)
    });
    Ok(Json(AskResponse {
        answer,
        session_id,
        trace_id: telemetry::current_trace_id(),
    }))
}

fn validate_session_id(id: String) -> Result<String, ApiError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if valid {
        Ok(id)
    } else {
        Err(ApiError::invalid(
            "invalid_session_id",
            format!(
                "session_id must be 1-{MAX_SESSION_ID_CHARS} characters of A-Z a-z 0-9 . _ : -"
            ),
        ))
    }
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
