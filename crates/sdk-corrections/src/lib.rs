//! Where this project corrects or extends the OpenTelemetry Rust SDK (the 0.32 line we are
//! pinned to). The `telemetry` crate wires the SDK the way its examples do; each thing it needs
//! that the SDK does not do (or does against the spec) is one named item here, and nothing else
//! is. `README.md` beside this crate lists every gap with its upstream issue and the test in
//! `tests/upstream.rs` that fails when upstream catches up — then delete the piece.
//!
//! - [`BatchQueues`] (`batch.rs`, `export.rs`): `OTEL_BSP_MAX_CONCURRENT_EXPORTS` export queues,
//!   each the SDK's own `BatchSpanProcessor`, with every span exported or counted as lost.
//! - [`Delivery`] (`delivery.rs`, `delivery_metrics.rs`): those counts, the loss reports in the
//!   log, and the `otel.sdk.*` span-pipeline metrics the SDK does not emit.
//! - [`OtlpSpanExporter`] (`otlp_export.rs`, `otlp_encoding.rs`): opentelemetry-otlp's span
//!   exporter with the `http/protobuf` body written straight from the spans, without the
//!   intermediate copies that make up most of a span's export cost.
//! - [`BaggageAttributes`] (`baggage_attributes.rs`): copies a baggage entry onto every span, each
//!   attribute key once.
//! - [`w3c`]: `traceparent`/`tracestate`/`baggage` propagators to the letter of the W3C specs.
//! - [`propagator_from_env`] (`propagators.rs`): `OTEL_PROPAGATORS`, which the SDK does not read.
//! - [`sdk_disabled`], [`exporter_enabled`] (`env.rs`): `OTEL_SDK_DISABLED` and
//!   `OTEL_{METRICS,LOGS}_EXPORTER`, which the SDK does not read either.
//! - [`PlainLogRecords`] (`log_records.rs`): log records without a made-up event name, with a
//!   timestamp (the `tracing` bridge sets neither right).

#![warn(missing_docs)]

mod baggage_attributes;
mod batch;
mod delivery;
mod delivery_metrics;
mod env;
mod error;
mod export;
mod log_records;
mod otlp_encoding;
mod otlp_export;
mod propagators;
mod settings;
pub mod w3c;

pub use baggage_attributes::BaggageAttributes;
pub use batch::BatchQueues;
pub use delivery::{Delivery, DeliverySnapshot, DeliveryStats, Loss};
pub use env::{exporter_enabled, sdk_disabled};
pub use error::CorrectionError;
pub use log_records::{PlainLogRecords, is_default_event_name};
pub use otlp_encoding::TraceEncoder;
pub use otlp_export::OtlpSpanExporter;
pub use propagators::propagator_from_env;
pub use settings::BatchSettings;
