//! Propagation across languages, with the official OpenTelemetry Python SDK (from PyPI, in a
//! cached virtualenv: tests/interop/venv.sh) on the other side of the wire:
//!
//! 1. a Python client (httpx instrumentation) calls `/ask` inside its own span, with a session in
//!    its baggage: our server span is the child of its client span, and the session reaches the
//!    agent's spans;
//! 2. our orchestrator calls a Python FastAPI stand-in for the agent: its server span is the child
//!    of our client span;
//! 3. both again with `OTEL_PROPAGATORS=b3multi` on every side (Zipkin's headers, no baggage).
//!
//! Every process exports to one fake OTLP receiver, so the test reads one span tree.

use std::{collections::HashMap, path::PathBuf, process::Command, sync::OnceLock, time::Duration};

use e2e::{
    CapturedSpan, FakeOtlp, Service, SpanKind, free_port, requests::orchestrator, stack::Stack,
    workspace_root,
};
use serde_json::{Value, json};

/// The virtualenv's python, created on first use.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let output = Command::new("bash")
                .arg(workspace_root().join("tests/interop/venv.sh"))
                .output()
                .expect("run tests/interop/venv.sh");
            assert!(
                output.status.success(),
                "tests/interop/venv.sh failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
        })
        .clone()
}

fn script(name: &str) -> String {
    workspace_root()
        .join("tests/interop")
        .join(name)
        .display()
        .to_string()
}

/// The environment of a Python process: its exporter and its propagators.
fn python_env(otlp: &FakeOtlp, propagators: &str) -> HashMap<String, String> {
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.base_url()),
        ("OTEL_PROPAGATORS", propagators.to_owned()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn span_named(
    otlp: &FakeOtlp,
    service: &str,
    kind: SpanKind,
    name_starts: &str,
) -> CapturedSpan {
    let find = |spans: &[CapturedSpan]| {
        spans
            .iter()
            .find(|s| s.service == service && s.kind == kind && s.name.starts_with(name_starts))
            .cloned()
    };
    let spans = otlp
        .wait_for(Duration::from_secs(10), |spans| find(spans).is_some())
        .await;
    find(&spans).unwrap()
}

async fn a_python_caller_is_the_parent_of_our_trace(propagators: &str, baggage: bool) {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[("OTEL_PROPAGATORS", propagators)]).await;
    let session = format!("py-conv-{}", free_port());
    let python = python();
    let (url, env) = (
        stack.orchestrator.url("/ask"),
        python_env(&otlp, propagators),
    );
    let run = session.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script("client.py"), url, run])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .output()
            .expect("run client.py")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "client.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["status"], 200, "{result}");

    let python_client = span_named(&otlp, "python-client", SpanKind::Client, "POST").await;
    let trace_id = python_client.trace_id.clone();
    let spans = otlp
        .wait_for(Duration::from_secs(10), |spans| {
            let of_trace = |service: &str| {
                spans
                    .iter()
                    .filter(|s| s.trace_id == trace_id && s.service == service)
                    .count()
            };
            of_trace("agent-service") >= 5 && of_trace("orchestrator") >= 5
        })
        .await;
    let ours = spans
        .iter()
        .find(|s| s.service == "orchestrator" && s.name == "POST /ask")
        .unwrap_or_else(|| panic!("{propagators}: no POST /ask in the Python trace"));
    assert_eq!(ours.trace_id, trace_id, "{propagators}: one trace");
    assert_eq!(
        ours.parent_span_id, python_client.span_id,
        "{propagators}: our server span is the Python client span's child"
    );
    if baggage {
        for span in spans
            .iter()
            .filter(|s| s.trace_id == trace_id && s.service == "agent-service")
        {
            assert_eq!(
                span.str_attr("session.id"),
                Some(session.as_str()),
                "{propagators}: the Python baggage session on {}",
                span.name
            );
        }
        assert_eq!(result["body"]["session_id"], session.as_str());
    }
}

async fn a_python_agent_joins_our_trace(propagators: &str, baggage: bool) {
    let otlp = FakeOtlp::start().await;
    let port = free_port();
    let _python_agent = Service::spawn(
        &python(),
        &[&script("agent.py"), &port.to_string()],
        &python_env(&otlp, propagators),
        port,
        "/health",
    )
    .await;
    let orchestrator = orchestrator(
        &otlp,
        &format!("http://127.0.0.1:{port}"),
        &[("OTEL_PROPAGATORS", propagators)],
    )
    .await;
    let response = reqwest::Client::new()
        .post(orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant", "session_id": "conv-py" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["answer"].as_str().unwrap().contains("Python agent"),
        "{body}"
    );
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();

    let python_server = span_named(&otlp, "python-agent", SpanKind::Server, "POST /agent").await;
    let spans = otlp
        .wait_for(Duration::from_secs(10), |spans| {
            spans
                .iter()
                .any(|s| s.service == "orchestrator" && s.name == "POST /agent")
        })
        .await;
    let client = spans
        .iter()
        .find(|s| s.service == "orchestrator" && s.name == "POST /agent")
        .unwrap();
    assert_eq!(python_server.trace_id, trace_id, "{propagators}: one trace");
    assert_eq!(
        python_server.parent_span_id, client.span_id,
        "{propagators}: the Python server span is our client span's child"
    );
    if baggage {
        assert_eq!(python_server.str_attr("session.id"), Some("conv-py"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_with_w3c_context_and_baggage_is_the_parent_of_our_trace() {
    a_python_caller_is_the_parent_of_our_trace("tracecontext,baggage", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_fastapi_agent_joins_our_trace_over_w3c() {
    a_python_agent_joins_our_trace("tracecontext,baggage", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_b3_python_client_is_the_parent_of_our_trace() {
    a_python_caller_is_the_parent_of_our_trace("b3multi", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_b3_python_fastapi_agent_joins_our_trace() {
    a_python_agent_joins_our_trace("b3multi", false).await;
}
