//! Hard edges: what the caller gets and what the trace shows when something downstream fails.
//! Each failure must give a clear JSON error (502/504, never 500), an honest trace (status
//! ERROR and `error.type` where it happened and on every parent), and bounded time.

use std::time::Duration;

use e2e::{
    CapturedSpan, FakeOtlp,
    fake_agent::FakeAgent,
    free_port,
    openai::{Behaviour, FakeOpenAi},
    requests::{FAKE_KEY, agent_with_llm, ask_agent, orchestrator, post_json},
    tree::find,
};
use serde_json::json;

/// Waits for the spans of the one trace that has a span named `root`.
async fn trace_with(otlp: &FakeOtlp, root: &str, at_least: usize) -> Vec<CapturedSpan> {
    otlp.trace_with(root, |spans| {
        spans
            .iter()
            .find(|s| s.name == root)
            .is_some_and(|r| spans.iter().filter(|s| s.trace_id == r.trace_id).count() >= at_least)
    })
    .await
}

fn assert_failed(span: &CapturedSpan, error_type: &str) {
    assert!(span.is_error, "{} should have status ERROR", span.name);
    assert_eq!(
        span.str_attr("error.type"),
        Some(error_type),
        "{}",
        span.name
    );
}

#[tokio::test]
async fn agent_down_is_a_502_after_bounded_connect_retries() {
    let otlp = FakeOtlp::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let orchestrator = orchestrator(&otlp, &dead, &[("AGENT_CONNECT_RETRIES", "2")]).await;
    let (status, body, elapsed) =
        post_json(&orchestrator.url("/ask"), json!({ "question": "hi" })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_unreachable");
    assert!(elapsed < Duration::from_secs(10), "bounded: {elapsed:?}");

    // One CLIENT span per attempt (1 + 2 retries), each failed; the failure climbs the tree.
    let trace = trace_with(&otlp, "POST /ask", 6).await;
    let attempts: Vec<&CapturedSpan> = trace.iter().filter(|s| s.name == "POST /agent").collect();
    assert_eq!(attempts.len(), 3, "attempts: {}", attempts.len());
    for attempt in attempts {
        assert_failed(attempt, "connection_error");
    }
    assert_failed(
        find(&trace, "orchestrator", "call_agent"),
        "agent_unreachable",
    );
    assert_failed(
        find(&trace, "orchestrator", "invoke_workflow ask"),
        "agent_unreachable",
    );
    assert_failed(find(&trace, "orchestrator", "POST /ask"), "502");
    assert_eq!(
        find(&trace, "orchestrator", "POST /ask").int_attr("http.response.status_code"),
        Some(502)
    );
}

#[tokio::test]
async fn a_slow_agent_is_a_504_at_the_configured_timeout_and_not_retried() {
    let otlp = FakeOtlp::start().await;
    let agent = FakeAgent::start(200, Duration::from_secs(5)).await;
    let orchestrator = orchestrator(&otlp, &agent.url(), &[("AGENT_TIMEOUT_MS", "300")]).await;
    let (status, body, elapsed) =
        post_json(&orchestrator.url("/ask"), json!({ "question": "hi" })).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "agent_timeout");
    assert!(
        elapsed < Duration::from_secs(4),
        "the 5 s agent was cut off: {elapsed:?}"
    );
    assert_eq!(
        agent.calls(),
        1,
        "a timed-out call may have run: never retried"
    );

    let trace = trace_with(&otlp, "POST /ask", 4).await;
    assert_failed(find(&trace, "orchestrator", "POST /agent"), "timeout");
    assert_failed(find(&trace, "orchestrator", "call_agent"), "timeout");
    assert_failed(find(&trace, "orchestrator", "POST /ask"), "504");
}

#[tokio::test]
async fn agent_error_statuses_are_502_naming_the_upstream_status() {
    for upstream in [500, 422, 404] {
        let otlp = FakeOtlp::start().await;
        let agent = FakeAgent::start(upstream, Duration::ZERO).await;
        let orchestrator = orchestrator(&otlp, &agent.url(), &[]).await;
        let (status, body, _) =
            post_json(&orchestrator.url("/ask"), json!({ "question": "hi" })).await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], "agent_error");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("HTTP {upstream}")),
            "{body}"
        );
        assert_eq!(agent.calls(), 1, "an answered request is never retried");

        let trace = trace_with(&otlp, "POST /ask", 4).await;
        let client = find(&trace, "orchestrator", "POST /agent");
        assert_failed(client, &upstream.to_string());
        assert_eq!(
            client.int_attr("http.response.status_code"),
            Some(i64::from(upstream))
        );
        assert_failed(
            find(&trace, "orchestrator", "call_agent"),
            "agent_error_status",
        );
    }
}

#[tokio::test]
async fn llm_401_is_a_502_that_never_echoes_the_key() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Error {
        status: 401,
        times: usize::MAX,
    })
    .await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "llm_unauthorized");
    assert_eq!(openai.requests().len(), 1, "a 401 is not retried");

    let trace = trace_with(&otlp, "POST /agent", 3).await;
    assert_failed(
        find(&trace, "agent-service", "chat gpt-test"),
        "llm_unauthorized",
    );
    assert_failed(
        find(&trace, "agent-service", "invoke_agent restaurant-assistant"),
        "llm_unauthorized",
    );
    assert_failed(find(&trace, "agent-service", "POST /agent"), "502");
    // OpenAI's 401 message quotes the key's tail; none of it may leave the service.
    let everything = body.to_string()
        + &agent.output()
        + &trace.iter().map(CapturedSpan::all_text).collect::<String>();
    for fragment in [FAKE_KEY, "4f9a", "Incorrect API key"] {
        assert!(!everything.contains(fragment), "{fragment:?} leaked");
    }
}

#[tokio::test]
async fn llm_429_waits_out_retry_after_then_succeeds() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::RateLimited {
        retry_after_secs: 1,
        times: 1,
    })
    .await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, elapsed) = ask_agent(&agent).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        elapsed >= Duration::from_millis(950),
        "Retry-After: 1 was honoured: {elapsed:?}"
    );
    assert_eq!(openai.requests().len(), 3, "429, then the two chat calls");
}

#[tokio::test]
async fn llm_429_with_a_retry_after_beyond_the_timeout_is_a_bounded_504() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::RateLimited {
        retry_after_secs: 600,
        times: usize::MAX,
    })
    .await;
    let agent = agent_with_llm(&otlp, &openai, &[("LLM_TIMEOUT_MS", "500")]).await;
    let (status, body, elapsed) = ask_agent(&agent).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "llm_timeout");
    assert!(elapsed < Duration::from_secs(5), "not 600 s: {elapsed:?}");
}

#[tokio::test]
async fn llm_5xx_is_retried_then_a_502() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Error {
        status: 503,
        times: usize::MAX,
    })
    .await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "llm_server_error");
    assert_eq!(openai.requests().len(), 3, "one call and two retries");
    let trace = trace_with(&otlp, "POST /agent", 3).await;
    assert_failed(
        find(&trace, "agent-service", "chat gpt-test"),
        "llm_server_error",
    );
}

#[tokio::test]
async fn a_slow_llm_is_a_504() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Slow(Duration::from_secs(10))).await;
    let agent = agent_with_llm(&otlp, &openai, &[("LLM_TIMEOUT_MS", "300")]).await;
    let (status, body, elapsed) = ask_agent(&agent).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "llm_timeout");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let trace = trace_with(&otlp, "POST /agent", 3).await;
    assert_failed(find(&trace, "agent-service", "chat gpt-test"), "timeout");
    assert_failed(find(&trace, "agent-service", "POST /agent"), "504");
}

#[tokio::test]
async fn a_malformed_llm_response_is_a_502() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Malformed).await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "llm_malformed_response");
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_is_a_502_at_the_round_limit() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::EndlessTools).await;
    let agent = agent_with_llm(&otlp, &openai, &[("AGENT_MAX_TOOL_ROUNDS", "2")]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_tool_round_limit");
    assert_eq!(
        openai.requests().len(),
        3,
        "two tool rounds, then the call that broke the limit"
    );
    let trace = trace_with(&otlp, "POST /agent", 7).await;
    assert_failed(
        find(&trace, "agent-service", "invoke_agent restaurant-assistant"),
        "agent_tool_round_limit",
    );
}

#[tokio::test]
async fn a_bad_tool_call_is_reported_to_the_model_and_marked_on_its_span() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::UnknownTool).await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 200, "{body}");
    let requests = openai.requests();
    let tool_result = &requests[1].body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"];
    assert!(
        tool_result
            .as_str()
            .unwrap()
            .contains("unknown tool `rm_rf`"),
        "{tool_result}"
    );
    let trace = trace_with(&otlp, "POST /agent", 5).await;
    let tool = find(&trace, "agent-service", "execute_tool rm_rf");
    assert_failed(tool, "unknown_tool");
    assert!(!find(&trace, "agent-service", "POST /agent").is_error);
}
