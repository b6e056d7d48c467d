//! The standard `OTEL_*` variables do what the specification says, end to end.

use std::time::Duration;

use e2e::{FakeOtlp, stack::Stack, tree::SPANS_PER_ASK};
use serde_json::json;

const QUESTION: &str = "Find me a good restaurant";

#[tokio::test]
async fn otel_service_name_and_resource_attributes_override_the_defaults() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(
        &otlp.base_url(),
        &[
            ("OTEL_SERVICE_NAME", "renamed"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=staging,team=agents",
            ),
        ],
    )
    .await;
    let (_, body) = stack.ask(&json!({ "question": QUESTION }), None).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    let trace = otlp.wait_for_trace(&trace_id, SPANS_PER_ASK).await;
    assert_eq!(trace.len(), SPANS_PER_ASK);
    for span in &trace {
        assert_eq!(span.service, "renamed");
        assert_eq!(
            span.resource["deployment.environment.name"].as_str(),
            Some("staging")
        );
        assert_eq!(span.resource["team"].as_str(), Some("agents"));
    }
}

/// The traces request is upstream's (endpoint and header variables) with our encoded body
/// (`sdk_corrections::OtlpSpanExporter`): a receiver at a path of its own that refuses any request
/// without its key gets the whole trace.
#[tokio::test]
async fn the_traces_endpoint_and_headers_variables_shape_the_export_request() {
    let otlp = FakeOtlp::galileo("/custom/traces", "key-7f3a").await;
    let stack = Stack::start(
        &otlp.base_url(),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &otlp.traces_url()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "Galileo-API-Key=key-7f3a",
            ),
        ],
    )
    .await;
    let (_, body) = stack.ask(&json!({ "question": QUESTION }), None).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    let trace = otlp.wait_for_trace(&trace_id, SPANS_PER_ASK).await;
    assert_eq!(trace.len(), SPANS_PER_ASK);
    let requests = otlp.requests();
    assert!(requests.iter().all(|r| r.status == 200), "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.headers["content-type"] == "application/x-protobuf")
    );
}

#[tokio::test]
async fn otel_sdk_disabled_records_nothing_and_requests_still_work() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[("OTEL_SDK_DISABLED", "true")]).await;
    let (status, body) = stack.ask(&json!({ "question": QUESTION }), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("trace_id").is_none(), "no trace, no id: {body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(otlp.spans().is_empty());
    assert!(otlp.requests().is_empty());
}

#[tokio::test]
async fn the_sampler_variables_are_honoured_and_children_follow_the_parent() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(
        &otlp.base_url(),
        &[("OTEL_TRACES_SAMPLER", "parentbased_always_off")],
    )
    .await;
    // A root request: not sampled, nothing exported.
    let (status, _) = stack.ask(&json!({ "question": QUESTION }), None).await;
    assert_eq!(status, 200);
    // A caller that sampled its trace: ParentBased follows it in both services.
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let (status, _) = stack
        .ask(&json!({ "question": QUESTION }), Some(traceparent))
        .await;
    assert_eq!(status, 200);
    let trace = otlp
        .wait_for_trace("0af7651916cd43dd8448eb211c80319c", SPANS_PER_ASK)
        .await;
    assert_eq!(trace.len(), SPANS_PER_ASK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let request_spans = otlp
        .spans()
        .into_iter()
        .filter(|s| s.name != "GET /health")
        .count();
    assert_eq!(
        request_spans, SPANS_PER_ASK,
        "only the sampled trace was exported"
    );
}
