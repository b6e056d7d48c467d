//! Metrics: the meter provider (a periodic reader over OTLP to the same Collector as the spans)
//! and every instrument the services record, with the names, units and bucket boundaries the
//! semantic conventions give.
//!
//! - `http.server.request.duration` (both services, `http_server.rs`) and
//!   `http.client.request.duration` (the orchestrator's agent calls, `http_client.rs`);
//! - `gen_ai.client.operation.duration` and `gen_ai.client.token.usage` (each chat call,
//!   `genai/metrics.rs`), and for streamed calls only `gen_ai.client.operation.time_to_first_chunk`
//!   and `gen_ai.client.operation.time_per_output_chunk`;
//! - the span pipeline's health, `otel.sdk.*` (registered by `sdk_corrections::Delivery`: the
//!   SDK does not emit them).
//!
//! Configured by the standard variables: `OTEL_METRICS_EXPORTER` (`otlp`, the default, or
//! `none`), `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60 000), `OTEL_EXPORTER_OTLP_METRICS_*`
//! over `OTEL_EXPORTER_OTLP_*`. Without a provider (metrics off, SDK disabled, unit tests) every
//! instrument is the API's no-op.

use std::sync::OnceLock;

use opentelemetry::{global, metrics::Meter};
use opentelemetry_sdk::{Resource, metrics::SdkMeterProvider};

use crate::{bound_histogram::BoundHistograms, error::TelemetryError, semconv};

/// `http.*.request.duration` buckets, seconds (HTTP semantic conventions).
const HTTP_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// `gen_ai.client.operation.duration` buckets, seconds (GenAI semantic conventions).
const GENAI_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.client.operation.time_per_output_chunk` buckets, seconds (GenAI semantic
/// conventions; `time_to_first_chunk` uses the duration buckets above).
const GENAI_CHUNK_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// `gen_ai.client.token.usage` buckets, tokens (GenAI semantic conventions).
const GENAI_TOKEN_BUCKETS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// Builds the meter provider, or `None` when `OTEL_METRICS_EXPORTER=none`.
pub(crate) fn provider(resource: Resource) -> Result<Option<SdkMeterProvider>, TelemetryError> {
    if !sdk_corrections::exporter_enabled("OTEL_METRICS_EXPORTER")? {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::MetricExporter::builder().build()?;
    // The reader reads OTEL_METRIC_EXPORT_INTERVAL and exports from its own thread, which is
    // why the exporter uses the blocking HTTP client, as the span exporter does.
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).build();
    Ok(Some(
        SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build(),
    ))
}

/// The meter every instrument of ours comes from.
pub(crate) fn meter() -> Meter {
    global::meter("telemetry")
}

/// The request-path instruments, made on first use (after `init` has set the provider). Each
/// binds an attribute set the first time it sees it (`bound_histogram.rs`).
pub(crate) struct Instruments {
    pub(crate) http_server_duration: BoundHistograms<f64>,
    pub(crate) http_client_duration: BoundHistograms<f64>,
    pub(crate) genai_duration: BoundHistograms<f64>,
    pub(crate) genai_tokens: BoundHistograms<u64>,
    pub(crate) genai_time_to_first_chunk: BoundHistograms<f64>,
    pub(crate) genai_time_per_output_chunk: BoundHistograms<f64>,
}

pub(crate) fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = meter();
        let seconds = |name: &'static str, description: &'static str, buckets: &[f64]| {
            BoundHistograms::new(
                meter
                    .f64_histogram(name)
                    .with_unit("s")
                    .with_description(description)
                    .with_boundaries(buckets.to_vec())
                    .build(),
            )
        };
        Instruments {
            http_server_duration: seconds(
                semconv::HTTP_SERVER_REQUEST_DURATION,
                "Duration of HTTP server requests.",
                HTTP_DURATION_BUCKETS,
            ),
            http_client_duration: seconds(
                semconv::HTTP_CLIENT_REQUEST_DURATION,
                "Duration of HTTP client requests.",
                HTTP_DURATION_BUCKETS,
            ),
            genai_duration: seconds(
                semconv::GEN_AI_CLIENT_OPERATION_DURATION,
                "GenAI operation duration.",
                GENAI_DURATION_BUCKETS,
            ),
            genai_tokens: BoundHistograms::new(
                meter
                    .u64_histogram(semconv::GEN_AI_CLIENT_TOKEN_USAGE)
                    .with_unit("{token}")
                    .with_description("Number of input and output tokens used.")
                    .with_boundaries(GENAI_TOKEN_BUCKETS.to_vec())
                    .build(),
            ),
            genai_time_to_first_chunk: seconds(
                semconv::GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk of a streamed response.",
                GENAI_DURATION_BUCKETS,
            ),
            genai_time_per_output_chunk: seconds(
                semconv::GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
                "Time per output chunk after the first, of a streamed response.",
                GENAI_CHUNK_BUCKETS,
            ),
        }
    })
}
