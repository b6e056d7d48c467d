//! What comes back from upstream (the agent, the model) is bounded: endless and trickling
//! bodies, redirects.

use std::time::Duration;

use axum::{
    Router,
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::IntoResponse,
    routing,
};
use e2e::{
    FakeOtlp,
    fake_agent::FakeAgent,
    openai::{Behaviour, FakeOpenAi},
    process::Background,
    procfs::vm_rss_kib,
    requests::{agent_with_llm, ask_agent, orchestrator},
    tree::find,
};

use super::{agent_answering, ask};

fn endless_body() -> axum::response::Response {
    let chunks = futures::stream::repeat_with(|| {
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 * 1024]))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

#[tokio::test]
async fn an_endless_agent_body_is_a_502_without_growing_memory() {
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(endless_body).await;
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{}", agent.port), &[]).await;
    let (status, body, elapsed) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_response_too_large");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let rss = vm_rss_kib(orchestrator.pid());
    assert!(rss < 100 * 1024, "orchestrator RSS {rss} KiB");
    let spans = otlp
        .wait_for(Duration::from_secs(5), |spans| {
            spans.iter().any(|s| s.name == "call_agent")
        })
        .await;
    let call = find(&spans, "orchestrator", "call_agent");
    assert_eq!(
        call.str_attr("error.type"),
        Some("agent_response_too_large")
    );
}

#[tokio::test]
async fn an_agent_body_that_trickles_past_the_timeout_is_a_504() {
    fn trickle() -> axum::response::Response {
        let chunks = futures::stream::unfold(0, |n| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            (n < 100).then(|| (Ok::<_, std::io::Error>(Bytes::from_static(b" ")), n + 1))
        });
        (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from_stream(chunks),
        )
            .into_response()
    }
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(trickle).await;
    let orchestrator = orchestrator(
        &otlp,
        &format!("http://127.0.0.1:{}", agent.port),
        &[("AGENT_TIMEOUT_MS", "1000")],
    )
    .await;
    let (status, body, elapsed) = ask(&orchestrator).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "agent_timeout");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_redirecting_agent_is_a_502_and_the_redirect_is_not_followed() {
    let elsewhere = FakeAgent::start(200, Duration::ZERO).await;
    let target = format!("{}/agent", elsewhere.url());
    let redirecting = Background::serve(Router::new().route(
        "/agent",
        routing::post(move || {
            let target = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }
        }),
    ))
    .await;
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(
        &otlp,
        &format!("http://127.0.0.1:{}", redirecting.port),
        &[],
    )
    .await;
    let (status, body, _) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_error");
    assert_eq!(
        elsewhere.calls(),
        0,
        "the question went to the redirect target"
    );
}

/// What must never be in an error body: where our services live.

#[tokio::test]
async fn an_endless_model_body_is_a_502_without_growing_memory() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Endless).await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, elapsed) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "llm_response_too_large");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let rss = vm_rss_kib(agent.pid());
    assert!(rss < 100 * 1024, "agent RSS {rss} KiB");
}
