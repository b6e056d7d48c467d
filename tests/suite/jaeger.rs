//! A trace UI on the user's machine: Jaeger v2 built from its Go module (`jaeger/build.sh`),
//! fed by the real Collector through the overlay config `otel-collector-config.jaeger.yaml`
//! (`--config` twice, the base config unchanged). Jaeger's own HTTP API must return the trace
//! of one `/ask`: ten spans from both services.

use std::{collections::HashMap, time::Duration};

use e2e::{
    FakeOtlp, Service,
    collector::{Collector, built},
    free_ports,
    stack::Stack,
    tree::SPANS_PER_ASK,
    workspace_root,
};
use serde_json::{Value, json};

/// Jaeger on free local ports: (process, OTLP/HTTP port, query port).
async fn jaeger() -> (Service, u16, u16) {
    let [otlp_http, otlp_grpc, query, query_grpc, health] = free_ports();
    let env: HashMap<String, String> = [
        ("JAEGER_OTLP_HTTP_ENDPOINT", otlp_http),
        ("JAEGER_OTLP_GRPC_ENDPOINT", otlp_grpc),
        ("JAEGER_QUERY_ENDPOINT", query),
        ("JAEGER_QUERY_GRPC_ENDPOINT", query_grpc),
        ("JAEGER_HEALTH_ENDPOINT", health),
    ]
    .into_iter()
    .map(|(k, port)| (k.to_owned(), format!("127.0.0.1:{port}")))
    .chain([("OTEL_TRACES_EXPORTER".to_owned(), "none".to_owned())])
    .collect();
    let config = format!(
        "--config={}",
        workspace_root().join("jaeger/config.yaml").display()
    );
    let process = Service::spawn(
        &built("jaeger/build.sh"),
        &[&config],
        &env,
        health,
        "/status",
    )
    .await;
    (process, otlp_http, query)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jaeger_returns_the_whole_trace_of_an_ask_through_the_collector_overlay() {
    let (_jaeger, jaeger_otlp, query) = jaeger().await;
    let galileo = FakeOtlp::galileo("/otel/traces", "key").await;
    let collector = Collector::start_with(
        &galileo.traces_url(),
        "key",
        "p",
        "l",
        &[workspace_root().join("otel-collector-config.jaeger.yaml")],
        &[(
            "JAEGER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{jaeger_otlp}"),
        )],
    )
    .await;
    let stack = Stack::start(&format!("http://127.0.0.1:{}", collector.ports.http), &[]).await;
    let (status, body) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();

    // Jaeger's API, as its UI asks it: GET /api/traces/{id}.
    let url = format!("http://127.0.0.1:{query}/api/traces/{trace_id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let trace = loop {
        let response = reqwest::get(&url).await.unwrap();
        let found: Value = if response.status().is_success() {
            response.json().await.unwrap()
        } else {
            Value::Null
        };
        let spans = found["data"][0]["spans"].as_array().map_or(0, Vec::len);
        if spans >= SPANS_PER_ASK || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let data = &trace["data"][0];
    assert_eq!(data["traceID"], trace_id, "{trace}");
    assert_eq!(
        data["spans"].as_array().map(Vec::len),
        Some(SPANS_PER_ASK),
        "{trace}"
    );
    let mut services: Vec<&str> = data["processes"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|p| p["serviceName"].as_str())
        .collect();
    services.sort_unstable();
    services.dedup();
    assert_eq!(services, ["agent-service", "orchestrator"]);
    // The base pipeline is untouched: Galileo got the same trace.
    let at_galileo = galileo.wait_for_trace(&trace_id, SPANS_PER_ASK).await;
    assert_eq!(at_galileo.len(), SPANS_PER_ASK);
}
