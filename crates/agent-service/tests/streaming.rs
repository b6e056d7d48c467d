//! The in-process tier for streamed answers (`"stream": true`): the events, and the spans of a
//! stream that completes, one whose caller hangs up, and one whose model stalls.

use std::time::Duration;

use agent_service::{AppState, Config, app};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use opentelemetry::trace::Status;
use serde_json::{Value, json};
use service_kit::{
    config::EnvConfig,
    testing::{read_to_first_chunk, stream_events, streamed_text, vars},
};
use telemetry::testing::{SpanData, attribute, init_in_memory, span_named, spans_of_trace};
use tower::ServiceExt;

fn app_with(pairs: &[(&str, &str)]) -> axum::Router {
    app(AppState::new(&Config::from_vars(vars(pairs)).unwrap()))
}

/// A streamed turn on an app configured by `pairs`, in trace `trace_id`: the response.
async fn stream_turn(pairs: &[(&str, &str)], trace_id: &str) -> axum::response::Response {
    app_with(pairs)
        .oneshot(request(
            trace_id,
            json!({"message": "Find me a good restaurant", "stream": true}),
        ))
        .await
        .unwrap()
}

fn request(trace_id: &str, body: Value) -> Request<Body> {
    Request::post("/agent")
        .header(header::CONTENT_TYPE, "application/json")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The spans of `trace_id` once `done` says they have all ended (the stream's task ends just
/// after its last event, its spans as it ends).
async fn spans_when(trace_id: &str, done: impl Fn(&[SpanData]) -> bool) -> Vec<SpanData> {
    for _ in 0..300 {
        let spans = spans_of_trace(init_in_memory(), trace_id);
        if done(&spans) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "spans never complete: {:?}",
        spans_of_trace(init_in_memory(), trace_id)
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    );
}

fn has_server_span(spans: &[SpanData]) -> bool {
    spans.iter().any(|s| s.name == "POST /agent")
}

#[tokio::test]
async fn a_streamed_turn_sends_the_text_as_it_comes_then_done_and_traces_every_chunk() {
    init_in_memory();
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4701";
    let app = app_with(&[
        ("MOCK_LLM_LATENCY_MS", "0"),
        ("MOCK_LLM_CHUNK_DELAY_MS", "1"),
    ]);
    let response = app
        .oneshot(request(
            trace_id,
            json!({"message": "Find me a good restaurant", "sessionId": "s-1", "stream": true}),
        ))
        .await
        .unwrap();
    let events = stream_events(response).await;

    let chunks = events.iter().filter(|(e, _)| e == "chunk").count();
    assert!(chunks > 3, "the answer came in pieces: {events:?}");
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    assert_eq!(done["sessionId"], "s-1");
    assert!(done["answer"].as_str().unwrap().contains("Trattoria Roma"));
    assert_eq!(
        streamed_text(&events),
        done["answer"],
        "the pieces are the answer"
    );

    let spans = spans_when(trace_id, has_server_span).await;
    let server = span_named(&spans, "POST /agent");
    assert_eq!(
        attribute(server, "agent_tracing.stream.outcome").unwrap(),
        "completed"
    );
    assert_eq!(server.status, Status::Unset);
    let chats: Vec<_> = spans.iter().filter(|s| s.name == "chat mock-llm").collect();
    assert_eq!(chats.len(), 2, "chat → tool → chat, both streamed");
    for (chat, reason) in chats.iter().zip(["tool_calls", "stop"]) {
        assert_eq!(attribute(chat, "gen_ai.request.stream").unwrap(), "true");
        let first: f64 = attribute(chat, "gen_ai.response.time_to_first_chunk")
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..5.0).contains(&first), "{first}");
        assert_eq!(
            attribute(chat, "gen_ai.response.finish_reasons").unwrap(),
            format!("[\"{reason}\"]")
        );
        assert!(attribute(chat, "gen_ai.usage.output_tokens").is_some());
        // The last chunk ended the span, not the first.
        assert!(chat.end_time > chat.start_time);
    }
    let tool = span_named(&spans, "execute_tool web_search");
    assert!(
        tool.start_time >= chats[0].end_time,
        "the tool ran once the call was assembled"
    );
    // The final chat span ended after its last piece was relayed, inside the server span.
    assert!(chats[1].end_time <= server.end_time);
}

#[tokio::test]
async fn a_caller_that_hangs_up_mid_stream_stops_the_turn_and_every_span_still_ends() {
    init_in_memory();
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4702";
    // Slow pieces, so the caller is surely gone before the answer is.
    let response = stream_turn(
        &[
            ("MOCK_LLM_LATENCY_MS", "0"),
            ("MOCK_LLM_CHUNK_DELAY_MS", "200"),
        ],
        trace_id,
    )
    .await;
    // The first piece of the answer, then hang up.
    read_to_first_chunk(&mut response.into_body()).await;

    let spans = spans_when(trace_id, has_server_span).await;
    let server = span_named(&spans, "POST /agent");
    assert_eq!(
        attribute(server, "agent_tracing.stream.outcome").unwrap(),
        "cancelled"
    );
    assert_eq!(
        server.status,
        Status::Unset,
        "a caller's hang-up is not a server error"
    );
    // Every span of the turn ended (the exporter only has ended spans), the cut one says so.
    let agent = span_named(&spans, "invoke_agent restaurant-assistant");
    let chats: Vec<_> = spans.iter().filter(|s| s.name == "chat mock-llm").collect();
    assert_eq!(
        chats.len(),
        2,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let cut = chats[1];
    assert_eq!(
        attribute(cut, "gen_ai.response.finish_reasons").unwrap(),
        "[\"error\"]"
    );
    assert_eq!(cut.status, Status::Unset);
    assert!(
        attribute(cut, "gen_ai.usage.output_tokens").is_none(),
        "no usage was sent"
    );
    assert!(cut.end_time <= agent.end_time);
    // Generation stopped: the cut call ended well before its remaining pieces would have.
    let streamed_for = cut.end_time.duration_since(cut.start_time).unwrap();
    assert!(streamed_for < Duration::from_secs(2), "{streamed_for:?}");
}

#[tokio::test]
async fn a_model_that_stalls_mid_stream_is_cut_at_the_idle_deadline_with_an_error_event() {
    init_in_memory();
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4703";
    // A piece every 500 ms against an idle deadline of 100 ms: the model "stalls".
    let response = stream_turn(
        &[
            ("MOCK_LLM_LATENCY_MS", "0"),
            ("MOCK_LLM_CHUNK_DELAY_MS", "500"),
            ("LLM_STREAM_IDLE_TIMEOUT_MS", "100"),
        ],
        trace_id,
    )
    .await;
    let events = stream_events(response).await;
    let (last, error) = events.last().unwrap();
    assert_eq!(last, "error", "{events:?}");
    assert_eq!(error["error"]["code"], "llm_timeout");
    assert!(!events.iter().any(|(e, _)| e == "done"));

    let spans = spans_when(trace_id, has_server_span).await;
    let server = span_named(&spans, "POST /agent");
    assert_eq!(
        attribute(server, "agent_tracing.stream.outcome").unwrap(),
        "failed"
    );
    assert!(matches!(server.status, Status::Error { .. }));
    assert_eq!(attribute(server, "error.type").unwrap(), "llm_timeout");
    let chat = spans
        .iter()
        .find(|s| s.name == "chat mock-llm")
        .expect("the stalled call's span");
    assert!(matches!(chat.status, Status::Error { .. }));
    assert_eq!(attribute(chat, "error.type").unwrap(), "timeout");
    assert_eq!(
        attribute(chat, "gen_ai.response.finish_reasons").unwrap(),
        "[\"error\"]"
    );
}

#[tokio::test]
async fn a_bad_streamed_request_is_still_a_plain_json_4xx() {
    let app = app_with(&[("MOCK_LLM_LATENCY_MS", "0")]);
    let (status, body) = service_kit::testing::send(
        app,
        "POST",
        "/agent",
        json!({"message": "  ", "stream": true}).to_string(),
        Some("application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_message");
}

#[tokio::test]
async fn a_thousand_hang_ups_leave_no_task_behind() {
    init_in_memory();
    let app = app_with(&[
        ("MOCK_LLM_LATENCY_MS", "0"),
        ("MOCK_LLM_CHUNK_DELAY_MS", "5"),
    ]);
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    for _ in 0..1_000 {
        let response = app
            .clone()
            .oneshot(request(
                "5bf92f3577b34da6a3ce929d0e0e4704",
                json!({"message": "Find me a good restaurant", "stream": true}),
            ))
            .await
            .unwrap();
        let mut body = response.into_body();
        // The first frame (a chunk or a keep-alive), then hang up.
        body.frame().await.unwrap().unwrap();
    }
    let started = std::time::Instant::now();
    while metrics.num_alive_tasks() > baseline {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} tasks still alive after 1,000 hang-ups (baseline {baseline})",
            metrics.num_alive_tasks()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
