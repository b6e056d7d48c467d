//! Log lines, on the console and as OTLP log records: both carry the trace and span id of the
//! request that logged them, and neither carries what the user asked.

use std::time::Duration;

use e2e::{FakeOtlp, free_port, requests::orchestrator};
use serde_json::{Value, json};

const QUESTION: &str = "Which restaurant has the secret menu xyzzy-7781?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_logs_with_its_trace_ids_on_the_console_and_over_otlp() {
    let otlp = FakeOtlp::start().await;
    // No agent: the request fails with 502 and the orchestrator logs the failure.
    let dead_agent = format!("http://127.0.0.1:{}", free_port());
    let mut service = orchestrator(
        &otlp,
        &dead_agent,
        &[("AGENT_CONNECT_RETRIES", "0"), ("LOG_FORMAT", "json")],
    )
    .await;
    let response = reqwest::Client::new()
        .post(service.url("/ask"))
        .json(&json!({ "question": QUESTION }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(service.stop(Duration::from_secs(20)).await.success());

    let server_span = otlp
        .spans()
        .into_iter()
        .find(|s| s.name == "POST /ask")
        .expect("the request's server span");
    let trace_id = server_span.trace_id.clone();

    // The console line, JSON, with the ids of a span of that trace.
    let output = service.output();
    let line: Value = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("request failed"))
        })
        .unwrap_or_else(|| panic!("a JSON `request failed` line:\n{output}"));
    assert_eq!(line["trace_id"], trace_id, "{line}");
    let span_ids: Vec<String> = otlp
        .spans()
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .map(|s| s.span_id.clone())
        .collect();
    assert!(
        span_ids.contains(&line["span_id"].as_str().unwrap_or_default().to_owned()),
        "{line} in {span_ids:?}"
    );

    // The same event as an OTLP log record, stamped with the same trace.
    let records = otlp.log_records();
    let failed = records
        .iter()
        .find(|r| format!("{:?}", r.body).contains("request failed"))
        .unwrap_or_else(|| panic!("a `request failed` record among {records:?}"));
    assert_eq!(hex(&failed.trace_id), trace_id);
    assert_eq!(failed.severity_text, "ERROR");
    assert!(
        records
            .iter()
            .any(|r| format!("{:?}", r.body).contains("listening")),
        "start-up lines are records too (without a trace)"
    );

    // Content capture is off (the default): the question is in no line and no record.
    assert!(!output.contains("xyzzy-7781"), "{output}");
    assert!(
        !format!("{records:?}").contains("xyzzy-7781"),
        "a log record carries the question"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_carry_the_ids_too_and_a_bad_log_format_stops_the_start() {
    let otlp = FakeOtlp::start().await;
    let dead_agent = format!("http://127.0.0.1:{}", free_port());
    let mut service = orchestrator(&otlp, &dead_agent, &[("AGENT_CONNECT_RETRIES", "0")]).await;
    let response = reqwest::Client::new()
        .post(service.url("/ask"))
        .json(&json!({ "question": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(service.stop(Duration::from_secs(20)).await.success());
    let output = service.output();
    let line = output
        .lines()
        .find(|l| l.contains("request failed"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(
        line.contains(" trace_id=") && line.contains(" span_id="),
        "{line}"
    );
    let startup = output.lines().find(|l| l.contains("listening")).unwrap();
    assert!(
        !startup.contains("trace_id="),
        "outside a request: no ids: {startup}"
    );

    let (status, output) = e2e::run_to_exit(
        "orchestrator",
        &e2e::requests::vars(&[("LOG_FORMAT", "yaml")]),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(output.contains("LOG_FORMAT"), "{output}");
}
