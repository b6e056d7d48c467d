//! The batch processors every finished span goes to: `OTEL_BSP_MAX_CONCURRENT_EXPORTS` of the
//! SDK's own [`BatchSpanProcessor`] side by side, each with its own OTLP exporter and thread.
//!
//! Why several: one batch processor exports from one thread, and that thread is the ceiling of
//! a process's span rate (measured: ~195 k spans/s on a 16-core box while the request path made
//! far more). The SDK's processor with concurrent exports runs them as futures on one task, so
//! the encoding still happens on one core; N processors encode and send on N threads.
//!
//! A span goes to its thread's queue (no shared counter on the hot path) or, when that queue is
//! full, to the next with room; with all full it is counted as lost (`delivery.rs`).
//!
//! Defaults (each overridden by its `OTEL_BSP_*` variable) are sized so the 2-core benchmark at
//! saturation loses nothing; see docs/benchmark.md.
//!
//! Upstream: the SDK's thread-based processor ignores `OTEL_BSP_MAX_CONCURRENT_EXPORTS`
//! (opentelemetry-rust#3402, #2555) and drops spans on a full queue with only a count logged at
//! shutdown (#2273); its self-metrics (PR #3609) are not in 0.32.

use std::{
    cell::Cell,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::Context;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Span, SpanData, SpanExporter, SpanProcessor},
};

use crate::{
    delivery::{Delivery, DeliveryStats, Loss},
    error::CorrectionError,
    export::CountingExporter,
    settings::BatchSettings,
};

/// The queue each thread sends its spans to; threads are dealt out round-robin on first use.
fn home_queue(queues: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static HOME: Cell<Option<usize>> = const { Cell::new(None) });
    HOME.with(|home| {
        let index = home.get().unwrap_or_else(|| {
            let index = NEXT.fetch_add(1, Ordering::Relaxed);
            home.set(Some(index));
            index
        });
        index % queues
    })
}

/// `settings.queues` batch processors, one span processor; see the module comment.
#[derive(Debug)]
pub struct BatchQueues {
    processors: Box<[BatchSpanProcessor]>,
    capacity: usize,
    stats: Arc<DeliveryStats>,
    shut_down: AtomicBool,
}

impl BatchQueues {
    /// The queues `OTEL_BSP_*` ask for, each over its own exporter from `exporter`, and the
    /// [`Delivery`] that counts and reports what becomes of their spans.
    pub fn from_env<E, F, Error>(exporter: F) -> Result<(Self, Delivery), Error>
    where
        E: SpanExporter + 'static,
        F: FnMut() -> Result<E, Error>,
        Error: From<CorrectionError>,
    {
        let settings = BatchSettings::from_env()?;
        let stats = Arc::new(DeliveryStats::new(settings.queues));
        let queues = Self::new(settings, stats.clone(), exporter)?;
        Ok((queues, Delivery::start(stats, settings)))
    }

    /// One processor per queue, each over its own exporter from `exporter`.
    pub(crate) fn new<E, F, Error>(
        settings: BatchSettings,
        stats: Arc<DeliveryStats>,
        mut exporter: F,
    ) -> Result<Self, Error>
    where
        E: SpanExporter + 'static,
        F: FnMut() -> Result<E, Error>,
    {
        let capacity = settings.capacity_per_queue();
        let processors = (0..settings.queues)
            .map(|queue| {
                let config = BatchConfigBuilder::default()
                    .with_max_queue_size(capacity)
                    .with_max_export_batch_size(settings.max_export_batch_size.min(capacity))
                    .with_scheduled_delay(settings.schedule_delay)
                    .build();
                let exporter = CountingExporter::new(exporter()?, queue, stats.clone());
                Ok(BatchSpanProcessor::new(exporter, config))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            processors,
            capacity,
            stats,
            shut_down: AtomicBool::new(false),
        })
    }
}

impl SpanProcessor for BatchQueues {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if self.shut_down.load(Ordering::Relaxed) {
            self.stats.lost(Loss::Shutdown, 1);
            return;
        }
        let queues = self.processors.len();
        let home = home_queue(queues);
        let admitted = (0..queues)
            .map(|offset| (home + offset) % queues)
            .find(|&queue| self.stats.try_enqueue(queue, self.capacity));
        match admitted {
            Some(queue) => self.processors[queue].on_end(span),
            None => self.stats.lost(Loss::QueueFull, 1),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.processors
            .iter()
            .map(SpanProcessor::force_flush)
            .fold(Ok(()), Result::and)
    }

    /// Flushes every queue at once (each within `timeout`); what is still queued then is lost
    /// and counted.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shut_down.store(true, Ordering::Relaxed);
        let result = std::thread::scope(|scope| {
            let flushes: Vec<_> = self
                .processors
                .iter()
                .map(|processor| scope.spawn(move || processor.shutdown_with_timeout(timeout)))
                .collect();
            flushes
                .into_iter()
                .map(|flush| flush.join().unwrap_or(Ok(())))
                .fold(Ok(()), Result::and)
        });
        self.stats.close();
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        for processor in &mut self.processors {
            processor.set_resource(resource);
        }
    }
}
