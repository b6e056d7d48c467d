//! Streamed answers (`"stream": true`) through whole processes: the real-model path against the
//! fake OpenAI server speaking the real chunk format (content deltas, tool-call deltas split
//! across chunks, the usage chunk, `[DONE]`, and a stream cut before it), deadlines, the size
//! cap, and callers that hang up — once, and a thousand times in a row.

use std::time::{Duration, Instant};

use e2e::{
    CapturedSpan, FakeOtlp, SpanKind,
    openai::{Behaviour, FakeOpenAi},
    otlp::AttrValue,
    procfs::{open_fds, vm_rss_kib},
    requests::{agent_with_llm, orchestrator},
    stack::Stack,
    tree::find,
};
use futures::StreamExt;
use serde_json::{Value, json};
use service_kit::testing::{sse_events, streamed_text};

/// POSTs `body` and reads the whole event stream (30 s at most): status, content type, events.
async fn stream_post(url: &str, body: Value) -> (u16, String, Vec<(String, Value)>) {
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the request is answered");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("the stream ends");
    (status, content_type, sse_events(&text))
}

/// POSTs `body`, reads until the first `chunk` event, and hangs up.
async fn hang_up_after_first_chunk(client: &reqwest::Client, url: &str, body: &Value) {
    let response = client
        .post(url)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the request is answered");
    let mut bytes = response.bytes_stream();
    let mut seen = Vec::new();
    while let Some(piece) = bytes.next().await {
        seen.extend_from_slice(&piece.expect("a piece"));
        if seen.windows(12).any(|w| w == b"event: chunk") {
            return;
        }
    }
    panic!("the stream ended before its first chunk");
}

fn finish_reasons(span: &CapturedSpan) -> Value {
    match span.attr("gen_ai.response.finish_reasons") {
        Some(AttrValue::Array(items)) => items.iter().map(|i| json!(i.as_str())).collect(),
        other => panic!("finish reasons of {}: {other:?}", span.name),
    }
}

#[tokio::test]
async fn a_real_model_streams_through_both_services_to_the_last_token() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start().await;
    let capture = [("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")];
    let agent = agent_with_llm(&otlp, &openai, &capture).await;
    let orchestrator = orchestrator(&otlp, &agent.url(""), &capture).await;

    let (status, content_type, events) = stream_post(
        &orchestrator.url("/ask"),
        json!({"question": "Find me a good restaurant", "stream": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/event-stream");
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    assert_eq!(done["answer"], "Real model says: try Trattoria Roma.");
    assert_eq!(
        streamed_text(&events),
        done["answer"],
        "relayed word by word"
    );
    assert!(events.iter().filter(|(e, _)| e == "chunk").count() >= 5);

    // Both calls streamed, asking for the final usage chunk.
    for request in openai.requests() {
        assert_eq!(request.body["stream"], true);
        assert_eq!(request.body["stream_options"]["include_usage"], true);
    }

    let trace_id = done["trace_id"].as_str().unwrap();
    let trace = otlp.wait_for_trace(trace_id, 10).await;
    let chats: Vec<_> = trace.iter().filter(|s| s.name == "chat gpt-test").collect();
    assert_eq!(
        chats.len(),
        2,
        "{:?}",
        trace.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for chat in &chats {
        assert_eq!(
            chat.attr("gen_ai.request.stream"),
            Some(&AttrValue::Bool(true))
        );
        assert!(matches!(
            chat.attr("gen_ai.response.time_to_first_chunk"),
            Some(AttrValue::Double(seconds)) if *seconds >= 0.0
        ));
        // From the usage chunk, which arrives after the finish reason.
        assert!(chat.int_attr("gen_ai.usage.input_tokens").unwrap() > 40);
        assert_eq!(
            chat.str_attr("gen_ai.response.model"),
            Some(e2e::openai::RESPONSE_MODEL)
        );
        assert!(!chat.is_error);
    }
    // The tool call was assembled from its two deltas before the tool ran.
    let tool = find(&trace, "agent-service", "execute_tool web_search");
    assert_eq!(
        tool.json_attr("gen_ai.tool.call.arguments"),
        Some(json!({"query": "good italian restaurant"}))
    );
    // The output message is the reassembled text, as for a call that did not stream.
    let last_chat = chats
        .iter()
        .find(|s| finish_reasons(s) == json!(["stop"]))
        .unwrap();
    let output = last_chat.json_attr("gen_ai.output.messages").unwrap();
    assert_eq!(
        output[0]["parts"][0]["content"],
        "Real model says: try Trattoria Roma."
    );
    for (service, name) in [
        ("orchestrator", "POST /ask"),
        ("agent-service", "POST /agent"),
    ] {
        let server = trace
            .iter()
            .find(|s| s.service == service && s.name == name && s.kind == SpanKind::Server)
            .unwrap();
        assert_eq!(
            server.str_attr("agent_tracing.stream.outcome"),
            Some("completed")
        );
    }
}

#[tokio::test]
async fn a_model_stream_cut_before_done_stalled_or_endless_ends_in_an_error_event() {
    for (behaviour, extra, code, error_type) in [
        (
            Behaviour::StreamCut,
            vec![],
            "llm_stream_truncated",
            "llm_stream_truncated",
        ),
        (
            Behaviour::StreamStall,
            vec![("LLM_STREAM_IDLE_TIMEOUT_MS", "300")],
            "llm_timeout",
            "timeout",
        ),
        (
            Behaviour::StreamEndless,
            vec![],
            "llm_response_too_large",
            "llm_response_too_large",
        ),
    ] {
        let otlp = FakeOtlp::start().await;
        let openai = FakeOpenAi::start_with(behaviour).await;
        let agent = agent_with_llm(&otlp, &openai, &extra).await;
        let started = Instant::now();
        let (status, _, events) = stream_post(
            &agent.url("/agent"),
            json!({"message": "Find me a good restaurant", "stream": true}),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{code}: bounded"
        );
        assert_eq!(status, 200, "{code}: the stream had started");
        let (last, error) = events.last().unwrap();
        assert_eq!(last, "error", "{code}: {events:?}");
        assert_eq!(error["error"]["code"], code);

        let trace = otlp
            .trace_with("POST /agent", |spans| {
                spans.iter().any(|s| s.name == "POST /agent")
                    && spans.iter().any(|s| s.name == "chat gpt-test")
            })
            .await;
        let chat = find(&trace, "agent-service", "chat gpt-test");
        assert!(chat.is_error, "{code}");
        assert_eq!(chat.str_attr("error.type"), Some(error_type), "{code}");
        assert_eq!(finish_reasons(chat), json!(["error"]), "{code}");
        let server = find(&trace, "agent-service", "POST /agent");
        assert!(server.is_error, "{code}: a failed stream is a server error");
        assert_eq!(
            server.str_attr("agent_tracing.stream.outcome"),
            Some("failed")
        );
    }
}

#[tokio::test]
async fn a_caller_that_hangs_up_releases_the_model_s_connection() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::StreamEvery(Duration::from_millis(150))).await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let orchestrator = orchestrator(&otlp, &agent.url(""), &[]).await;
    hang_up_after_first_chunk(
        &reqwest::Client::new(),
        &orchestrator.url("/ask"),
        &json!({"question": "Find me a good restaurant", "stream": true}),
    )
    .await;

    // Hop by hop: our connection, the orchestrator's to the agent, the agent's to the model.
    let started = Instant::now();
    while openai.streams_closed_early() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the model's stream was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let trace = otlp
        .trace_with("POST /ask", |spans| {
            spans.iter().filter(|s| s.kind == SpanKind::Server).count() == 2
                && spans.iter().filter(|s| s.name == "chat gpt-test").count() == 2
        })
        .await;
    for (service, name) in [
        ("orchestrator", "POST /ask"),
        ("agent-service", "POST /agent"),
    ] {
        let server = find(&trace, service, name);
        assert_eq!(
            server.str_attr("agent_tracing.stream.outcome"),
            Some("cancelled"),
            "{name}"
        );
        assert!(!server.is_error, "{name}: a hang-up is not a server error");
    }
    let cut = trace
        .iter()
        .filter(|s| s.name == "chat gpt-test")
        .find(|s| finish_reasons(s) == json!(["error"]))
        .expect("the call that was streaming says it was cut");
    assert!(
        cut.int_attr("gen_ai.usage.output_tokens").is_none(),
        "no usage chunk came"
    );
}

#[tokio::test]
async fn a_thousand_hang_ups_in_a_row_leave_descriptors_and_memory_flat() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[("MOCK_LLM_CHUNK_DELAY_MS", "20")]).await;
    let url = stack.orchestrator.url("/ask");
    let body = json!({"question": "Find me a good restaurant", "stream": true});
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let hang_ups = |n: usize| {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            futures::stream::iter(0..n)
                .for_each_concurrent(16, |_| hang_up_after_first_chunk(&client, &url, &body))
                .await;
            // Let the last cancellations and their spans settle.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let pids = [stack.orchestrator.pid(), stack.agent.pid()];
    let measure = || pids.map(|pid| (open_fds(pid), vm_rss_kib(pid)));

    hang_ups(100).await; // warm-up: pools, allocator, span queues
    let before = measure();
    let started = Instant::now();
    hang_ups(1_000).await;
    let after = measure();
    println!(
        "1,000 hang-ups in {:?}: (fds, RSS KiB) orchestrator {:?} → {:?}, agent {:?} → {:?}",
        started.elapsed(),
        before[0],
        after[0],
        before[1],
        after[1]
    );
    for ((fds_before, rss_before), (fds_after, rss_after)) in before.into_iter().zip(after) {
        assert!(
            fds_after <= fds_before + 4,
            "descriptors grew: {fds_before} → {fds_after}"
        );
        assert!(
            rss_after < rss_before + 16 * 1024,
            "RSS grew by more than 16 MiB: {rss_before} → {rss_after} KiB"
        );
    }
    // Still serving, and every hang-up was traced to its end.
    let (status, _) = stack
        .ask(&json!({"question": "Find me a good restaurant"}), None)
        .await;
    assert_eq!(status, 200);
    let cancelled = otlp
        .wait_for(Duration::from_secs(10), |spans| {
            spans
                .iter()
                .filter(|s| s.str_attr("agent_tracing.stream.outcome") == Some("cancelled"))
                .count()
                >= 2 * 1_100
        })
        .await
        .into_iter()
        .filter(|s| s.str_attr("agent_tracing.stream.outcome") == Some("cancelled"))
        .count();
    assert_eq!(
        cancelled,
        2 * 1_100,
        "both SERVER spans of every hang-up, ended and exported"
    );
}
