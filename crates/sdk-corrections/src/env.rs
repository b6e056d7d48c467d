//! The general SDK variables the Rust SDK does not read (opentelemetry-rust#1936 for
//! `OTEL_SDK_DISABLED`; the `OTEL_*_EXPORTER` selectors likewise have no reader there): read
//! here as the SDK environment specification defines them.

use crate::error::CorrectionError;

/// `OTEL_SDK_DISABLED`: case-insensitive `true` disables; unset, empty or `false` leaves the SDK
/// on; anything else is a configuration error, reported at start.
pub fn sdk_disabled() -> Result<bool, CorrectionError> {
    match std::env::var("OTEL_SDK_DISABLED") {
        Err(_) => Ok(false),
        Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
            "" | "false" => Ok(false),
            "true" => Ok(true),
            _ => Err(CorrectionError::SdkDisabled(value)),
        },
    }
}

/// `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` (`variable`): `otlp` (or unset) exports,
/// `none` does not; anything else is a start-up error naming the variable.
pub fn exporter_enabled(variable: &'static str) -> Result<bool, CorrectionError> {
    match std::env::var(variable).unwrap_or_default().trim() {
        "" | "otlp" => Ok(true),
        "none" => Ok(false),
        other => Err(CorrectionError::UnknownExporter(variable, other.to_owned())),
    }
}
