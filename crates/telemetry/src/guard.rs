//! [`Telemetry`]: the providers `init` built, owned by `main` until the server has drained, then
//! shut down in the upstream examples' order — traces, metrics, logs last so the lines about the
//! shutdown are exported too.

use std::time::Duration;

use opentelemetry_sdk::{
    logs::SdkLoggerProvider, metrics::SdkMeterProvider, trace::SdkTracerProvider,
};
use sdk_corrections::{Delivery, DeliveryStats};

/// The flush at shutdown is bounded so a dead Collector cannot hold a stopping container past
/// its grace period.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Owns the providers. Call [`Telemetry::shutdown`] once the server has drained; dropping it
/// without that loses whatever the batch processors still hold.
#[derive(Debug)]
#[must_use = "call shutdown() after the server stops, or the last spans are lost"]
pub struct Telemetry {
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    pub(crate) meter_provider: Option<SdkMeterProvider>,
    pub(crate) logger_provider: Option<SdkLoggerProvider>,
    pub(crate) delivery: Option<Delivery>,
}

impl Telemetry {
    /// What became of the spans so far (exported, lost by reason, queued); `None` when the SDK
    /// is disabled.
    pub fn delivery(&self) -> Option<std::sync::Arc<DeliveryStats>> {
        self.delivery.as_ref().map(Delivery::stats)
    }

    /// Flushes every queued span, stops the exporters, logs the delivery totals and exports
    /// the metrics a last time (so they include those totals). Runs on a blocking thread
    /// because the SDK's shutdowns block until their exports finish.
    pub async fn shutdown(self) {
        let Self {
            tracer_provider: Some(tracer_provider),
            meter_provider,
            logger_provider,
            delivery: Some(delivery),
        } = self
        else {
            return;
        };
        let result = tokio::task::spawn_blocking(move || {
            let result = tracer_provider.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT);
            delivery.stop();
            if let Some(meter_provider) = meter_provider
                && let Err(error) = meter_provider.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT)
            {
                tracing::warn!(error.message = %error, "metrics shutdown incomplete");
            }
            match &result {
                Ok(()) => tracing::info!("telemetry shut down"),
                Err(error) => {
                    tracing::warn!(error.message = %error, "telemetry shutdown incomplete")
                }
            }
            if let Some(logger_provider) = logger_provider {
                crate::logs::close();
                if let Err(error) = logger_provider.shutdown_with_timeout(SHUTDOWN_FLUSH_TIMEOUT) {
                    tracing::warn!(error.message = %error, "log export shutdown incomplete");
                }
            }
        })
        .await;
        if let Err(error) = result {
            tracing::warn!(error.message = %error, "telemetry shutdown task failed");
        }
    }
}
