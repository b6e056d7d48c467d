//! Why a correction could not be set up: a spec variable with a value we cannot honour. The
//! service stops at start with the variable named; nothing is silently ignored.

/// A spec variable with a value we cannot honour.
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// `OTEL_PROPAGATORS` names a propagator we do not have.
    #[error("invalid {0}")]
    Propagators(String),
    /// An `OTEL_BSP_*` variable is not a positive number.
    #[error("invalid {0} value {1:?}: expected a positive whole number")]
    BatchSetting(&'static str, String),
    /// `OTEL_METRICS_EXPORTER` or `OTEL_LOGS_EXPORTER` names an exporter we do not have.
    #[error("invalid {0} value {1:?}: expected otlp or none")]
    UnknownExporter(&'static str, String),
    /// `OTEL_SDK_DISABLED` is neither true nor false.
    #[error("invalid OTEL_SDK_DISABLED value {0:?}: expected true or false")]
    SdkDisabled(String),
}
