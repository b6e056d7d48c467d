//! The in-process tier for a streamed `/ask`: the agent's `app()` on a loopback listener, the
//! orchestrator's driven without a socket, every span of both in the in-memory exporter. The
//! text is relayed hop by hop as the mock model produces it, and a caller that hangs up stops
//! the agent's turn one service away.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, header},
};
use opentelemetry::trace::{SpanKind, Status};
use orchestrator::{AppState, Config, app};
use serde_json::json;
use service_kit::{
    config::EnvConfig,
    testing::{read_to_first_chunk, stream_events, streamed_text, vars},
};
use telemetry::testing::{
    SpanData, attribute, init_in_memory, is_child_of, span_named, spans_of_trace,
};
use tower::ServiceExt;

mod common;

/// The agent service, its mock model streaming a word every `chunk_delay_ms`.
async fn start_agent(chunk_delay_ms: &str) -> String {
    common::start_agent(&[
        ("MOCK_LLM_LATENCY_MS", "0"),
        ("MOCK_LLM_CHUNK_DELAY_MS", chunk_delay_ms),
    ])
    .await
}

fn orchestrator(agent_url: &str) -> axum::Router {
    let config = Config::from_vars(vars(&[
        ("AGENT_SERVICE_URL", agent_url),
        ("AGENT_CONNECT_RETRIES", "0"),
    ]))
    .unwrap();
    app(AppState::new(&config))
}

fn streamed_ask(trace_id: &str) -> Request<Body> {
    Request::post("/ask")
        .header(header::CONTENT_TYPE, "application/json")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(Body::from(
            json!({"question": "Find me a good restaurant", "session_id": "conv-s", "stream": true})
                .to_string(),
        ))
        .unwrap()
}

/// The spans of `trace_id` once both SERVER spans (the last to end in each service) are in.
async fn both_services_done(trace_id: &str) -> Vec<SpanData> {
    for _ in 0..300 {
        let spans = spans_of_trace(init_in_memory(), trace_id);
        let servers = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Server)
            .count();
        if servers == 2 {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the trace never completed");
}

fn server_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no SERVER span {name}"))
}

#[tokio::test]
async fn a_streamed_ask_relays_the_text_hop_by_hop_and_is_one_trace() {
    init_in_memory();
    let trace_id = "6bf92f3577b34da6a3ce929d0e0e4701";
    let agent_url = start_agent("1").await;
    let response = orchestrator(&agent_url)
        .oneshot(streamed_ask(trace_id))
        .await
        .unwrap();
    let events = stream_events(response).await;
    assert!(
        events.iter().filter(|(e, _)| e == "chunk").count() > 3,
        "{events:?}"
    );
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done");
    assert_eq!(done["session_id"], "conv-s");
    assert_eq!(done["trace_id"], trace_id);
    assert_eq!(streamed_text(&events), done["answer"]);

    let spans = both_services_done(trace_id).await;
    let root = server_span(&spans, "POST /ask");
    let agent_server = server_span(&spans, "POST /agent");
    for server in [root, agent_server] {
        assert_eq!(
            attribute(server, "agent_tracing.stream.outcome").as_deref(),
            Some("completed"),
            "{}",
            server.name
        );
    }
    // The same tree as a plain call: the agent's SERVER span under our CLIENT span, under the
    // node that streams; the node lasts until the agent's last event.
    let call_agent = span_named(&spans, "call_agent");
    let client = spans
        .iter()
        .find(|s| s.name == "POST /agent" && s.span_kind == SpanKind::Client)
        .unwrap();
    assert!(is_child_of(client, call_agent));
    assert!(is_child_of(agent_server, client));
    let last_chat = spans
        .iter()
        .filter(|s| s.name == "chat mock-llm")
        .max_by_key(|s| s.end_time)
        .unwrap();
    assert!(
        call_agent.end_time >= last_chat.end_time,
        "the node outlives the last chunk"
    );
    span_named(&spans, "format_response");
    assert!(spans.iter().all(|s| s.status == Status::Unset));
    assert!(
        spans
            .iter()
            .all(|s| attribute(s, "session.id").as_deref() == Some("conv-s"))
    );
}

#[tokio::test]
async fn a_caller_that_hangs_up_stops_the_agent_s_turn_one_service_away() {
    init_in_memory();
    let trace_id = "6bf92f3577b34da6a3ce929d0e0e4702";
    let agent_url = start_agent("100").await;
    let response = orchestrator(&agent_url)
        .oneshot(streamed_ask(trace_id))
        .await
        .unwrap();
    // The first piece of the answer, then hang up.
    read_to_first_chunk(&mut response.into_body()).await;

    let spans = both_services_done(trace_id).await;
    for name in ["POST /ask", "POST /agent"] {
        let server = server_span(&spans, name);
        assert_eq!(
            attribute(server, "agent_tracing.stream.outcome").as_deref(),
            Some("cancelled"),
            "{name}: the hang-up reached it"
        );
        assert_eq!(server.status, Status::Unset, "{name}");
    }
    let cut = spans
        .iter()
        .filter(|s| s.name == "chat mock-llm")
        .max_by_key(|s| s.end_time)
        .unwrap();
    assert_eq!(
        attribute(cut, "gen_ai.response.finish_reasons").unwrap(),
        "[\"error\"]"
    );
    // No step after the cut ran.
    assert!(spans.iter().all(|s| s.name != "format_response"));
}
