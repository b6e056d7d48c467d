//! Log records over OTLP: every `tracing` event at INFO and above (whatever `RUST_LOG` says for
//! the console) also becomes an OpenTelemetry log record, through the opentelemetry-rust
//! project's bridge (opentelemetry-appender-tracing), batched to the same Collector as the
//! spans. The SDK stamps each record with the trace and span id of the span it was logged in.
//!
//! A record's attributes are the event's fields, so those use registry names (`server.port`,
//! `error.type`, …) or, where the registry has none, our namespace `agent_tracing.*`, defined in
//! `semconv/model/` (see docs/semconv.md).
//!
//! `OTEL_LOGS_EXPORTER` (`otlp`, the default, or `none`), `OTEL_BLRP_*` and
//! `OTEL_EXPORTER_OTLP_LOGS_*` over `OTEL_EXPORTER_OTLP_*` configure it. No content reaches a
//! record: we never log prompts, answers or tool payloads, and the crates that log provider
//! bodies are filtered out (`filters.rs`).

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::{
    Resource,
    logs::{BatchLogProcessor, SdkLoggerProvider},
};
use sdk_corrections::PlainLogRecords;
use tracing_subscriber::{
    Layer,
    filter::{FilterExt, FilterFn},
};

use crate::{error::TelemetryError, filters::export_filter};

/// Builds the logger provider, or `None` when `OTEL_LOGS_EXPORTER=none`.
pub(crate) fn provider(resource: Resource) -> Result<Option<SdkLoggerProvider>, TelemetryError> {
    if !sdk_corrections::exporter_enabled("OTEL_LOGS_EXPORTER")? {
        return Ok(None);
    }
    // The batch processor exports from its own thread: the blocking HTTP client, as for spans.
    let exporter = opentelemetry_otlp::LogExporter::builder().build()?;
    // Plain log lines leave without a made-up event name and with a timestamp (the bridge
    // sets neither right; sdk-corrections' README).
    let processor = PlainLogRecords::new(BatchLogProcessor::builder(exporter).build());
    Ok(Some(
        SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_log_processor(processor)
            .build(),
    ))
}

/// The tracing → log records layer over `provider`, until [`close`] is called.
pub(crate) fn bridge<S>(provider: &SdkLoggerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    OpenTelemetryTracingBridge::new(provider)
        .with_filter(export_filter().and(FilterFn::new(|_| OPEN.load(Ordering::Relaxed))))
}

/// Stops turning events into log records: the logger provider is shutting down, and the last
/// console lines must not be handed to a stopped exporter.
pub(crate) fn close() {
    OPEN.store(false, Ordering::Relaxed);
}

static OPEN: AtomicBool = AtomicBool::new(true);
