//! One test per upstream gap this crate covers, each asserting that the SDK (0.32) *still*
//! behaves the way that made the correction necessary. When upstream fixes a gap, its test here
//! fails: delete the correction it names (see README.md), then this test.
//!
//! Tests that need a variable set run again in a child process (`in_child`): a test may not set
//! variables in its own process (`set_var` is unsafe in edition 2024, and the workspace forbids
//! `unsafe`).

#[path = "support/lines.rs"]
mod lines;

use std::{
    collections::HashMap,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::{
    Context, KeyValue, global,
    propagation::TextMapPropagator,
    trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider},
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{
        BatchConfigBuilder, BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider,
        SimpleSpanProcessor, SpanData, SpanExporter,
    },
};

use lines::Lines;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn sdk_extract(lines: &[(&'static str, &str)]) -> Context {
    let lines = Lines::from_pairs(lines);
    let cx = TraceContextPropagator::new().extract(&lines);
    BaggagePropagator::new().extract_with_context(&cx, &lines)
}

// === w3c.rs: traceparent ===

#[test]
fn sdk_traceparent_accepts_fields_of_the_wrong_width_and_a_trailing_dash() {
    for header in [
        format!("00-{TRACE}-{PARENT}-1"),   // one-digit flags
        format!("00-{TRACE}-{PARENT}-01-"), // version 00 with a trailing `-`
    ] {
        let cx = sdk_extract(&[("traceparent", &header)]);
        assert!(
            cx.span().span_context().is_valid(),
            "the SDK now rejects {header}: delete the traceparent field checks in w3c.rs"
        );
    }
}

#[test]
fn sdk_traceparent_reads_the_first_of_several_header_lines() {
    let first = format!("00-{TRACE}-{PARENT}-01");
    let second = format!("00-{TRACE}-1111111111111111-01");
    let cx = sdk_extract(&[("traceparent", &first), ("traceparent", &second)]);
    assert!(
        cx.span().span_context().is_valid(),
        "the SDK now refuses several traceparent lines: delete that check in w3c.rs"
    );
}

#[test]
fn sdk_traceparent_masks_the_level_2_random_flag() {
    let cx = sdk_extract(&[("traceparent", &format!("00-{TRACE}-{PARENT}-03"))]);
    assert_eq!(
        cx.span().span_context().trace_flags().to_u8(),
        0x01,
        "the SDK now keeps the random flag (opentelemetry-rust#3270): delete KNOWN_FLAGS in w3c.rs"
    );
}

// === w3c.rs: tracestate ===

#[test]
fn sdk_tracestate_drops_the_whole_list_for_one_empty_member() {
    let cx = sdk_extract(&[
        ("traceparent", &format!("00-{TRACE}-{PARENT}-01")),
        ("tracestate", "a=1,,b=2"),
    ]);
    assert_eq!(
        cx.span().span_context().trace_state().header(),
        "",
        "the SDK now keeps `a=1,b=2`: delete parse_tracestate's member handling in w3c.rs"
    );
}

// === w3c.rs: baggage ===

#[test]
fn sdk_baggage_cuts_a_value_at_its_second_equals_sign() {
    use opentelemetry::baggage::BaggageExt;
    let cx = sdk_extract(&[("baggage", "k=a=b")]);
    assert_eq!(
        cx.baggage()
            .get("k")
            .map(|v| v.as_str().to_owned())
            .as_deref(),
        Some("a"),
        "the SDK now keeps `a=b`: delete parse_member's value handling in w3c.rs"
    );
}

#[test]
fn sdk_baggage_sends_a_percent_sign_unencoded() {
    use opentelemetry::baggage::BaggageExt;
    let cx = Context::new().with_baggage([KeyValue::new("k", "100%")]);
    let mut headers = HashMap::new();
    BaggagePropagator::new().inject_context(&cx, &mut headers);
    assert_eq!(
        headers.get("baggage").map(String::as_str),
        Some("k=100%"),
        "the SDK now encodes `%`: delete format_baggage in w3c.rs"
    );
}

// === baggage_attributes.rs ===

#[test]
fn sdk_set_attribute_appends_a_key_set_twice() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build();
    let mut span = provider.tracer("upstream").start("twice");
    span.set_attribute(KeyValue::new("session.id", "first"));
    span.set_attribute(KeyValue::new("session.id", "second"));
    span.end();
    let spans = exporter.get_finished_spans().unwrap();
    let count = spans[0]
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == "session.id")
        .count();
    assert_eq!(
        count, 2,
        "the SDK now overwrites a key set again: delete keep_last in baggage_attributes.rs"
    );
}

// === otlp_encoding.rs, otlp_export.rs ===

/// opentelemetry-otlp encodes a batch by converting it into opentelemetry-proto's structs first:
/// the batch taken by value, every span in a new struct, every attribute key copied into an
/// owned `String` — the copies `TraceEncoder` exists to avoid. When upstream encodes without
/// them, this stops compiling or passing: measure `bench/instructions` with upstream's encoding
/// and delete `otlp_encoding.rs` and `otlp_export.rs` if it is as cheap.
#[test]
fn sdk_otlp_encoding_copies_every_span_into_owned_structs() {
    use opentelemetry_proto::{
        tonic::trace::v1::ResourceSpans,
        transform::{
            common::tonic::ResourceAttributesWithSchema,
            trace::tonic::group_spans_by_resource_and_scope,
        },
    };
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build();
    let mut span = provider.tracer("upstream").start("GET /health");
    span.set_attribute(KeyValue::new("http.route", "/health"));
    span.end();
    let batch: Vec<SpanData> = exporter.get_finished_spans().unwrap();
    let converted: Vec<ResourceSpans> =
        group_spans_by_resource_and_scope(batch, &ResourceAttributesWithSchema::default());
    let key: &String = &converted[0].scope_spans[0].spans[0].attributes[0].key;
    assert_eq!(key, "http.route");
}

/// opentelemetry-http's blocking client turns a 4xx or 5xx answer into an error, so the OTLP
/// exporter's retry never sees the status or `Retry-After` (a 400 is retried, a 429's hint is
/// lost). `EncodedBody` in `otlp_export.rs` hands the answer back as it came. Upstream's fix is
/// open-telemetry/opentelemetry-rust PR #3627 (after 0.32): when this fails, our client can
/// delegate the send again.
#[test]
fn sdk_http_blocking_client_hides_error_statuses() {
    use std::io::{Read, Write};

    use opentelemetry_http::{Bytes, HttpClient, Request};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let _ = stream.read(&mut [0; 4096]).unwrap();
        stream
            .write_all(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
    });
    let client = reqwest::blocking::Client::new();
    let request = Request::post(url).body(Bytes::from_static(b"")).unwrap();
    let answer = futures::executor::block_on(client.send_bytes(request));
    server.join().unwrap();
    assert!(
        answer.is_err(),
        "the blocking client now returns the 429 as a response: {answer:?}"
    );
}

// === log_records.rs ===

#[test]
fn appender_names_plain_lines_after_their_source_line_and_sets_no_timestamp() {
    use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
    use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    let exporter = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber =
        tracing_subscriber::registry().with(OpenTelemetryTracingBridge::new(&provider));
    tracing::subscriber::with_default(subscriber, || tracing::info!("a plain line"));
    let logs = exporter.get_emitted_logs().unwrap();
    let record = &logs[0].record;
    assert!(
        record
            .event_name()
            .is_some_and(sdk_corrections::is_default_event_name),
        "the bridge no longer names plain lines {:?}: drop that part of log_records.rs",
        record.event_name()
    );
    assert!(
        record.timestamp().is_none(),
        "the bridge now sets Timestamp: drop that part of log_records.rs"
    );
}

// === batch.rs, export.rs, delivery*.rs ===

/// Counts the spans it is given; `delay` per export.
#[derive(Debug, Clone, Default)]
struct Counting {
    spans: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
    delay: Duration,
}

impl SpanExporter for Counting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.spans.fetch_add(batch.len(), Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn sdk_batch_processor_drops_spans_without_a_count_or_a_metric() {
    let metrics = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    global::set_meter_provider(meter_provider.clone());
    let exporter = Counting {
        delay: Duration::from_millis(20),
        ..Counting::default()
    };
    let config = BatchConfigBuilder::default()
        .with_max_queue_size(1)
        .with_max_export_batch_size(1)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::new(exporter.clone(), config))
        .build();
    let tracer = provider.tracer("upstream");
    for _ in 0..200 {
        tracer.start("flood").end();
    }
    assert!(
        provider.shutdown().is_ok(),
        "the SDK now reports drops at shutdown: use it instead of delivery.rs's accounting"
    );
    let exported = exporter.spans.load(Ordering::SeqCst);
    assert!(
        exported < 200,
        "nothing was dropped ({exported}): the test proves nothing"
    );
    meter_provider.force_flush().unwrap();
    let names: Vec<String> = metrics
        .get_finished_metrics()
        .unwrap()
        .iter()
        .flat_map(|resource| resource.scope_metrics())
        .flat_map(|scope| scope.metrics())
        .map(|metric| metric.name().to_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name.starts_with("otel.sdk.")),
        "the SDK now emits {names:?} (PR #3609): delete delivery_metrics.rs"
    );
}

#[test]
fn sdk_batch_processor_ignores_max_concurrent_exports() {
    in_child(
        "child_batch_processor_exports_one_at_a_time",
        &[
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "4"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"),
        ],
    );
}

#[test]
#[ignore = "run by sdk_batch_processor_ignores_max_concurrent_exports, in a child process"]
fn child_batch_processor_exports_one_at_a_time() {
    let exporter = Counting {
        delay: Duration::from_millis(30),
        ..Counting::default()
    };
    let processor = BatchSpanProcessor::builder(exporter.clone()).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("upstream");
    for _ in 0..8 {
        tracer.start("span").end();
    }
    provider.force_flush().unwrap();
    assert_eq!(exporter.spans.load(Ordering::SeqCst), 8);
    assert_eq!(
        exporter.most_in_flight.load(Ordering::SeqCst),
        1,
        "the SDK's processor now exports concurrently (opentelemetry-rust#3402, #2555): \
         delete the queues of batch.rs"
    );
}

// === env.rs, propagators.rs ===

#[test]
fn sdk_ignores_otel_sdk_disabled() {
    in_child("child_sdk_still_records", &[("OTEL_SDK_DISABLED", "true")]);
}

#[test]
#[ignore = "run by sdk_ignores_otel_sdk_disabled, in a child process"]
fn child_sdk_still_records() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build();
    provider.tracer("upstream").start("recorded").end();
    assert_eq!(
        exporter.get_finished_spans().unwrap().len(),
        1,
        "the SDK now honours OTEL_SDK_DISABLED (opentelemetry-rust#1936): delete sdk_disabled"
    );
}

#[test]
fn sdk_ignores_otel_propagators() {
    in_child(
        "child_no_propagator_is_installed",
        &[("OTEL_PROPAGATORS", "b3")],
    );
}

#[test]
#[ignore = "run by sdk_ignores_otel_propagators, in a child process"]
fn child_no_propagator_is_installed() {
    let provider = SdkTracerProvider::builder().build();
    global::set_tracer_provider(provider);
    let fields = global::get_text_map_propagator(|p| p.fields().count());
    assert_eq!(
        fields, 0,
        "the SDK now installs OTEL_PROPAGATORS (opentelemetry-rust#3127): delete propagators.rs"
    );
}

/// Runs test `name` of this binary in a child process with `vars` set; fails if it fails.
fn in_child(name: &str, vars: &[(&str, &str)]) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--include-ignored", "--nocapture"])
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} in a child process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
