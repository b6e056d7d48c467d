//! Why telemetry could not start. The service stops with it, naming the variable: a setting we
//! cannot honour is never silently ignored.

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The `OTEL_EXPORTER_OTLP_*` settings do not make an exporter.
    #[error("cannot build an OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("cannot install the tracing subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
    /// A spec variable the SDK does not read, read by `sdk_corrections`, has a bad value.
    #[error(transparent)]
    Setting(#[from] sdk_corrections::CorrectionError),
    /// `LOG_FORMAT` is neither text nor json.
    #[error("invalid LOG_FORMAT value {0:?}: expected text or json")]
    LogFormat(String),
    /// The content-capture switch has an unknown value.
    #[error(
        "invalid OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT value {0:?}: expected true, false, \
         NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT"
    )]
    ContentCapture(String),
}
