//! The in-process tier: the agent's `app()` driven without a socket, its spans read from the
//! SDK's in-memory exporter. What a change to a span looks like, in a second, with no Collector.

use agent_service::{AppState, Config, app};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use opentelemetry::trace::{SpanKind, Status};
use serde_json::{Value, json};
use service_kit::config::EnvConfig;
use telemetry::testing::{attribute, init_in_memory, is_child_of, span_named, spans_of_trace};
use tower::ServiceExt;

/// The caller's span, as an orchestrator would send it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

fn app_with_mock() -> axum::Router {
    let config = Config::from_vars([("MOCK_LLM_LATENCY_MS".to_owned(), "0".to_owned())]).unwrap();
    app(AppState::new(&config))
}

/// POSTs `body` to `/agent` with the given extra headers; returns status and JSON body.
async fn post(body: Value, headers: &[(&str, String)]) -> (StatusCode, Value) {
    let mut request = Request::post("/agent").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app_with_mock()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A trace id nobody else in this test binary uses, so tests running side by side never read
/// each other's spans.
fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-{CALLER_SPAN_ID}-01")
}

#[tokio::test]
async fn one_agent_turn_is_a_tree_under_the_caller_s_span() {
    let exporter = init_in_memory();
    let (status, body) = post(
        json!({"message": "Find me a good restaurant", "sessionId": "conv-1"}),
        &[("traceparent", traceparent(TRACE_ID))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let spans = spans_of_trace(exporter, TRACE_ID);
    let server = span_named(&spans, "POST /agent");
    // Extracted: the caller's span is the parent, in the caller's trace.
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN_ID);
    assert!(server.parent_span_is_remote);

    let agent = span_named(&spans, "invoke_agent restaurant-assistant");
    assert!(is_child_of(agent, server));
    assert_eq!(
        attribute(agent, "gen_ai.operation.name").unwrap(),
        "invoke_agent"
    );
    assert_eq!(
        attribute(agent, "gen_ai.agent.name").unwrap(),
        "restaurant-assistant"
    );

    let chats: Vec<_> = spans.iter().filter(|s| s.name == "chat mock-llm").collect();
    assert_eq!(chats.len(), 2, "chat → tool → chat");
    let tool = span_named(&spans, "execute_tool web_search");
    for span in chats.iter().copied().chain([tool]) {
        assert!(is_child_of(span, agent), "{} under invoke_agent", span.name);
        assert_eq!(span.span_kind, SpanKind::Internal);
    }
    assert!(chats[0].end_time <= tool.start_time && tool.end_time <= chats[1].start_time);
    assert_eq!(
        attribute(chats[0], "gen_ai.response.finish_reasons").unwrap(),
        "[\"tool_calls\"]"
    );
    assert_eq!(attribute(tool, "gen_ai.tool.name").unwrap(), "web_search");

    // The body's session is on every span, once per key.
    for span in &spans {
        assert_eq!(
            attribute(span, "session.id").as_deref(),
            Some("conv-1"),
            "{}",
            span.name
        );
        assert_eq!(
            attribute(span, "gen_ai.conversation.id").as_deref(),
            Some("conv-1")
        );
        let keys: Vec<_> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys.iter().filter(|k| **k == "session.id").count(),
            1,
            "{keys:?}"
        );
    }
}

#[tokio::test]
async fn the_caller_s_baggage_session_is_adopted_when_the_body_has_none() {
    let exporter = init_in_memory();
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4736";
    let (status, body) = post(
        json!({"message": "Find me sushi"}),
        &[
            ("traceparent", traceparent(trace_id)),
            ("baggage", "session.id=from-caller,tenant=t1".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessionId"], "from-caller");
    let spans = spans_of_trace(exporter, trace_id);
    assert_eq!(spans.len(), 5, "server, agent, chat, tool, chat");
    for span in &spans {
        assert_eq!(
            attribute(span, "session.id").as_deref(),
            Some("from-caller")
        );
    }
}

#[tokio::test]
async fn a_bad_request_runs_no_turn_and_is_not_a_server_error() {
    let exporter = init_in_memory();
    let trace_id = "6bf92f3577b34da6a3ce929d0e0e4736";
    let (status, _) = post(
        json!({"message": "hi", "sessionId": "not valid!"}),
        &[("traceparent", traceparent(trace_id))],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let spans = spans_of_trace(exporter, trace_id);
    let server = span_named(&spans, "POST /agent");
    // The caller's mistake: no ERROR on a SERVER span (HTTP conventions), and no agent turn.
    assert_eq!(server.status, Status::Unset);
    assert_eq!(
        attribute(server, "http.response.status_code").unwrap(),
        "422"
    );
    assert_eq!(spans.len(), 1);
}
