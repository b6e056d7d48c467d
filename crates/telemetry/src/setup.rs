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

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use opentelemetry::{KeyValue, global, trace::TracerProvider as _};
use opentelemetry_sdk::{
    Resource,
    logs::SdkLoggerProvider,
    metrics::SdkMeterProvider,
    resource::{EnvResourceDetector, SdkProvidedResourceDetector, TelemetryResourceDetector},
    trace::SdkTracerProvider,
};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt, FilterFn, LevelFilter, Targets},
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use crate::{
    batch::{BatchSettings, Batches},
    console::{LogFormat, WithTraceIds},
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
    #[error("cannot build an OTLP exporter: {0}")]
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
    /// `OTEL_METRICS_EXPORTER` or `OTEL_LOGS_EXPORTER` names an exporter we do not have.
    #[error("invalid {0} value {1:?}: expected otlp or none")]
    UnknownExporter(&'static str, String),
    /// `LOG_FORMAT` is neither text nor json.
    #[error("invalid LOG_FORMAT value {0:?}: expected text or json")]
    LogFormat(String),
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
    meters: Option<SdkMeterProvider>,
    logs: Option<SdkLoggerProvider>,
    delivery: Option<(Arc<DeliveryStats>, Reporter)>,
}

impl Telemetry {
    /// What became of the spans so far (exported, lost by reason, queued); `None` when the SDK
    /// is disabled.
    pub fn delivery(&self) -> Option<Arc<DeliveryStats>> {
        self.delivery.as_ref().map(|(stats, _)| stats.clone())
    }

    /// Flushes every queued span, stops the exporters, logs the delivery totals and exports
    /// the metrics a last time (so they include those totals). Runs on a blocking thread
    /// because the SDK's shutdowns block until their exports finish.
    pub async fn shutdown(self) {
        let (Some(provider), Some((_, reporter))) = (self.provider, self.delivery) else {
            return;
        };
        let (meters, logs) = (self.meters, self.logs);
        let result = tokio::task::spawn_blocking(move || {
            let result = provider.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT);
            reporter.stop();
            if let Some(meters) = meters
                && let Err(error) = meters.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT)
            {
                tracing::warn!(%error, "metrics shutdown incomplete");
            }
            match &result {
                Ok(()) => tracing::info!("telemetry shut down"),
                Err(error) => tracing::warn!(%error, "telemetry shutdown incomplete"),
            }
            // Logs last, so the lines above are exported too; later events go to the console
            // only.
            if let Some(logs) = logs {
                LOG_RECORDS_OPEN.store(false, Ordering::Relaxed);
                if let Err(error) = logs.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT) {
                    tracing::warn!(%error, "log export shutdown incomplete");
                }
            }
        })
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "telemetry shutdown task failed");
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
        .event_format(WithTraceIds {
            format: LogFormat::from_env()?,
        })
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
            meters: None,
            logs: None,
            delivery: None,
        });
    }

    let settings = BatchSettings::from_env()?;
    let stats = Arc::new(DeliveryStats::new(settings.queues));
    let batches = Batches::new(settings, stats.clone(), || {
        Ok(opentelemetry_otlp::SpanExporter::builder().build()?)
    })?;
    let resource = resource(default_service_name, service_version);
    let meters = crate::metrics::provider(resource.clone())?;
    let logs = crate::logs::provider(resource.clone())?;
    if let Some(meters) = &meters {
        global::set_meter_provider(meters.clone());
        crate::metrics::observe_delivery(&stats, settings.capacity());
    }
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        // One processor: the session wrapper around the batch processors (see genai/session.rs).
        .with_span_processor(crate::genai::SessionSpanProcessor::new(batches))
        .build();
    global::set_tracer_provider(provider.clone());

    let otel = otel_layer(provider.tracer("telemetry"));
    let log_records = logs.as_ref().map(|logs| {
        opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(logs).with_filter(
            export_filter().and(FilterFn::new(|_| LOG_RECORDS_OPEN.load(Ordering::Relaxed))),
        )
    });

    tracing_subscriber::registry()
        .with(console)
        .with(otel)
        .with(log_records)
        .try_init()?;
    tracing::info!(
        content_capture = ?capture,
        export_queues = settings.queues,
        max_queue_size = settings.max_queue_size,
        metrics = meters.is_some(),
        "tracing to OTLP"
    );
    Ok(Telemetry {
        provider: Some(provider),
        meters,
        logs,
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
        .with_filter(export_filter())
}

/// Whether events still become OTLP log records: false once the logger provider shuts down, so
/// the last console lines are not also handed to a stopped exporter.
static LOG_RECORDS_OPEN: AtomicBool = AtomicBool::new(true);

/// What leaves the process as spans, span events and log records, independent of `RUST_LOG`:
/// INFO and above (crates' DEBUG/TRACE stay out), never the crates that log provider bodies
/// (they would carry content), and never the OpenTelemetry crates' own diagnostics (a failing
/// export would log into the export).
fn export_filter() -> Targets {
    QUIET_TARGETS.iter().chain(&["opentelemetry"]).fold(
        Targets::new().with_default(LevelFilter::INFO),
        |targets, target| targets.with_target(*target, LevelFilter::OFF),
    )
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

/// `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER`: `otlp` (or unset) exports, `none` does not;
/// anything else is a start-up error naming the variable.
pub(crate) fn otlp_exporter_enabled(variable: &'static str) -> Result<bool, TelemetryError> {
    match std::env::var(variable).unwrap_or_default().trim() {
        "" | "otlp" => Ok(true),
        "none" => Ok(false),
        other => Err(TelemetryError::UnknownExporter(variable, other.to_owned())),
    }
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
