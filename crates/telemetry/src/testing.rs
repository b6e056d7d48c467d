//! The in-process test tier: the same propagators, span layer and session processor as `init`,
//! over the SDK's in-memory exporter instead of OTLP — so a test drives a service's `app()` and
//! reads the spans it made in milliseconds, with no Collector and no processes.
//!
//! One tracer provider per test binary (the subscriber and the propagator are global): tests
//! that run side by side tell their spans apart by trace id ([`spans_of_trace`]).

use std::sync::OnceLock;

use opentelemetry::{global, propagation::TextMapCompositePropagator, trace::TracerProvider as _};
pub use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use sdk_corrections::w3c::{W3cBaggage, W3cTraceContext};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

use crate::{genai::session_attributes, spans};

/// Installs, once, the W3C propagators and a tracer provider whose spans go straight to an
/// in-memory exporter; returns that exporter.
pub fn init_in_memory() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    let (exporter, _) = EXPORTER.get_or_init(|| {
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(W3cTraceContext),
            Box::new(W3cBaggage),
        ]));
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(session_attributes(SimpleSpanProcessor::new(
                exporter.clone(),
            )))
            .build();
        global::set_tracer_provider(provider.clone());
        tracing_subscriber::registry()
            .with(spans::layer(provider.tracer("telemetry")))
            .try_init()
            .expect("no other subscriber in an in-process test binary");
        (exporter, provider)
    });
    exporter
}

/// The finished spans of trace `trace_id` (32 hex digits), in the order they ended.
pub fn spans_of_trace(exporter: &InMemorySpanExporter, trace_id: &str) -> Vec<SpanData> {
    exporter
        .get_finished_spans()
        .expect("the in-memory exporter is never shut down")
        .into_iter()
        .filter(|span| span.span_context.trace_id().to_string() == trace_id)
        .collect()
}

/// The one span of `spans` named `name`; panics listing what there is otherwise.
pub fn span_named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let mut matching = spans.iter().filter(|span| span.name == name);
    match (matching.next(), matching.next()) {
        (Some(span), None) => span,
        _ => panic!(
            "expected one span named {name:?}, got {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        ),
    }
}

/// Attribute `key` of `span`, as a string (`None` if it is not set).
pub fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

/// Whether `child` is a direct child of `parent`.
pub fn is_child_of(child: &SpanData, parent: &SpanData) -> bool {
    child.span_context.trace_id() == parent.span_context.trace_id()
        && child.parent_span_id == parent.span_context.span_id()
}
