//! What never leaves a service: internal addresses, echoed input, provider text, secrets — and
//! repeated failures logged at a bounded rate.

use std::time::Duration;

use axum::{http::header, response::IntoResponse};
use e2e::{
    CapturedSpan, FakeOtlp, Service,
    openai::{Behaviour, FakeOpenAi},
    requests::{FAKE_KEY, agent_with_llm, ask_agent, orchestrator, post_json, service_env},
};
use serde_json::{Value, json};

use super::{agent_answering, ask, dead_agent};

/// What must never be in an error body: where our services live.
fn assert_no_address(body: &Value) {
    let text = body.to_string();
    for leak in ["127.0.0.1", "http://", "localhost", "/agent)"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
}

#[tokio::test]
async fn error_bodies_carry_codes_not_internal_addresses() {
    fn not_json() -> axum::response::Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"answer\": ",
        )
            .into_response()
    }
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(not_json).await;
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{}", agent.port), &[]).await;
    let (status, body, _) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_invalid_response");
    assert_no_address(&body);
    // The detail is the operator's: in the log, not the body.
    assert!(
        orchestrator
            .printed("not an /agent answer", Duration::from_secs(3))
            .await,
        "{}",
        orchestrator.output()
    );

    let down = self::orchestrator(&otlp, &dead_agent(), &[("AGENT_CONNECT_RETRIES", "0")]).await;
    let (status, body, _) = ask(&down).await;
    assert_eq!(status, 502, "{body}");
    assert_no_address(&body);
}

#[tokio::test]
async fn error_messages_never_echo_the_request() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(&otlp, &dead_agent(), &[]).await;
    let agent = Service::start("agent-service", &service_env(&otlp, &[])).await;
    let hostile = "<img src=x onerror=alert(1)>\nX-Forged: yes";
    for (url, bodies) in [
        (
            orchestrator.url("/ask"),
            vec![
                json!({ "question": "hi", hostile: 1 }),
                json!({ "question": hostile.len() }),
                json!([hostile]),
            ],
        ),
        (
            agent.url("/agent"),
            vec![
                json!({ "message": "hi", hostile: 1 }),
                json!({ "message": [hostile] }),
            ],
        ),
    ] {
        for request in bodies {
            let (status, body, _) = post_json(&url, request.clone()).await;
            assert_eq!(status, 422, "{request}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            for echoed in [
                "<img",
                "onerror",
                "X-Forged",
                "\n",
                &hostile.len().to_string(),
            ] {
                assert!(!message.contains(echoed), "{echoed:?} echoed: {message}");
            }
        }
    }
}

/// Everything the agent printed and exported for this run (once its failure line is out).
async fn everything(agent: &Service, otlp: &FakeOtlp) -> String {
    assert!(
        agent
            .printed("request failed", Duration::from_secs(5))
            .await
    );
    let spans = otlp
        .wait_for(Duration::from_secs(5), |spans| {
            spans.iter().any(|s| s.name == "POST /agent")
        })
        .await;
    agent.output() + &spans.iter().map(CapturedSpan::all_text).collect::<String>()
}

#[tokio::test]
async fn provider_text_never_reaches_logs_or_spans_raw() {
    let cases = [
        // A 4xx whose code carries a newline that would forge a log line.
        Behaviour::ProviderText {
            status: 400,
            code: "bad\nERROR forged: provider line".into(),
            message: "PROVIDER-4XX-TEXT".into(),
        },
        // A 5xx whose body async-openai logs raw at WARN (retried twice).
        Behaviour::ProviderText {
            status: 503,
            code: "overloaded".into(),
            message: "PROVIDER-5XX-TEXT quoting the user's prompt".into(),
        },
        // A 200 it cannot parse, which async-openai logs whole at ERROR.
        Behaviour::MalformedWith("PROVIDER-MALFORMED-TEXT".into()),
    ];
    for behaviour in cases {
        let otlp = FakeOtlp::start().await;
        let openai = FakeOpenAi::start_with(behaviour.clone()).await;
        let agent = agent_with_llm(&otlp, &openai, &[]).await; // content capture off: the default
        let (status, body, _) = ask_agent(&agent).await;
        assert_eq!(status, 502, "{behaviour:?}: {body}");
        let seen = everything(&agent, &otlp).await + &body.to_string();
        for leak in ["PROVIDER-", "Find me a good restaurant", FAKE_KEY] {
            assert!(
                !seen.contains(leak),
                "{behaviour:?}: {leak:?} leaked:\n{seen}"
            );
        }
        assert!(
            !agent
                .output()
                .lines()
                .any(|l| l.starts_with("ERROR forged")),
            "a forged log line:\n{}",
            agent.output()
        );
    }
}

#[tokio::test]
async fn repeated_failures_are_logged_at_a_bounded_rate() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(&otlp, &dead_agent(), &[("AGENT_CONNECT_RETRIES", "1")]).await;
    let before = orchestrator.output().lines().count();
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let response = client
            .post(orchestrator.url("/ask"))
            .json(&json!({ "question": "hi" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
    }
    assert!(
        orchestrator
            .printed("agent_unreachable", Duration::from_secs(3))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let output = orchestrator.output();
    let lines = output.lines().count() - before;
    assert!(
        lines <= 5,
        "100 identical failures wrote {lines} lines:\n{output}"
    );
}
