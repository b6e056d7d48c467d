//! The span pipeline's health as the SDK self-observability conventions name it — the SDK 0.32
//! emits none of these (opentelemetry-rust PR #3609 adds `otel.sdk.processor.span.processed`
//! behind an experimental feature, after 0.32): `otel.sdk.exporter.span.exported`,
//! `otel.sdk.processor.span.processed` (lost spans carry `error.type`: `queue_full`,
//! `export_failed`, `shutdown`), `otel.sdk.processor.span.queue.size` and `.capacity` — so a user
//! can alert on lost spans. Observable instruments over [`DeliveryStats`], read at each
//! collection: nothing on the request path.

use opentelemetry::{KeyValue, metrics::Meter};
use opentelemetry_semantic_conventions::{
    attribute::{ERROR_TYPE, OTEL_COMPONENT_NAME, OTEL_COMPONENT_TYPE},
    metric::{
        OTEL_SDK_EXPORTER_SPAN_EXPORTED, OTEL_SDK_PROCESSOR_SPAN_PROCESSED,
        OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY, OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
    },
};

use crate::delivery::{Delivery, Loss};

/// Which component a measurement is of, as the conventions name them: `[type]/[instance]`. The
/// export queues count together, as one processor and one exporter.
fn component(kind: &'static str) -> [KeyValue; 2] {
    [
        KeyValue::new(OTEL_COMPONENT_TYPE, kind),
        KeyValue::new(OTEL_COMPONENT_NAME, format!("{kind}/0")),
    ]
}

/// The conventions' type of our span exporter: OTLP over HTTP unless the variables say gRPC.
fn exporter_type() -> &'static str {
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    if protocol.trim() == "grpc" {
        "otlp_grpc_span_exporter"
    } else {
        "otlp_http_span_exporter"
    }
}

/// `component` attributes, plus `error.type` when `reason` is a loss.
fn with_reason(component: &[KeyValue; 2], reason: Option<Loss>) -> Vec<KeyValue> {
    let mut attributes = component.to_vec();
    if let Some(reason) = reason {
        attributes.push(KeyValue::new(ERROR_TYPE, reason.as_str()));
    }
    attributes
}

impl Delivery {
    /// Registers the span pipeline's health on `meter`.
    pub fn observe(&self, meter: &Meter) {
        let exporter = component(exporter_type());
        let processor = component("batching_span_processor");
        let exported = self.stats();
        meter
            .u64_observable_counter(OTEL_SDK_EXPORTER_SPAN_EXPORTED)
            .with_unit("{span}")
            .with_description("Spans the exporters delivered, or failed to (with error.type).")
            .with_callback(move |observer| {
                let now = exported.snapshot();
                observer.observe(now.exported, &with_reason(&exporter, None));
                observer.observe(
                    now.lost(Loss::ExportFailed),
                    &with_reason(&exporter, Some(Loss::ExportFailed)),
                );
            })
            .build();
        let processed = self.stats();
        let labels = processor.clone();
        meter
            .u64_observable_counter(OTEL_SDK_PROCESSOR_SPAN_PROCESSED)
            .with_unit("{span}")
            .with_description(
                "Spans handed to the exporters, or lost before (with error.type: queue_full, shutdown).",
            )
            .with_callback(move |observer| {
                let now = processed.snapshot();
                observer.observe(
                    now.exported + now.lost(Loss::ExportFailed),
                    &with_reason(&labels, None),
                );
                for reason in [Loss::QueueFull, Loss::Shutdown] {
                    observer.observe(now.lost(reason), &with_reason(&labels, Some(reason)));
                }
            })
            .build();
        let queued = self.stats();
        let labels = processor.clone();
        meter
            .i64_observable_up_down_counter(OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE)
            .with_unit("{span}")
            .with_description("Spans waiting in the export queues.")
            .with_callback(move |observer| {
                observer.observe(queued.snapshot().queued as i64, &labels)
            })
            .build();
        let capacity = self.settings().capacity() as i64;
        meter
            .i64_observable_up_down_counter(OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY)
            .with_unit("{span}")
            .with_description("Spans the export queues can hold.")
            .with_callback(move |observer| observer.observe(capacity, &processor))
            .build();
    }
}
