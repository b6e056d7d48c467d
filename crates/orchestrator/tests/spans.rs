//! The in-process tier, both services together: the agent's `app()` serves on a loopback
//! listener inside this test, the orchestrator's `app()` is driven without a socket and calls it
//! over real HTTP — so `traceparent` and `baggage` really cross a wire — and every span of both
//! lands in the SDK's in-memory exporter. One request, one trace, checked in milliseconds.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use opentelemetry::trace::{SpanKind, Status};
use orchestrator::{AppState, Config, app};
use serde_json::{Value, json};
use service_kit::config::EnvConfig;
use telemetry::testing::{
    SpanData, attribute, init_in_memory, is_child_of, span_named, spans_of_trace,
};
use tower::ServiceExt;

mod common;

async fn ask(agent_url: &str, body: Value) -> (StatusCode, Value) {
    let config = Config::from_vars([
        ("AGENT_SERVICE_URL".to_owned(), agent_url.to_owned()),
        ("AGENT_CONNECT_RETRIES".to_owned(), "0".to_owned()),
    ])
    .unwrap();
    let request = Request::post("/ask")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app(AppState::new(&config)).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// The spans of the trace `body` names, once all of them have ended (the agent's last span
/// ends on its own task, just after its response).
async fn trace_of(body: &Value, expected: usize) -> Vec<SpanData> {
    let trace_id = body["trace_id"]
        .as_str()
        .expect("a sampled trace has its id");
    for _ in 0..100 {
        let spans = spans_of_trace(init_in_memory(), trace_id);
        if spans.len() >= expected {
            return spans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    spans_of_trace(init_in_memory(), trace_id)
}

#[tokio::test]
async fn one_ask_is_one_trace_across_both_services() {
    init_in_memory();
    // The agent service, its mock model at 0 ms.
    let agent_url = common::start_agent(&[("MOCK_LLM_LATENCY_MS", "0")]).await;
    let (status, body) = ask(
        &agent_url,
        json!({"question": "Find me a good restaurant", "session_id": "conv-9"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let spans = trace_of(&body, 10).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();

    // The orchestrator: its SERVER span is the root, the graph under it, a span per node.
    let root = span_named(&spans, "POST /ask");
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    let workflow = span_named(&spans, "invoke_workflow ask");
    assert!(is_child_of(workflow, root));
    let call_agent = span_named(&spans, "call_agent");
    let format = span_named(&spans, "format_response");
    for (step, number) in [(call_agent, "1"), (format, "2")] {
        assert!(is_child_of(step, workflow), "{}", step.name);
        assert_eq!(attribute(step, "graph.step").unwrap(), number);
    }

    // The crossing: a CLIENT span under call_agent, and the agent's SERVER span under it —
    // the parent the agent extracted is the span the orchestrator injected.
    let client = spans
        .iter()
        .find(|s| s.name == "POST /agent" && s.span_kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("no CLIENT span: {names:?}"));
    let server = spans
        .iter()
        .find(|s| s.name == "POST /agent" && s.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no agent SERVER span: {names:?}"));
    assert!(is_child_of(client, call_agent));
    assert!(
        is_child_of(server, client),
        "the agent's span hangs under ours"
    );
    assert!(server.parent_span_is_remote);
    assert_eq!(attribute(client, "url.template").unwrap(), "/agent");
    assert_eq!(
        attribute(client, "http.response.status_code").unwrap(),
        "200"
    );

    // The agent's turn under its SERVER span.
    let agent = span_named(&spans, "invoke_agent restaurant-assistant");
    assert!(is_child_of(agent, server));
    assert_eq!(
        spans.iter().filter(|s| s.name == "chat mock-llm").count(),
        2
    );
    span_named(&spans, "execute_tool web_search");
    assert_eq!(spans.len(), 10, "five spans in each service: {names:?}");

    // The session crossed in `baggage`: every span of both services carries it.
    for span in &spans {
        assert_eq!(
            attribute(span, "session.id").as_deref(),
            Some("conv-9"),
            "{}",
            span.name
        );
    }
    assert!(spans.iter().all(|s| s.status == Status::Unset));
}

#[tokio::test]
async fn an_agent_that_is_down_fails_the_call_agent_step_and_the_root() {
    init_in_memory();
    // A port nobody listens on: bound, then closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (status, body) = ask(&closed, json!({"question": "hi"})).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "agent_unreachable");
    // An error answer has no trace_id field; find the trace by its root span instead.
    let spans = init_in_memory().get_finished_spans().unwrap();
    let root = spans
        .iter()
        .rev()
        .find(|s| {
            s.name == "POST /ask"
                && attribute(s, "http.response.status_code").as_deref() == Some("502")
        })
        .expect("the failed request's SERVER span");
    let trace = spans_of_trace(init_in_memory(), &root.span_context.trace_id().to_string());
    let step = span_named(&trace, "call_agent");
    assert!(matches!(step.status, Status::Error { .. }));
    assert_eq!(attribute(step, "error.type").unwrap(), "agent_unreachable");
    let client = span_named(&trace, "POST /agent");
    assert_eq!(client.span_kind, SpanKind::Client);
    assert_eq!(attribute(client, "error.type").unwrap(), "connection_error");
    assert!(matches!(root.status, Status::Error { .. }), "a 502 is ours");
}
