//! The W3C propagation rules over the real HTTP path: each row's headers go to the
//! orchestrator's `/ask` (axum extraction), and a stand-in agent records what the orchestrator
//! sent downstream (reqwest-tracing injection). The rows are the unit test's.

#[path = "../../crates/sdk-corrections/tests/support/w3c_cases.rs"]
mod w3c_cases;

use std::time::Duration;

use e2e::{Service, fake_agent::FakeAgent, free_port, requests::vars};
use serde_json::{Value, json};
use w3c_cases::{TRACE, cases};

fn traceparent_fields(value: &str) -> (String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    (parts[1].to_owned(), parts[3].to_owned())
}

#[tokio::test]
async fn every_rule_holds_from_axum_extraction_to_reqwest_injection() {
    let agent = FakeAgent::start(200, Duration::ZERO).await;
    let env = vars(&[
        ("AGENT_SERVICE_URL", &agent.url()),
        // Spans go nowhere; this test reads headers, not spans.
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &format!("http://127.0.0.1:{}", free_port()),
        ),
        ("RUST_LOG", "debug"),
    ]);
    let orchestrator = Service::start("orchestrator", &env).await;
    let client = reqwest::Client::new();

    let mut not_sendable = Vec::new();
    for case in cases() {
        let all_lines = case
            .traceparent
            .iter()
            .chain(&case.tracestate)
            .chain(&case.baggage);
        if !all_lines
            .into_iter()
            .all(|l| reqwest::header::HeaderValue::from_str(l).is_ok())
        {
            not_sendable.push(case.name); // HTTP cannot carry it; the unit test covers it
            continue;
        }
        let mut request = client
            .post(orchestrator.url("/ask"))
            .json(&json!({ "question": "hi", "session_id": "s-1" }));
        for (name, lines) in [
            ("traceparent", &case.traceparent),
            ("tracestate", &case.tracestate),
            ("baggage", &case.baggage),
        ] {
            for line in lines {
                request = request.header(name, line); // appends: repeated names stay separate lines
            }
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "{}: hostile headers never fail the request",
            case.name
        );
        let body: Value = response.json().await.unwrap();
        let sent = agent.last_headers();

        let traceparents: Vec<&str> = sent
            .get_all("traceparent")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            traceparents.len(),
            1,
            "{}: exactly one traceparent downstream",
            case.name
        );
        let (trace_id, flags) = traceparent_fields(traceparents[0]);
        match case.continues_with_flags {
            Some(expected_flags) => {
                assert_eq!(trace_id, TRACE, "{}: the trace continues", case.name);
                // Returned only when it is exported: a not-sampled trace has no id to look up.
                let sampled = u8::from_str_radix(expected_flags, 16).unwrap() & 1 == 1;
                assert_eq!(
                    body["trace_id"].as_str(),
                    sampled.then_some(TRACE),
                    "{}",
                    case.name
                );
                assert_eq!(flags, expected_flags, "{}", case.name);
            }
            None => {
                assert_ne!(trace_id, TRACE, "{}: a new trace starts", case.name);
                assert_eq!(
                    body["trace_id"].as_str(),
                    Some(trace_id.as_str()),
                    "{}",
                    case.name
                );
            }
        }

        let tracestates: Vec<&str> = sent
            .get_all("tracestate")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            tracestates.first().copied(),
            case.tracestate_out.as_deref(),
            "{}",
            case.name
        );
        assert!(tracestates.len() <= 1, "{}", case.name);

        // Downstream baggage: the row's members plus the session the orchestrator adds.
        let mut baggage: Vec<String> = sent
            .get("baggage")
            .map(|v| v.to_str().unwrap().split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        baggage.retain(|m| m != "session.id=s-1");
        let mut expected: Vec<String> = case
            .baggage_out
            .iter()
            .filter(|m| !m.starts_with("session.id="))
            .cloned()
            .collect();
        baggage.sort();
        expected.sort();
        // The session takes one of the 64 places.
        if expected.len() == 64 {
            assert_eq!(baggage.len(), 63, "{}", case.name);
        } else {
            assert_eq!(baggage, expected, "{}", case.name);
        }
    }

    assert_eq!(not_sendable, ["control character discards the list"]);

    // Hostile values are never echoed into the logs.
    let logs = orchestrator.output();
    assert!(
        !logs.contains(&"0".repeat(1000)),
        "a huge header reached the logs"
    );
    assert!(
        !logs.contains("bad key"),
        "a rejected baggage member reached the logs"
    );
}

/// `OTEL_SDK_DISABLED=true` turns spans off, not propagation: a service in the middle of
/// someone else's traced system passes their trace context and baggage on unchanged.
#[tokio::test]
async fn with_the_sdk_disabled_the_callers_context_still_reaches_the_agent() {
    let agent = FakeAgent::start(200, Duration::ZERO).await;
    let env = vars(&[
        ("AGENT_SERVICE_URL", &agent.url()),
        ("OTEL_SDK_DISABLED", "true"),
    ]);
    let orchestrator = Service::start("orchestrator", &env).await;
    let incoming = format!("00-{TRACE}-00f067aa0ba902b7-01");
    let response = reqwest::Client::new()
        .post(orchestrator.url("/ask"))
        .header("traceparent", &incoming)
        .header("tracestate", "congo=t61rcWkgMzE")
        .header("baggage", "userId=alice")
        .json(&json!({ "question": "hi", "session_id": "s-off" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("trace_id").is_none(),
        "nothing of ours is exported: {body}"
    );

    let sent = agent.last_headers();
    let header = |name: &str| {
        sent.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    // No span of ours in between: the caller's span is the agent's parent.
    assert_eq!(header("traceparent"), incoming);
    assert_eq!(header("tracestate"), "congo=t61rcWkgMzE");
    let baggage = header("baggage");
    assert!(baggage.contains("userId=alice"), "{baggage}");
    assert!(baggage.contains("session.id=s-off"), "{baggage}");
}
