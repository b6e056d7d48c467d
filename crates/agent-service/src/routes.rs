//! The HTTP surface: `POST /agent`, `GET /health`, and the layers around them. The request and
//! response are the TypeScript service's contract (`sessionId` in camelCase), so either half of
//! the original demo can be swapped for ours.

use axum::{Json, Router, extract::State, routing::post};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use service_kit::api::{ApiJson, BadRequest, ErrorResponses};

use crate::{ApiError, AppState};

/// Messages above this many characters are refused with 422.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Session ids longer than this are refused with 422.
pub const MAX_SESSION_ID_CHARS: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRequest {
    /// The user's message; surrounding whitespace is ignored.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"\S",
        example = "Find me a good restaurant"
    )]
    pub message: String,
    /// When absent: the caller's `session.id` baggage entry, else a new id.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f\x7f]+$")]
    pub session_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentResponse {
    pub answer: String,
    pub session_id: String,
}

/// The OpenAPI document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "agent-service",
        description = "One agent turn: chat, tools, chat."
    ),
    paths(agent, service_kit::api::health),
    components(schemas(service_kit::api::ErrorBody))
)]
pub struct ApiDoc;

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
    let message = request.message.trim();
    if message.is_empty() {
        return Err(BadRequest::invalid("invalid_message", "message must not be empty").into());
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(BadRequest::invalid(
            "message_too_long",
            format!("message must be at most {MAX_MESSAGE_CHARS} characters"),
        )
        .into());
    }
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
