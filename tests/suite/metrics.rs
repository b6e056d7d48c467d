//! The services' OTLP metrics, as a receiver sees them: the HTTP and GenAI instruments with the
//! semantic conventions' names, units, bucket boundaries and only low-cardinality attributes,
//! and the span pipeline's health.

use std::time::Duration;

use e2e::{
    FakeOtlp,
    otlp::{attribute, last_metrics},
    stack::Stack,
};
use opentelemetry_proto::tonic::{
    common::v1::KeyValue,
    metrics::v1::{Metric, metric::Data},
};
use serde_json::json;

const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
const GENAI_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

fn keys(attributes: &[KeyValue]) -> Vec<&str> {
    let mut keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    keys
}

/// (unit, bucket boundaries, each point's attributes and count) of a histogram.
fn histogram(metric: &Metric) -> (&str, Vec<f64>, Vec<(&[KeyValue], u64)>) {
    let Some(Data::Histogram(histogram)) = &metric.data else {
        panic!("{} is not a histogram: {:?}", metric.name, metric.data);
    };
    let bounds = histogram.data_points[0].explicit_bounds.clone();
    let points = histogram
        .data_points
        .iter()
        .map(|p| (&p.attributes[..], p.count))
        .collect();
    (&metric.unit, bounds, points)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_export_the_conventions_metrics_and_the_span_pipeline_health() {
    let otlp = FakeOtlp::start().await;
    let mut stack = Stack::start(&otlp.base_url(), &[("OTEL_METRIC_EXPORT_INTERVAL", "200")]).await;
    for _ in 0..3 {
        let (status, body) = stack
            .ask(&json!({ "question": "Find me a good restaurant" }), None)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // The totals include the last spans: metrics are exported once more at shutdown.
    for service in [&mut stack.orchestrator, &mut stack.agent] {
        assert!(service.stop(Duration::from_secs(20)).await.success());
    }
    let exports = otlp.metrics();
    let orchestrator = last_metrics(&exports, "orchestrator");
    let agent = last_metrics(&exports, "agent-service");

    // http.server.request.duration, both services: route, never the raw path.
    for (metrics, route) in [(&orchestrator, "/ask"), (&agent, "/agent")] {
        let metric = &metrics["http.server.request.duration"];
        let (unit, bounds, points) = histogram(metric);
        assert_eq!(unit, "s");
        assert_eq!(bounds, HTTP_BUCKETS);
        let (attributes, count) = points
            .iter()
            .find(|(a, _)| attribute(a, "http.route").as_deref() == Some(route))
            .unwrap_or_else(|| panic!("no {route} point: {points:?}"));
        assert_eq!(*count, 3);
        assert_eq!(
            keys(attributes),
            [
                "http.request.method",
                "http.response.status_code",
                "http.route",
                "network.protocol.name",
                "network.protocol.version",
                "url.scheme"
            ]
        );
        assert_eq!(
            attribute(attributes, "network.protocol.version").as_deref(),
            Some("1.1")
        );
    }

    // http.client.request.duration, the orchestrator's calls to the agent.
    let (unit, bounds, points) = histogram(&orchestrator["http.client.request.duration"]);
    assert_eq!((unit, &bounds[..]), ("s", HTTP_BUCKETS));
    assert_eq!(points.iter().map(|(_, c)| c).sum::<u64>(), 3);
    assert_eq!(
        keys(points[0].0),
        [
            "http.request.method",
            "http.response.status_code",
            "network.protocol.name",
            "network.protocol.version",
            "server.address",
            "server.port",
            "url.scheme",
            "url.template"
        ]
    );

    // gen_ai.client.operation.duration and token usage: two chat calls per turn.
    let (unit, bounds, points) = histogram(&agent["gen_ai.client.operation.duration"]);
    assert_eq!((unit, &bounds[..]), ("s", GENAI_DURATION_BUCKETS));
    assert_eq!(points.iter().map(|(_, c)| c).sum::<u64>(), 6);
    assert_eq!(
        keys(points[0].0),
        [
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "gen_ai.request.model",
            "gen_ai.response.model"
        ]
    );
    let (unit, bounds, points) = histogram(&agent["gen_ai.client.token.usage"]);
    assert_eq!(unit, "{token}");
    assert_eq!(bounds.first(), Some(&1.0));
    assert_eq!(bounds.last(), Some(&67108864.0));
    let mut token_types: Vec<String> = points
        .iter()
        .filter_map(|(a, _)| attribute(a, "gen_ai.token.type"))
        .collect();
    token_types.sort();
    assert_eq!(token_types, ["input", "output"]);

    // The span pipeline's health: every span of the three requests exported, none lost.
    for metrics in [&orchestrator, &agent] {
        let Some(Data::Sum(exported)) = &metrics["otel.sdk.exporter.span.exported"].data else {
            panic!("exported is a counter");
        };
        let ok: i64 = exported
            .data_points
            .iter()
            .filter(|p| attribute(&p.attributes, "error.type").is_none())
            .map(|p| match p.value {
                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(
                    v,
                )) => v,
                _ => 0,
            })
            .sum();
        assert_eq!(ok, 15, "five spans per request per service");
        assert!(metrics.contains_key("otel.sdk.processor.span.queue.size"));
        assert!(metrics.contains_key("otel.sdk.processor.span.queue.capacity"));
        // Which component each is of, as the conventions recommend.
        for point in &exported.data_points {
            assert_eq!(
                attribute(&point.attributes, "otel.component.type").as_deref(),
                Some("otlp_http_span_exporter")
            );
            assert_eq!(
                attribute(&point.attributes, "otel.component.name").as_deref(),
                Some("otlp_http_span_exporter/0")
            );
        }
        let Some(Data::Sum(processed)) = &metrics["otel.sdk.processor.span.processed"].data else {
            panic!("processed is a counter");
        };
        assert!(processed.data_points.iter().all(|p| {
            attribute(&p.attributes, "otel.component.name").as_deref()
                == Some("batching_span_processor/0")
        }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_variables_turn_metrics_and_log_records_off_and_refuse_unknown_values() {
    let otlp = FakeOtlp::start().await;
    let mut stack = Stack::start(
        &otlp.base_url(),
        &[
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "none"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ],
    )
    .await;
    let (status, body) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200, "{body}");
    for service in [&mut stack.orchestrator, &mut stack.agent] {
        assert!(service.stop(Duration::from_secs(20)).await.success());
    }
    assert!(!otlp.spans().is_empty(), "spans still go out");
    assert!(otlp.metrics().is_empty(), "OTEL_METRICS_EXPORTER=none");
    assert!(otlp.logs().is_empty(), "OTEL_LOGS_EXPORTER=none");

    for variable in ["OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"] {
        let (status, output) = e2e::run_to_exit(
            "agent-service",
            &e2e::requests::vars(&[(variable, "prometheus")]),
            Duration::from_secs(20),
        );
        assert!(!status.success(), "{variable}=prometheus must not start");
        assert!(output.contains(variable), "{output}");
    }
}
