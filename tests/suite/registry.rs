//! Telemetry a registry can check. Three `/ask` (one of them a 422) through both services, as
//! they export by default, and one more with the agent gone (a 502, so the failure's log line
//! is among them), decoded from the protobuf they sent:
//! - every attribute key — on spans, span events, resources, metric data points and log
//!   records — is a name of the OpenTelemetry registry (the constant
//!   `opentelemetry-semantic-conventions` has for it) or one of ours, defined in
//!   `semconv/model/registry.yaml`;
//! - no log record carries `tracing`'s made-up event name (`event <file>:<line>`);
//! - every log record has a `Timestamp`.

#![allow(deprecated)] // the crate marks the GenAI names as moved to their own repository

use std::{collections::BTreeSet, time::Duration};

use e2e::{FakeOtlp, stack::Stack, workspace_root};
use opentelemetry_proto::tonic::{
    common::v1::KeyValue, metrics::v1::Metric, metrics::v1::metric::Data,
};
use opentelemetry_semantic_conventions::{attribute as a, resource as r};
use serde_json::json;

/// The registry names the services emit, each as the crate spells it.
const REGISTRY: &[&str] = &[
    // resource
    r::SERVICE_NAME,
    r::SERVICE_VERSION,
    a::DEPLOYMENT_ENVIRONMENT_NAME,
    r::TELEMETRY_SDK_LANGUAGE,
    r::TELEMETRY_SDK_NAME,
    r::TELEMETRY_SDK_VERSION,
    // HTTP
    a::HTTP_REQUEST_METHOD,
    a::HTTP_RESPONSE_STATUS_CODE,
    a::HTTP_ROUTE,
    a::URL_PATH,
    a::URL_SCHEME,
    a::URL_FULL,
    a::URL_TEMPLATE,
    a::SERVER_ADDRESS,
    a::SERVER_PORT,
    a::NETWORK_PROTOCOL_NAME,
    a::NETWORK_PROTOCOL_VERSION,
    a::ERROR_TYPE,
    a::ERROR_MESSAGE,
    // GenAI
    a::GEN_AI_OPERATION_NAME,
    a::GEN_AI_PROVIDER_NAME,
    a::GEN_AI_REQUEST_MODEL,
    a::GEN_AI_RESPONSE_MODEL,
    a::GEN_AI_RESPONSE_ID,
    a::GEN_AI_RESPONSE_FINISH_REASONS,
    a::GEN_AI_USAGE_INPUT_TOKENS,
    a::GEN_AI_USAGE_OUTPUT_TOKENS,
    a::GEN_AI_AGENT_NAME,
    a::GEN_AI_WORKFLOW_NAME,
    a::GEN_AI_TOOL_NAME,
    a::GEN_AI_TOOL_TYPE,
    a::GEN_AI_TOOL_CALL_ID,
    a::GEN_AI_TOKEN_TYPE,
    a::GEN_AI_CONVERSATION_ID,
    a::GEN_AI_REQUEST_STREAM,
    a::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    a::SESSION_ID,
    // SDK self-observability
    a::OTEL_COMPONENT_NAME,
    a::OTEL_COMPONENT_TYPE,
];

/// Our own names, from the Weaver registry in the repo.
fn ours() -> BTreeSet<String> {
    let file = workspace_root().join("semconv/model/registry.yaml");
    let registry: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    registry["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|group| group["attributes"].as_sequence().unwrap())
        .map(|attribute| attribute["id"].as_str().unwrap().to_owned())
        .collect()
}

fn keys(attributes: &[KeyValue]) -> impl Iterator<Item = String> + '_ {
    attributes.iter().map(|kv| kv.key.clone())
}

fn data_point_keys(metric: &Metric) -> Vec<String> {
    match &metric.data {
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .flat_map(|p| keys(&p.attributes))
            .collect(),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .flat_map(|p| keys(&p.attributes))
            .collect(),
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .flat_map(|p| keys(&p.attributes))
            .collect(),
        _ => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_is_registered_and_log_records_are_plain_lines_with_timestamps() {
    let otlp = FakeOtlp::start().await;
    let mut stack = Stack::start(
        &otlp.base_url(),
        &[
            ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
            ("AGENT_CONNECT_RETRIES", "0"),
        ],
    )
    .await;
    for (body, status) in [
        (json!({ "question": "Find me a good restaurant" }), 200),
        (json!({ "question": "Book a table for 4 tomorrow" }), 200),
        (json!({ "question": "   " }), 422),
    ] {
        assert_eq!(stack.ask(&body, None).await.0, status, "{body}");
    }
    // And one streamed: its attributes and its chunk metrics are checked too.
    let streamed = reqwest::Client::new()
        .post(stack.orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant", "stream": true }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(streamed.contains("event: done"), "{streamed}");
    // Stopping flushes every signal: spans, the last metrics, and the shutdown log lines.
    assert!(stack.agent.stop(Duration::from_secs(20)).await.success());
    let failed = json!({ "question": "Anyone there?" });
    assert_eq!(stack.ask(&failed, None).await.0, 502);
    assert!(
        stack
            .orchestrator
            .stop(Duration::from_secs(20))
            .await
            .success()
    );

    let mut emitted: BTreeSet<(String, String)> = BTreeSet::new(); // (where, key)
    for span in otlp.spans() {
        emitted.extend(span.resource.keys().map(|k| ("resource".into(), k.clone())));
        emitted.extend(
            span.attributes
                .keys()
                .map(|k| (format!("span {}", span.name), k.clone())),
        );
        for (event, attributes) in &span.events {
            emitted.extend(
                attributes
                    .keys()
                    .map(|k| (format!("event {event}"), k.clone())),
            );
        }
    }
    let metrics = otlp.metrics();
    assert!(!metrics.is_empty(), "no metrics arrived");
    let names: BTreeSet<&str> = metrics
        .iter()
        .flat_map(|export| &export.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| m.name.as_str())
        .collect();
    for streamed_only in [
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.operation.time_per_output_chunk",
    ] {
        assert!(
            names.contains(streamed_only),
            "{streamed_only} missing: {names:?}"
        );
    }
    for metric in metrics
        .iter()
        .flat_map(|export| &export.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
    {
        emitted.extend(
            data_point_keys(metric)
                .into_iter()
                .map(|k| (format!("metric {}", metric.name), k)),
        );
    }
    let records = otlp.log_records();
    assert!(
        records.len() >= 6,
        "start, listening, shutdown lines of both: {records:?}"
    );
    for record in &records {
        let body = format!("{:?}", record.body);
        assert!(
            !sdk_corrections::is_default_event_name(&record.event_name),
            "a plain line claims to be an event: {:?} ({body})",
            record.event_name
        );
        assert_ne!(record.time_unix_nano, 0, "no Timestamp: {body}");
        emitted.extend(keys(&record.attributes).map(|k| (format!("log {body:.40}"), k)));
    }

    let ours = ours();
    let unregistered: Vec<_> = emitted
        .iter()
        .filter(|(_, key)| !REGISTRY.contains(&key.as_str()) && !ours.contains(key))
        .collect();
    assert!(
        unregistered.is_empty(),
        "keys in neither the OpenTelemetry registry nor semconv/model/registry.yaml: {unregistered:#?}"
    );
    // Ours are really ours: none shadows a registry name.
    for key in &ours {
        assert!(
            !REGISTRY.contains(&key.as_str()),
            "{key} is a registry name"
        );
    }
}
