//! The HTTP surface: `POST /agent`, `GET /health`, and the layers around them. The request and
//! response are the TypeScript service's contract (`sessionId` in camelCase), so either half of
//! the original demo can be swapped for ours. With `"stream": true` the answer comes as
//! server-sent events instead (`service_kit::sse`), ending with the same object as `done`.

use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::{Deserialize, Serialize};
use service_kit::{
    ApiJson,
    api::ErrorResponses,
    fields::TextField,
    sse::{EventStream, schema::StreamEvent},
};
use telemetry::genai::{SessionId, with_session};
use tower::util::option_layer;
use utoipa::{OpenApi, ToSchema};

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
    #[schema(min_length = 1, pattern = r"^[A-Za-z0-9._:-]+$", max_length = 128)]
    pub(crate) session_id: Option<String>,
    /// `true`: answer as server-sent events — `chunk` events with the text as the model
    /// produces it, then `done` with this endpoint's usual answer (or `error`).
    #[serde(default)]
    pub(crate) stream: bool,
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
    components(schemas(service_kit::error::ErrorBody, StreamEvent))
)]
pub(crate) struct ApiDoc;

/// The service's router: `/agent` traced, probes not, every error in one JSON shape.
pub fn app(state: AppState) -> Router {
    // Opt-in (`RATE_LIMIT_PER_SECOND`), inside the tracing layer: a 429 is traced and counted.
    let rate_limit = option_layer(state.rate_limit.layer());
    let api = Router::new()
        .route("/agent", post(agent))
        .route_layer(rate_limit);
    service_kit::api::with_json_fallbacks(api)
        // Propagation in: the SERVER span of every request above (unknown paths included) is
        // parented on the caller's `traceparent` and carries its `baggage` (the session), read
        // by `telemetry::extract_context` as the span is made. Named after the matched route.
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
        (status = 200, description = "The agent's answer; with `stream: true`, server-sent events: \
            `chunk` ({\"text\"}) as it is produced, then `done` (this object) or `error` (the error shape)",
            content(
                (AgentResponse = "application/json"),
                (StreamEvent = "text/event-stream"),
            )
        ),
        ErrorResponses,
    )
)]
async fn agent(
    State(state): State<AppState>,
    events: EventStream,
    ApiJson(request): ApiJson<AgentRequest>,
) -> Result<Response, ApiError> {
    let message = MESSAGE.check(&request.message)?.to_owned();
    // The body's id; else the caller's (`session.id` in its baggage), if valid; else a new one.
    let session = match request.session_id {
        Some(raw) => SessionId::parse(raw)?,
        None => SessionId::from_caller().unwrap_or_else(SessionId::generate),
    };
    if request.stream {
        // On its own task, in this request's SERVER span, until the last event (`sse.rs`).
        return Ok(events.respond(move |relay| async move {
            let answer = with_session(&session, state.agent.run(&message, Some(&relay))).await?;
            Ok::<_, ApiError>(AgentResponse {
                answer,
                session_id: session.into(),
            })
        }));
    }
    let answer = with_session(&session, state.agent.run(&message, None)).await?;
    Ok(Json(AgentResponse {
        answer,
        session_id: session.into(),
    })
    .into_response())
}
