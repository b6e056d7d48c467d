//! The OTLP exporter, wrapped so a missing Collector is one log line per interval, not one per
//! batch. The batch processor logs every failed export as an error; with a Collector down and
//! traffic flowing that is a flood. This wrapper counts failures, reports them at most once per
//! [`REPORT_INTERVAL`] (and once more at shutdown), and reports recovery.
//!
//! Memory stays bounded upstream of it: the batch processor's queue holds at most
//! `OTEL_BSP_MAX_QUEUE_SIZE` spans (default 2048); spans beyond it are dropped, and the SDK
//! logs that dropping started and, at shutdown, how many spans it dropped in total.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

/// At most one export-failure report per this interval.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Failures {
    batches: u64,
    spans: u64,
    last_error: String,
    last_report: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct ReportingExporter<E> {
    inner: E,
    failures: Mutex<Failures>,
}

impl<E> ReportingExporter<E> {
    pub(crate) fn new(inner: E) -> Self {
        Self {
            inner,
            failures: Mutex::default(),
        }
    }

    fn report(failures: &mut Failures, now: Instant) {
        tracing::warn!(
            failed_batches = failures.batches,
            lost_spans = failures.spans,
            last_error = %failures.last_error,
            "span export to the Collector is failing; requests are unaffected, these spans are lost \
             (reported at most every {}s)",
            REPORT_INTERVAL.as_secs()
        );
        failures.batches = 0;
        failures.spans = 0;
        failures.last_report = Some(now);
    }
}

impl<E: SpanExporter> SpanExporter for ReportingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = self.inner.export(batch).await;
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match result {
            Ok(()) => {
                if failures.last_report.is_some() || failures.batches > 0 {
                    tracing::info!(
                        unreported_lost_spans = failures.spans,
                        "span export to the Collector recovered"
                    );
                    *failures = Failures::default();
                }
            }
            Err(error) => {
                failures.batches += 1;
                failures.spans += count;
                failures.last_error = error.to_string();
                let due = failures
                    .last_report
                    .is_none_or(|last| now.duration_since(last) >= REPORT_INTERVAL);
                if due {
                    Self::report(&mut failures, now);
                }
            }
        }
        // Reported here; returning the error would make the batch processor log it again.
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.batches > 0 {
            Self::report(&mut failures, Instant::now());
        }
        drop(failures);
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
