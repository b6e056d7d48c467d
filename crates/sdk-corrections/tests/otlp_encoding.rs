//! `TraceEncoder` against the encoding opentelemetry-otlp sends today (opentelemetry-proto's
//! conversion, then prost), over generated spans: every field, every value type, defaults and
//! extremes. One scope: the bytes are identical. Several: upstream orders the scopes by a
//! `HashMap`, so both sides are decoded, their scopes put in one order, and compared again as
//! bytes (bytes, not `==`, so that a NaN compares equal to itself).

use std::{
    borrow::Cow,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use opentelemetry::{
    Array, InstrumentationScope, KeyValue, StringValue, Value,
    trace::{Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_proto::{
    tonic::collector::trace::v1::ExportTraceServiceRequest,
    transform::{
        common::tonic::ResourceAttributesWithSchema,
        trace::tonic::group_spans_by_resource_and_scope,
    },
};
use opentelemetry_sdk::{
    Resource,
    trace::{SpanData, SpanEvents, SpanLinks},
};
use proptest::{collection::vec, option, prelude::*};
use prost::Message;
use sdk_corrections::TraceEncoder;

fn upstream(resource: &Resource, spans: &[SpanData]) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans.to_vec(), &resource),
    }
    .encode_to_vec()
}

/// The request with its scopes in one order (by their encoding).
fn normalised(encoded: &[u8]) -> Vec<u8> {
    let mut request = ExportTraceServiceRequest::decode(encoded).expect("a valid request");
    for resource_spans in &mut request.resource_spans {
        resource_spans
            .scope_spans
            .sort_by_cached_key(|scope_spans| scope_spans.scope.clone().unwrap().encode_to_vec());
    }
    request.encode_to_vec()
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z._]{1,12}",
        any::<String>(),
        "x{200,300}"
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(-0.0),
            Just(f64::INFINITY)
        ]
        .prop_map(Value::F64),
        string().prop_map(|s| Value::String(s.into())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
        1 => vec(any::<i64>(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
        1 => vec(any::<f64>(), 0..4).prop_map(|v| Value::Array(Array::F64(v))),
        1 => vec(string(), 0..4).prop_map(|v| {
            Value::Array(Array::String(v.into_iter().map(StringValue::from).collect()))
        }),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec(
        (string(), value()).prop_map(|(key, value)| KeyValue::new(key, value)),
        0..6,
    )
}

/// Before the epoch (upstream writes 0), at it, and up to the year 2262.
fn time() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        Just(UNIX_EPOCH - Duration::from_secs(5)),
        Just(UNIX_EPOCH),
        (0..u64::MAX / 2).prop_map(|nanos| UNIX_EPOCH + Duration::from_nanos(nanos)),
    ]
}

fn trace_state() -> impl Strategy<Value = TraceState> {
    prop_oneof![
        Just(TraceState::default()),
        Just(TraceState::from_key_value([("vendor", "a1"), ("other", "b-2")]).unwrap()),
    ]
}

fn span_context() -> impl Strategy<Value = SpanContext> {
    (
        any::<u128>(),
        any::<u64>(),
        any::<u8>(),
        any::<bool>(),
        trace_state(),
    )
        .prop_map(|(trace, span, flags, remote, state)| {
            SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::new(flags),
                remote,
                state,
            )
        })
}

fn scope() -> impl Strategy<Value = InstrumentationScope> {
    prop_oneof![
        Just(InstrumentationScope::builder("telemetry").build()),
        Just(
            InstrumentationScope::builder("reqwest")
                .with_version("0.13")
                .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
                .with_attributes([KeyValue::new("scope.kind", "client"), KeyValue::new("n", 2)])
                .build()
        ),
        Just(InstrumentationScope::builder("").with_version("").build()),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Unset),
        Just(Status::Ok),
        string().prop_map(Status::error),
    ]
}

fn kind() -> impl Strategy<Value = SpanKind> {
    prop_oneof![
        Just(SpanKind::Internal),
        Just(SpanKind::Server),
        Just(SpanKind::Client),
        Just(SpanKind::Producer),
        Just(SpanKind::Consumer),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (string(), time(), attributes(), 0..3u32)
        .prop_map(|(name, time, attributes, dropped)| Event::new(name, time, attributes, dropped))
}

fn link() -> impl Strategy<Value = Link> {
    (span_context(), attributes(), 0..3u32)
        .prop_map(|(context, attributes, dropped)| Link::new(context, attributes, dropped))
}

prop_compose! {
    fn span()(
        context in span_context(),
        parent in prop_oneof![Just(0u64), any::<u64>()],
        parent_is_remote in any::<bool>(),
        kind in kind(),
        name in string(),
        (start_time, end_time) in (time(), time()),
        attributes in attributes(),
        dropped_attributes_count in prop_oneof![Just(0u32), any::<u32>()],
        (events, dropped_events) in (vec(event(), 0..3), 0..2u32),
        (links, dropped_links) in (vec(link(), 0..2), 0..2u32),
        status in status(),
        scope in scope(),
    ) -> SpanData {
        // Both are non-exhaustive: built from their defaults.
        let mut span_events = SpanEvents::default();
        (span_events.events, span_events.dropped_count) = (events, dropped_events);
        let mut span_links = SpanLinks::default();
        (span_links.links, span_links.dropped_count) = (links, dropped_links);
        SpanData {
            span_context: context,
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: parent_is_remote,
            span_kind: kind,
            name: Cow::Owned(name),
            start_time,
            end_time,
            attributes,
            dropped_attributes_count,
            events: span_events,
            links: span_links,
            status,
            instrumentation_scope: scope,
        }
    }
}

fn resource() -> impl Strategy<Value = Resource> {
    (
        attributes(),
        option::of(Just("https://opentelemetry.io/schemas/1.37.0")),
    )
        .prop_map(|(attributes, schema_url)| match schema_url {
            Some(url) => Resource::builder_empty()
                .with_schema_url(attributes, url)
                .build(),
            None => Resource::builder_empty()
                .with_attributes(attributes)
                .build(),
        })
}

proptest! {
    // A failure prints its minimal input; no regressions file is left in the work tree.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_same_request_as_upstream(resource in resource(), spans in vec(span(), 0..8)) {
        let ours = TraceEncoder::new(&resource).encode(&spans);
        let theirs = upstream(&resource, &spans);
        let scopes = spans.iter().fold(Vec::new(), |mut seen, span| {
            if !seen.contains(&&span.instrumentation_scope) {
                seen.push(&span.instrumentation_scope);
            }
            seen
        });
        if scopes.len() <= 1 {
            prop_assert_eq!(&ours, &theirs);
        }
        prop_assert_eq!(normalised(&ours), normalised(&theirs));
    }
}

#[test]
fn an_empty_batch_is_one_resource_without_scopes() {
    let resource = Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", "orchestrator"))
        .build();
    assert_eq!(
        TraceEncoder::new(&resource).encode(&[]),
        upstream(&resource, &[])
    );
}
