//! The span pipeline's health as the SDK self-observability conventions name it — the SDK 0.32
//! emits none of these (opentelemetry-rust PR #3609 adds `otel.sdk.processor.span.processed`
//! behind an experimental feature, after 0.32): `otel.sdk.exporter.span.exported`,
//! `otel.sdk.processor.span.processed` (lost spans carry `error.type`: `queue_full`,
//! `export_failed`, `shutdown`), `otel.sdk.processor.span.queue.size` and `.capacity` — so a user
//! can alert on lost spans. Observable instruments over [`DeliveryStats`], read at each
//! collection: nothing on the request path.

use opentelemetry::{KeyValue, metrics::Meter};
use opentelemetry_semantic_conventions::{
    attribute::ERROR_TYPE,
    metric::{
        OTEL_SDK_EXPORTER_SPAN_EXPORTED, OTEL_SDK_PROCESSOR_SPAN_PROCESSED,
        OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY, OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
    },
};

use crate::delivery::{Delivery, Loss};

impl Delivery {
    /// Registers the span pipeline's health on `meter`.
    pub fn observe(&self, meter: &Meter) {
        let exported = self.stats();
        meter
            .u64_observable_counter(OTEL_SDK_EXPORTER_SPAN_EXPORTED)
            .with_unit("{span}")
            .with_description("Spans the exporters delivered, or failed to (with error.type).")
            .with_callback(move |observer| {
                let now = exported.snapshot();
                observer.observe(now.exported, &[]);
                observer.observe(
                    now.lost(Loss::ExportFailed),
                    &[KeyValue::new(ERROR_TYPE, Loss::ExportFailed.as_str())],
                );
            })
            .build();
        let processed = self.stats();
        meter
            .u64_observable_counter(OTEL_SDK_PROCESSOR_SPAN_PROCESSED)
            .with_unit("{span}")
            .with_description(
                "Spans handed to the exporters, or lost before (with error.type: queue_full, shutdown).",
            )
            .with_callback(move |observer| {
                let now = processed.snapshot();
                observer.observe(now.exported + now.lost(Loss::ExportFailed), &[]);
                for reason in [Loss::QueueFull, Loss::Shutdown] {
                    observer.observe(
                        now.lost(reason),
                        &[KeyValue::new(ERROR_TYPE, reason.as_str())],
                    );
                }
            })
            .build();
        let queued = self.stats();
        meter
            .i64_observable_up_down_counter(OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE)
            .with_unit("{span}")
            .with_description("Spans waiting in the export queues.")
            .with_callback(move |observer| observer.observe(queued.snapshot().queued as i64, &[]))
            .build();
        let capacity = self.settings().capacity() as i64;
        meter
            .i64_observable_up_down_counter(OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY)
            .with_unit("{span}")
            .with_description("Spans the export queues can hold.")
            .with_callback(move |observer| observer.observe(capacity, &[]))
            .build();
    }
}
