//! Recovering and passing on: connect retries ride out an agent restart; an unsampled caller
//! gets no trace id.

use std::time::Duration;

use e2e::{
    FakeOtlp, Service,
    fake_agent::FakeAgent,
    free_port,
    requests::{orchestrator, post_json, service_env},
};
use serde_json::{Value, json};

#[tokio::test]
async fn connect_retries_ride_out_an_agent_restart() {
    let otlp = FakeOtlp::start().await;
    let port = free_port();
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{port}"), &[]).await;
    let url = orchestrator.url("/ask");
    let asked = tokio::spawn(async move { post_json(&url, json!({ "question": "hi" })).await });
    // The agent comes back a second later, as a restarted container would.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut agent_env = service_env(&otlp, &[]);
    agent_env.insert("PORT".into(), port.to_string());
    let _agent = Service::start("agent-service", &agent_env).await;
    let (status, body, elapsed) = asked.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn an_unsampled_request_returns_no_trace_id() {
    let otlp = FakeOtlp::start().await;
    let agent = FakeAgent::start(200, Duration::ZERO).await;
    let orchestrator = orchestrator(&otlp, &agent.url(), &[]).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (flags, expected) in [("00", None), ("01", Some(trace_id))] {
        let response = reqwest::Client::new()
            .post(orchestrator.url("/ask"))
            .header(
                "traceparent",
                format!("00-{trace_id}-00f067aa0ba902b7-{flags}"),
            )
            .json(&json!({ "question": "hi" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["trace_id"].as_str(), expected, "flags {flags}: {body}");
    }
}
