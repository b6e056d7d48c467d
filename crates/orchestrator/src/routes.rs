//! The HTTP surface: `POST /ask`, `GET /health`, and the layers around them.

use axum::{Json, Router, extract::State, routing::post};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use telemetry::genai::{question_and_answer, record_content, with_session};

use service_kit::api::{ApiJson, BadRequest, ErrorResponses};

use crate::{ApiError, AppState, AskState};

/// Questions above this many characters are refused with 422.
pub const MAX_QUESTION_CHARS: usize = 4_000;
/// Session ids: 1–128 characters of `[A-Za-z0-9._:-]`, so they are safe in headers and logs.
pub const MAX_SESSION_ID_CHARS: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The user's question; surrounding whitespace is ignored.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"\S",
        example = "Find me a good restaurant"
    )]
    pub question: String,
    /// Groups requests into one conversation. When absent: the caller's `session.id` baggage
    /// entry, else a new id.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._:-]+$")]
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AskResponse {
    pub answer: String,
    pub session_id: String,
    /// The trace to look up in a backend (32 hex digits); absent when nothing of it is exported:
    /// tracing disabled, or the caller's `traceparent` marked the trace as not sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub trace_id: Option<String>,
}

/// The OpenAPI document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "orchestrator",
        description = "Runs a question through the agent graph."
    ),
    paths(ask, service_kit::api::health),
    components(schemas(service_kit::api::ErrorBody))
)]
pub struct ApiDoc;

pub fn app(state: AppState) -> Router {
    let api = Router::new().route("/ask", post(ask));
    service_kit::api::with_json_fallbacks(api)
        // The SERVER span of every request above (unknown paths included), parented on the
        // caller's `traceparent` and named after the matched route.
        .layer(telemetry::http_server_layer())
        // Health checks and the OpenAPI document come after the layer: probes make no spans.
        .merge(service_kit::api::probes(ApiDoc::openapi))
        .layer(service_kit::api::body_limit())
        .with_state(state)
}

#[utoipa::path(
    post,
    path = "/ask",
    request_body = AskRequest,
    responses(
        (status = 200, description = "The answer", body = AskResponse),
        ErrorResponses,
    )
)]
async fn ask(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Json<AskResponse>, ApiError> {
    let question = request.question.trim();
    if question.is_empty() {
        return Err(BadRequest::invalid("invalid_question", "question must not be empty").into());
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(BadRequest::invalid(
            "question_too_long",
            format!("question must be at most {MAX_QUESTION_CHARS} characters"),
        )
        .into());
    }
    // The body's id; else the caller's (`session.id` in its baggage), if valid; else a new one.
    let session_id = match request.session_id {
        Some(id) => validate_session_id(id)?,
        None => telemetry::genai::caller_session()
            .and_then(|id| validate_session_id(id).ok())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
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

fn validate_session_id(id: String) -> Result<String, BadRequest> {
    let valid = !id.is_empty()
        && id.len() <= MAX_SESSION_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if valid {
        Ok(id)
    } else {
        Err(BadRequest::invalid(
            "invalid_session_id",
            format!(
                "session_id must be 1-{MAX_SESSION_ID_CHARS} characters of A-Z a-z 0-9 . _ : -"
            ),
        ))
    }
}
