//! The HTTP surface: `POST /ask`, `GET /health`, and the layers around them. With
//! `"stream": true` the answer comes as server-sent events (`service_kit::sse`), ending with the
//! same object as `done`.

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
    sse::{EventStream, Relay, schema::StreamEvent},
};
use telemetry::genai::{SessionId, record_io, with_session};
use tower::util::option_layer;
use utoipa::{OpenApi, ToSchema};

use crate::{AppState, error::ApiError, workflow::AskState};

/// The question: trimmed, 1–`MAX_TEXT_CHARS` characters.
const QUESTION: TextField = TextField {
    name: "question",
    empty_code: "invalid_question",
    too_long_code: "question_too_long",
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AskRequest {
    /// The user's question; surrounding whitespace is ignored.
    #[schema(
        min_length = 1,
        pattern = r"\S",
        example = "Find me a good restaurant",
        // utoipa takes literals only: a test checks this is `MAX_TEXT_CHARS`.
        max_length = 4000
    )]
    pub(crate) question: String,
    /// Groups requests into one conversation. When absent: the caller's `session.id` baggage
    /// entry, else a new id.
    #[serde(default)]
    #[schema(min_length = 1, pattern = r"^[A-Za-z0-9._:-]+$", max_length = 128)]
    pub(crate) session_id: Option<String>,
    /// `true`: answer as server-sent events — `chunk` events with the text as it is produced,
    /// then `done` with this endpoint's usual answer (or `error`).
    #[serde(default)]
    pub(crate) stream: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct AskResponse {
    pub(crate) answer: String,
    pub(crate) session_id: String,
    /// The trace to look up in a backend (32 hex digits); absent when nothing of it is exported:
    /// tracing disabled, or the caller's `traceparent` marked the trace as not sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub(crate) trace_id: Option<String>,
}

/// The OpenAPI document, generated from the handlers and types below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "orchestrator",
        description = "Runs a question through the agent graph."
    ),
    paths(ask, service_kit::api::health),
    components(schemas(service_kit::error::ErrorBody, StreamEvent))
)]
pub(crate) struct ApiDoc;

/// The service's router: `/ask` traced, probes not, every error in one JSON shape.
pub fn app(state: AppState) -> Router {
    // Opt-in (`RATE_LIMIT_PER_SECOND`), inside the tracing layer: a 429 is traced and counted.
    let rate_limit = option_layer(state.rate_limit.layer());
    let api = Router::new()
        .route("/ask", post(ask))
        .route_layer(rate_limit);
    service_kit::api::with_json_fallbacks(api)
        // Propagation in: the SERVER span of every request above (unknown paths included) is
        // parented on the caller's `traceparent` and carries its `baggage`, read by
        // `telemetry::extract_context` as the span is made. Named after the matched route.
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
        (status = 200, description = "The answer; with `stream: true`, server-sent events: \
            `chunk` ({\"text\"}) as it is produced, then `done` (this object) or `error` (the error shape)",
            content(
                (AskResponse = "application/json"),
                (StreamEvent = "text/event-stream"),
            )
        ),
        ErrorResponses,
    )
)]
async fn ask(
    State(state): State<AppState>,
    events: EventStream,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Response, ApiError> {
    let question = QUESTION.check(&request.question)?.to_owned();
    // The body's id; else the caller's (`session.id` in its baggage), if valid; else a new one.
    let session = match request.session_id {
        Some(raw) => SessionId::parse(raw)?,
        None => SessionId::from_caller().unwrap_or_else(SessionId::generate),
    };
    if request.stream {
        // On its own task, in this request's SERVER span, until the last event (`sse.rs`).
        return Ok(events.respond(move |relay| answer(state, question, session, Some(relay))));
    }
    Ok(Json(answer(state, question, session, None).await?).into_response())
}

/// Runs the graph; with a `relay`, its nodes stream the answer's text as it comes.
async fn answer(
    state: AppState,
    question: String,
    session: SessionId,
    relay: Option<Relay>,
) -> Result<AskResponse, ApiError> {
    let initial = AskState {
        question: question.clone(),
        session: session.clone(),
        agent_answer: None,
        answer: None,
        relay,
    };
    let done = with_session(&session, state.graph.run(initial)).await?;
    let answer = done.answer.unwrap_or_default();
    // The root span shows the question and the answer, so the trace reads from the top.
    record_io(&tracing::Span::current(), &question, &answer);
    Ok(AskResponse {
        answer,
        session_id: session.into(),
        trace_id: telemetry::current_trace_id(),
    })
}
