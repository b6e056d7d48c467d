//! Builds the tracer provider and the subscriber from the standard `OTEL_*` variables.
//!
//! Why each choice:
//! - `SpanExporter::builder().build()` lets the SDK read `OTEL_EXPORTER_OTLP_ENDPOINT`,
//!   `..._PROTOCOL` (`http/protobuf` default, `grpc`), `..._HEADERS` and `..._TIMEOUT` itself, and
//!   appends `/v1/traces` to the generic endpoint as the spec says.
//! - The batch processor runs on its own OS thread, so the exporter uses the *blocking* reqwest
//!   client (an async client there has no reactor and panics, losing every span).
//! - `OTEL_SDK_DISABLED` is not read by the Rust SDK; we honour it here.
//! - Spans go to `OTEL_BSP_MAX_CONCURRENT_EXPORTS` batch processors side by side (`batch.rs`);
//!   every span is exported or counted as lost, and losses are reported (`delivery.rs`).
//! - The OpenTelemetry layer has its own filter, independent of `RUST_LOG`: a console log level
//!   must never remove spans from a trace.

use std::{sync::Arc, time::Duration};

use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_sdk::{
    Resource,
    resource::{EnvResourceDetector, SdkProvidedResourceDetector, TelemetryResourceDetector},
    trace::SdkTracerProvider,
};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{LevelFilter, Targets},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use crate::{
    batch::{BatchSettings, Batches},
    delivery::{DeliveryStats, REPORT_INTERVAL, Reporter},
    semconv::{DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_NAME, SERVICE_VERSION},
};

/// Spans never carry more than this after a shutdown request: the flush is bounded so a dead
/// Collector cannot hold a stopping container past its grace period.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why telemetry could not start; the service stops with it, naming the variable.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The `OTEL_EXPORTER_OTLP_*` settings do not make an exporter.
    #[error("cannot build the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("cannot install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
    /// `OTEL_PROPAGATORS` names a propagator we do not have.
    #[error("invalid {0}")]
    Propagators(String),
    /// An `OTEL_BSP_*` variable is not a positive number.
    #[error("invalid {0} value {1:?}: expected a positive whole number")]
    BatchSetting(&'static str, String),
    /// `OTEL_SDK_DISABLED` is neither true nor false.
    #[error("invalid OTEL_SDK_DISABLED value {0:?}: expected true or false")]
    SdkDisabled(String),
    /// The content-capture switch has an unknown value.
    #[error(
        "invalid OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT value {0:?}: expected true, false, \
         NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT"
    )]
    ContentCapture(String),
}

/// Owns the tracer provider. Call [`Telemetry::shutdown`] once the server has drained; dropping
/// it without that loses whatever the batch processor still holds.
#[derive(Debug)]
#[must_use = "call shutdown() after the server stops, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    delivery: Option<(Arc<DeliveryStats>, Reporter)>,
}

impl Telemetry {
    /// What became of the spans so far (exported, lost by reason, queued); `None` when the SDK
    /// is disabled.
    pub fn delivery(&self) -> Option<Arc<DeliveryStats>> {
        self.delivery.as_ref().map(|(stats, _)| stats.clone())
    }

    /// Flushes every queued span, stops the exporters and logs the delivery totals. Runs on a
    /// blocking thread because the SDK's shutdown blocks until the export finishes.
    pub async fn shutdown(self) {
        let (Some(provider), Some((_, reporter))) = (self.provider, self.delivery) else {
            return;
        };
        let result = tokio::task::spawn_blocking(move || {
            let result = provider.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT);
            reporter.stop();
            result
        })
        .await;
        match result {
            Ok(Ok(())) => tracing::info!("telemetry shut down"),
            Ok(Err(error)) => tracing::warn!(%error, "telemetry shutdown incomplete"),
            Err(error) => tracing::warn!(%error, "telemetry shutdown task failed"),
        }
    }
}

/// Installs propagators, the exporter pipeline and the global subscriber.
///
/// `default_service_name` applies only when neither `OTEL_SERVICE_NAME` nor a `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES` is set; `service_version` is the caller's `CARGO_PKG_VERSION`.
pub fn init(
    default_service_name: &'static str,
    service_version: &'static str,
) -> Result<Telemetry, TelemetryError> {
    // The formats `OTEL_PROPAGATORS` names (default: W3C `traceparent`/`tracestate` and
    // `baggage`, ours, stricter than the SDK's — see w3c.rs). Without a global propagator the
    // default is a no-op and every service silently starts its own trace.
    global::set_text_map_propagator(crate::propagators::from_env()?);

    let console = tracing_subscriber::fmt::layer()
        .with_target(false)
        // Colour codes only on a terminal, never in `docker logs` or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_filter(console_filter());

    let capture = crate::genai::init_capture()?;
    if sdk_disabled()? {
        // Spans off, propagation on: the API's no-op tracer gives every span its parent's
        // context unchanged, so a caller's `traceparent` and `baggage` still reach the agent —
        // what the spec asks of the API without an SDK. Cutting them would split the trace of
        // a traced system this service sits in the middle of.
        let passthrough = otel_layer(opentelemetry::trace::noop::NoopTracer::new());
        tracing_subscriber::registry()
            .with(console)
            .with(passthrough)
            .try_init()?;
        tracing::info!(
            "OTEL_SDK_DISABLED=true: spans are not recorded or exported; trace context and \
             baggage are passed on"
        );
        return Ok(Telemetry {
            provider: None,
            delivery: None,
        });
    }

    let settings = BatchSettings::from_env()?;
    let stats = Arc::new(DeliveryStats::new(settings.queues));
    let batches = Batches::new(settings, stats.clone(), || {
        Ok(opentelemetry_otlp::SpanExporter::builder().build()?)
    })?;
    let provider = SdkTracerProvider::builder()
        .with_resource(resource(default_service_name, service_version))
        // One processor: the session wrapper around the batch processors (see genai/session.rs).
        .with_span_processor(crate::genai::SessionSpanProcessor::new(batches))
        .build();
    global::set_tracer_provider(provider.clone());

    let otel = otel_layer(provider.tracer("telemetry"));

    tracing_subscriber::registry()
        .with(console)
        .with(otel)
        .try_init()?;
    tracing::info!(
        content_capture = ?capture,
        export_queues = settings.queues,
        max_queue_size = settings.max_queue_size,
        "tracing to OTLP"
    );
    Ok(Telemetry {
        provider: Some(provider),
        delivery: Some((stats.clone(), Reporter::start(stats, REPORT_INTERVAL))),
    })
}

/// The tracing → OpenTelemetry bridge over `tracer`, with its own filter.
fn otel_layer<S, T>(tracer: T) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    T: opentelemetry::trace::Tracer + Send + Sync + 'static,
    T::Span: Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Keep exported spans about the request, not about the process.
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        // INFO spans are the trace; crates' DEBUG/TRACE spans stay out whatever RUST_LOG says,
        // and so do the events of crates that log provider bodies (they would become span
        // events carrying content).
        .with_filter(QUIET_TARGETS.iter().fold(
            Targets::new().with_default(LevelFilter::INFO),
            |targets, target| targets.with_target(*target, LevelFilter::OFF),
        ))
}

/// Crates whose log lines carry what a provider sent: async-openai logs raw error bodies (WARN)
/// and, on a response it cannot parse, the whole body (ERROR) — prompts and answers included,
/// whatever the content-capture switch says. Off unless `RUST_LOG` names them.
const QUIET_TARGETS: &[&str] = &["async_openai"];

/// Crates that log a WARN line per event we already record better: reqwest-retry logs every
/// connect retry, while each attempt is its own failed CLIENT span and the request's failure is
/// logged once (rate-limited) by `service-kit`. ERROR only unless `RUST_LOG` names them.
const TERSE_TARGETS: &[&str] = &["reqwest_retry"];

/// `RUST_LOG` (default `info`) for the console, with [`QUIET_TARGETS`] off and
/// [`TERSE_TARGETS`] at ERROR unless named there.
fn console_filter() -> EnvFilter {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let defaults = QUIET_TARGETS
        .iter()
        .map(|target| format!("{target}=off"))
        .chain(TERSE_TARGETS.iter().map(|target| format!("{target}=error")));
    defaults
        .filter(|directive| !rust_log.contains(directive.split('=').next().unwrap_or_default()))
        .fold(filter, |filter, directive| {
            filter.add_directive(directive.parse().expect("a static directive"))
        })
}

/// Our defaults first, then `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME`: later wins, so
/// the environment always overrides the code.
fn resource(default_service_name: &'static str, service_version: &'static str) -> Resource {
    let mut builder = Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes([
            KeyValue::new(SERVICE_NAME, default_service_name),
            KeyValue::new(SERVICE_VERSION, service_version),
            KeyValue::new(DEPLOYMENT_ENVIRONMENT_NAME, "development"),
        ])
        .with_detector(Box::new(EnvResourceDetector::new()));
    if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|name| !name.trim().is_empty()) {
        builder = builder.with_detector(Box::new(SdkProvidedResourceDetector));
    }
    builder.build()
}

/// `OTEL_SDK_DISABLED` as the spec defines it: case-insensitive `true` disables; unset, empty or
/// `false` leaves the SDK on; anything else is a configuration error, reported at start.
fn sdk_disabled() -> Result<bool, TelemetryError> {
    match std::env::var("OTEL_SDK_DISABLED") {
        Err(_) => Ok(false),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "false" => Ok(false),
            "true" => Ok(true),
            _ => Err(TelemetryError::SdkDisabled(value)),
        },
    }
}
