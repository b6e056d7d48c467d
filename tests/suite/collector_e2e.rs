//! The path `docker compose up` runs, without Docker: the real Collector binary with the real
//! config, both services as processes with the environment docker-compose.yml gives them
//! (service host names mapped to 127.0.0.1), and a fake Galileo that speaks OTLP/HTTP.

use std::{collections::HashMap, time::Duration};

use e2e::{
    CapturedSpan, FakeOtlp, Service,
    collector::{Collector, collector_binary, config_path},
    compose::Compose,
    tree::{SPANS_PER_ASK, assert_ask_tree, assert_galileo_minimums, of_trace},
};
use serde_json::{Value, json};

const GALILEO_KEY: &str = "galileo-e2e-key-1f2e3d4c5b6a";
/// What the otlp_http exporter logs when Galileo refuses a batch (quoted in docs/troubleshooting.md).
const REFUSED: &str = "responded with HTTP Status Code 401";

/// Rewrites `http://<service>:<port>` in compose values to where that service really listens.
fn map_hosts(env: &mut HashMap<String, String>, hosts: &[(&str, u16, u16)]) {
    for value in env.values_mut() {
        for (service, compose_port, real_port) in hosts {
            *value = value.replace(
                &format!("http://{service}:{compose_port}"),
                &format!("http://127.0.0.1:{real_port}"),
            );
        }
    }
}

struct Stack {
    collector: Collector,
    agent: Service,
    orchestrator: Service,
}

async fn start_stack(galileo: &FakeOtlp, api_key: &str) -> Stack {
    let collector =
        Collector::start(&galileo.traces_url(), api_key, "e2e-project", "e2e-stream").await;
    let compose = Compose::load();
    // What a .env would hold for a fast test run.
    let dotenv = HashMap::from([("MOCK_LLM_LATENCY_MS", "0")]);
    let collector_hosts = [
        ("otel-collector", 4318, collector.ports.http),
        ("otel-collector", 4317, collector.ports.grpc),
    ];

    let mut agent_env = compose.environment("agent-service", &dotenv);
    agent_env.remove("PORT");
    map_hosts(&mut agent_env, &collector_hosts);
    agent_env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    let agent = Service::start("agent-service", &agent_env).await;

    let mut orchestrator_env = compose.environment("orchestrator", &dotenv);
    orchestrator_env.remove("PORT");
    map_hosts(&mut orchestrator_env, &collector_hosts);
    map_hosts(
        &mut orchestrator_env,
        &[("agent-service", 3000, agent.port)],
    );
    orchestrator_env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    let orchestrator = Service::start("orchestrator", &orchestrator_env).await;
    Stack {
        collector,
        agent,
        orchestrator,
    }
}

async fn ask(stack: &Stack) -> Value {
    let response = reqwest::Client::new()
        .post(stack.orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The spans of `trace_id` at the fake Galileo, once the whole `/ask` tree arrived (20 s at most).
async fn galileo_trace(galileo: &FakeOtlp, trace_id: &str) -> Vec<CapturedSpan> {
    let spans = galileo
        .wait_for(Duration::from_secs(20), |s| {
            of_trace(s, trace_id).len() >= SPANS_PER_ASK
        })
        .await;
    of_trace(&spans, trace_id)
}

#[tokio::test]
async fn a_trace_crosses_both_services_and_the_collector_to_galileo() {
    let galileo = FakeOtlp::galileo("/otel/traces", GALILEO_KEY).await;
    let stack = start_stack(&galileo, GALILEO_KEY).await;
    let body = ask(&stack).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();

    let trace = galileo_trace(&galileo, &trace_id).await;
    assert_ask_tree(&trace);
    // Compose switches content capture on, so every agent, LLM and tool span is one Galileo
    // renders as such a step, with its input and output.
    assert_galileo_minimums(&trace);

    // Galileo's headers carried the configured values, and every request was accepted.
    let requests = galileo.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.status, 200);
        assert_eq!(request.headers["galileo-api-key"], GALILEO_KEY);
        assert_eq!(request.headers["project"], "e2e-project");
        assert_eq!(request.headers["logstream"], "e2e-stream");
        assert_eq!(request.headers["content-type"], "application/x-protobuf");
    }

    // The debug exporter printed the same trace.
    let output = stack.collector.output();
    assert!(
        output.contains(&trace_id),
        "debug output lacks the trace:\n{output}"
    );
    assert!(
        output.contains("invoke_agent restaurant-assistant"),
        "{output}"
    );

    // The same question streamed: the same tree reaches Galileo, every streamed chat span
    // valid there (its input, and its output reassembled from the chunks).
    let response = reqwest::Client::new()
        .post(stack.orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant", "stream": true }))
        .send()
        .await
        .unwrap();
    let events = service_kit::testing::sse_events(&response.text().await.unwrap());
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{events:?}");
    let trace_id = done["trace_id"].as_str().unwrap().to_owned();
    let trace = galileo_trace(&galileo, &trace_id).await;
    assert_ask_tree(&trace);
    assert_galileo_minimums(&trace);
    let streamed = trace
        .iter()
        .filter(|s| s.str_attr("gen_ai.operation.name") == Some("chat"))
        .filter(|s| s.attr("gen_ai.request.stream") == Some(&e2e::otlp::AttrValue::Bool(true)))
        .count();
    assert_eq!(streamed, 2, "both chat calls streamed");
    drop(stack.agent);
}

#[tokio::test]
async fn without_a_galileo_key_ask_works_and_the_collector_logs_the_401() {
    let galileo = FakeOtlp::galileo("/otel/traces", GALILEO_KEY).await;
    let stack = start_stack(&galileo, "").await;
    let body = ask(&stack).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    assert!(body["answer"].as_str().unwrap().contains("Trattoria Roma"));

    // Galileo refused every batch...
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while galileo.requests().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = galileo.requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.status == 401));
    assert!(galileo.spans().is_empty());

    // ...the Collector said so, and the debug exporter still printed the trace.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let output = stack.collector.output();
        if (output.contains(REFUSED) && output.contains(&trace_id))
            || std::time::Instant::now() > deadline
        {
            assert!(
                output.contains(REFUSED),
                "no 401 in the Collector's log:\n{output}"
            );
            assert!(
                output.contains(&trace_id),
                "debug output lacks the trace:\n{output}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `otelcol validate` with these configs, in order (a later one overlays the earlier).
/// Every way the configs are combined — the single Collector, the Jaeger overlay, the fleet's
/// agent tier (DNS in compose and Kubernetes, a static list natively) and its gateways — as
/// compose, Kubernetes and `scripts/run-native` run them.
const COMBINATIONS: [&[&str]; 6] = [
    &[],
    &["otel-collector-config.jaeger.yaml"],
    &["otel-collector-config.fleet.yaml"],
    &[
        "otel-collector-config.fleet.yaml",
        "collector/static-gateways.yaml",
    ],
    &["otel-collector-config.gateway.yaml"],
    &[
        "otel-collector-config.gateway.yaml",
        "otel-collector-config.jaeger.yaml",
    ],
];

/// `otelcol validate` decodes every component's settings, as a start would (a DNS resolver's
/// port given as a number instead of a string fails here, not in compose).
#[test]
fn otelcol_validate_accepts_every_combination_of_the_configs() {
    for overlays in COMBINATIONS {
        let output = std::process::Command::new(collector_binary())
            .arg("validate")
            .args(
                std::iter::once(config_path())
                    .chain(overlays.iter().map(|o| e2e::workspace_root().join(o)))
                    .map(|c| format!("--config={}", c.display())),
            )
            .env("OTELCOL_GATEWAYS", "[127.0.0.1:4417, 127.0.0.1:4427]")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "otelcol validate {overlays:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_built_collector_has_exactly_the_components_the_config_uses() {
    let output = std::process::Command::new(collector_binary())
        .arg("components")
        .output()
        .unwrap();
    let components: serde_yaml::Value = serde_yaml::from_slice(&output.stdout).unwrap();
    let names = |kind: &str| -> Vec<String> {
        let mut names: Vec<String> = components[kind]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    // What the configs name, across all of them: nothing built that none uses.
    let configs: Vec<serde_yaml::Value> = COMBINATIONS
        .iter()
        .flat_map(|overlays| overlays.iter())
        .map(|o| e2e::workspace_root().join(o))
        .chain(std::iter::once(config_path()))
        .map(|path| serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect();
    let used = |kind: &str| -> Vec<String> {
        let mut types: Vec<String> = configs
            .iter()
            .flat_map(|config| config[kind].as_mapping().into_iter().flatten())
            .map(|(id, _)| id.as_str().unwrap().split('/').next().unwrap().to_owned())
            .collect();
        types.sort();
        types.dedup();
        types
    };
    for kind in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ] {
        assert_eq!(names(kind), used(kind), "{kind}: built vs used");
    }
    assert_eq!(
        components["buildinfo"]["version"].as_str(),
        Some(collector_version())
    );
}

/// The version in the ocb manifest.
fn collector_version() -> &'static str {
    let manifest =
        std::fs::read_to_string(e2e::workspace_root().join("collector/builder-config.yaml"))
            .unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&manifest).unwrap();
    Box::leak(
        doc["dist"]["version"]
            .as_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    )
}

#[tokio::test]
async fn services_can_export_over_grpc_to_the_collector() {
    let galileo = FakeOtlp::galileo("/otel/traces", GALILEO_KEY).await;
    let collector = Collector::start(&galileo.traces_url(), GALILEO_KEY, "p", "l").await;
    let grpc = format!("http://127.0.0.1:{}", collector.ports.grpc);
    let stack = e2e::stack::Stack::start(&grpc, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).await;
    let (status, body) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let trace_id = body["trace_id"].as_str().unwrap();
    let spans = galileo
        .wait_for(Duration::from_secs(20), |s| {
            of_trace(s, trace_id).len() >= SPANS_PER_ASK
        })
        .await;
    assert_ask_tree(&of_trace(&spans, trace_id));
}

#[tokio::test]
async fn metrics_and_log_records_cross_the_collector_and_logs_keep_their_trace() {
    let galileo = FakeOtlp::galileo("/otel/traces", GALILEO_KEY).await;
    let mut stack = start_stack(&galileo, GALILEO_KEY).await;
    ask(&stack).await;
    // With the agent gone the next request fails, and the orchestrator logs it in its span.
    assert!(stack.agent.stop(Duration::from_secs(20)).await.success());
    let failed = reqwest::Client::new()
        .post(stack.orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant" }))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 502);
    // Shutdown exports the metrics and log records a last time.
    assert!(
        stack
            .orchestrator
            .stop(Duration::from_secs(20))
            .await
            .success()
    );

    let spans = galileo
        .wait_for(Duration::from_secs(20), |s| {
            s.iter().any(|s| s.name == "POST /ask" && s.is_error)
        })
        .await;
    let failed_trace = spans
        .iter()
        .find(|s| s.name == "POST /ask" && s.is_error)
        .map(|s| s.trace_id.clone())
        .expect("the failed request's server span");

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let records = loop {
        let output = stack.collector.output();
        // Each record the debug exporter prints ends with its `Flags:` line.
        let records: Vec<String> = output
            .split("LogRecord #")
            .skip(1)
            .map(|block| {
                block
                    .lines()
                    .take_while(|line| !line.starts_with("Flags:"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        let done = records.iter().any(|r| r.contains("request failed"));
        if done || std::time::Instant::now() > deadline {
            break records;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let output = stack.collector.output();
    // The metrics pipeline's Prometheus endpoint serves them, with the conventions' buckets.
    let scrape = reqwest::get(format!(
        "http://127.0.0.1:{}/metrics",
        stack.collector.ports.prometheus
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    for series in [
        r#"http_server_request_duration_seconds_bucket{"#,
        r#"http_client_request_duration_seconds_bucket{"#,
        r#"gen_ai_client_operation_duration_seconds_bucket{"#,
        r#"gen_ai_client_token_usage_bucket{"#,
        r#"otel_sdk_exporter_span_exported_total{"#,
    ] {
        assert!(scrape.contains(series), "{series} not scraped:\n{scrape}");
    }
    for bucket in [
        r#"http_route="/ask""#,
        r#"le="0.005""#,
        r#"le="81.92""#,
        r#"le="6.7108864e+07""#,
    ] {
        assert!(scrape.contains(bucket), "{bucket} not scraped:\n{scrape}");
    }

    let failure = records
        .iter()
        .find(|r| r.contains("request failed"))
        .unwrap_or_else(|| panic!("no `request failed` record:\n{output}"));
    assert!(
        failure.contains(&format!("Trace ID: {failed_trace}")),
        "the record has its request's trace id:\n{failure}"
    );
    assert!(
        records.iter().all(|r| !r.contains("good restaurant")),
        "no log record carries the question"
    );
}
