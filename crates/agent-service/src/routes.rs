//! The HTTP surface: `POST /agent`, `GET /health`, and the layers around them. The request and
//! response are the TypeScript service's contract (`sessionId` in camelCase), so either half of
//! the original demo can be swapped for ours.

use axum::{Json, Router, extract::State, routing::post};
use serde::{Deserialize, Serialize};
use telemetry::genai::MAX_SESSION_ID_CHARS;
use utoipa::{OpenApi, ToSchema};

use service_kit::{ApiJson, api::ErrorResponses, error::BadRequest, fields::TextField};

use crate::{AppState, error::ApiError};

/// The message: trimmed, 1–`MAX_TEXT_CHARS` characters.
const MESSAGE: TextField = TextField {
    name: "message",
    empty_code: "invalid_message",
    too_long_code: "message_too_long",
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AgentRequest {
    /// The user's message; surrounding whitespace is ignored.
    #[schema(
        min_length = 1,
        pattern = r"\S",
        example = "Find me a good restaurant",
        // utoipa takes literals only: a test checks this is `MAX_TEXT_CHARS`.
        max_length = 4000
    )]
    pub(crate) message: String,
    /// When absent: the caller's `session.id` baggage entry, else a new id.
    #[serde(default)]
    #[schema(min_length = 1, pattern = r"^[^\x00-\x1f\x7f]+$", max_length = 128)]
    pub(crate) session_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentResponse {
    pub(crate) answer: String,
    pub(crate) session_id: String,
}

/// The OpenAPI document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "agent-service",
        description = "One agent turn: chat, tools, chat."
    ),
    paths(agent, service_kit::api::health),
    components(schemas(service_kit::error::ErrorBody))
)]
pub(crate) struct ApiDoc;

/// The service's router: `/agent` traced, probes not, every error in one JSON shape.
pub fn app(state: AppState) -> Router {
    let api = Router::new().route("/agent", post(agent));
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
    path = "/agent",
    request_body = AgentRequest,
    responses(
        (status = 200, description = "The agent's answer", body = AgentResponse),
        ErrorResponses,
    )
)]
async fn agent(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<AgentRequest>,
) -> Result<Json<AgentResponse>, ApiError> {
    let message = MESSAGE.check(&request.message)?;
    // The body's id; else the caller's (`session.id` in its baggage), if valid; else a new one.
    let session_id = match request.session_id {
        Some(id) if !valid_session_id(&id) => {
            return Err(BadRequest::invalid(
                "invalid_session_id",
                format!("sessionId must be 1-{MAX_SESSION_ID_CHARS} printable characters"),
            )
            .into());
        }
        Some(id) => id,
        None => telemetry::genai::caller_session()
            .filter(|id| valid_session_id(id))
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let answer = telemetry::genai::with_session(&session_id, state.agent.run(message)).await?;
    Ok(Json(AgentResponse { answer, session_id }))
}

fn valid_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_SESSION_ID_CHARS
        && !id.chars().any(char::is_control)
}
