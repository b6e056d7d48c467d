//! The OTLP exporter of one batch queue, wrapped to count what it delivers and what it loses
//! (`delivery.rs` reports the counts). The batch processor would log every failed export as an
//! error — with a Collector down and traffic flowing, a flood — so failures are counted and
//! reported here instead, and the processor is told all went well.

use std::{sync::Arc, time::Duration};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

use crate::delivery::DeliveryStats;

#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    inner: E,
    queue: usize,
    stats: Arc<DeliveryStats>,
}

impl<E> CountingExporter<E> {
    /// Exports for batch queue `queue`, counting into `stats`.
    pub(crate) fn new(inner: E, queue: usize, stats: Arc<DeliveryStats>) -> Self {
        Self {
            inner,
            queue,
            stats,
        }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        // These spans leave the queue: its room is free for new ones while they travel.
        if !self.stats.export_started(self.queue, count) {
            return Ok(()); // after shutdown gave up on them; already counted as lost
        }
        let result = self.inner.export(batch).await;
        self.stats
            .export_finished(count, result.map_err(|error| error.to_string()));
        // Counted and reported; an error here would make the batch processor log it again.
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
