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
//! saturation loses nothing; see the README's benchmark section.

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
    TelemetryError,
    delivery::{DeliveryStats, Loss},
    export::CountingExporter,
};

/// The batch settings, from `OTEL_BSP_*` or our defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchSettings {
    /// Batch processors side by side (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
    pub(crate) queues: usize,
    /// Spans held across all queues (`OTEL_BSP_MAX_QUEUE_SIZE`).
    pub(crate) max_queue_size: usize,
    /// Spans per export (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub(crate) max_export_batch_size: usize,
    /// Longest wait before a partial batch is sent (`OTEL_BSP_SCHEDULE_DELAY`, ms).
    pub(crate) schedule_delay: Duration,
}

impl BatchSettings {
    /// Our defaults: a queue that absorbs a second of this machine's peak span rate, batches
    /// big enough that each export's fixed cost is small per span, a 1 s delay so spans reach
    /// the UI quickly, and one export thread per four cores.
    pub(crate) fn defaults(cores: usize) -> Self {
        Self {
            queues: cores.div_ceil(4).max(1),
            max_queue_size: 16_384,
            max_export_batch_size: 1_024,
            schedule_delay: Duration::from_millis(1_000),
        }
    }

    /// The defaults, each replaced by its variable when set. A value that is not a positive
    /// number is a start-up error naming the variable.
    pub(crate) fn from_env() -> Result<Self, TelemetryError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::from_lookup(cores, |name| std::env::var(name).ok())
    }

    fn from_lookup(
        cores: usize,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let defaults = Self::defaults(cores);
        let read = |name: &'static str, default: usize| -> Result<usize, TelemetryError> {
            match lookup(name) {
                None => Ok(default),
                Some(value) => match value.trim().parse::<usize>() {
                    Ok(number) if number > 0 => Ok(number),
                    _ => Err(TelemetryError::BatchSetting(name, value)),
                },
            }
        };
        let settings = Self {
            queues: read("OTEL_BSP_MAX_CONCURRENT_EXPORTS", defaults.queues)?,
            max_queue_size: read("OTEL_BSP_MAX_QUEUE_SIZE", defaults.max_queue_size)?,
            max_export_batch_size: read(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                defaults.max_export_batch_size,
            )?,
            schedule_delay: Duration::from_millis(read(
                "OTEL_BSP_SCHEDULE_DELAY",
                defaults.schedule_delay.as_millis() as usize,
            )? as u64),
        };
        Ok(settings)
    }

    /// Spans all queues hold together (the queue-capacity metric).
    pub(crate) fn capacity(&self) -> usize {
        self.capacity_per_queue() * self.queues
    }

    /// Each queue's share of the total, never below one batch.
    fn capacity_per_queue(&self) -> usize {
        (self.max_queue_size / self.queues).max(self.max_export_batch_size.min(self.max_queue_size))
    }
}

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

/// `settings.queues` batch processors; see the module comment.
#[derive(Debug)]
pub(crate) struct Batches {
    processors: Box<[BatchSpanProcessor]>,
    capacity: usize,
    stats: Arc<DeliveryStats>,
    shut_down: AtomicBool,
}

impl Batches {
    /// One processor per queue, each over its own exporter from `exporter`.
    pub(crate) fn new<E, F>(
        settings: BatchSettings,
        stats: Arc<DeliveryStats>,
        mut exporter: F,
    ) -> Result<Self, TelemetryError>
    where
        E: SpanExporter + 'static,
        F: FnMut() -> Result<E, TelemetryError>,
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
            .collect::<Result<_, TelemetryError>>()?;
        Ok(Self {
            processors,
            capacity,
            stats,
            shut_down: AtomicBool::new(false),
        })
    }
}

impl SpanProcessor for Batches {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<BatchSettings, TelemetryError> {
        BatchSettings::from_lookup(8, |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        assert_eq!(settings(&[]).unwrap(), BatchSettings::defaults(8));
        assert_eq!(BatchSettings::defaults(8).queues, 2);
        assert_eq!(BatchSettings::defaults(1).queues, 1);
    }

    #[test]
    fn each_variable_overrides_its_default() {
        let settings = settings(&[
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "3"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "300"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"),
            ("OTEL_BSP_SCHEDULE_DELAY", "20"),
        ])
        .unwrap();
        assert_eq!(
            settings,
            BatchSettings {
                queues: 3,
                max_queue_size: 300,
                max_export_batch_size: 50,
                schedule_delay: Duration::from_millis(20),
            }
        );
        assert_eq!(settings.capacity_per_queue(), 100);
    }

    #[test]
    fn a_queue_never_holds_less_than_a_batch() {
        let settings = settings(&[
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "4"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"),
        ])
        .unwrap();
        assert_eq!(settings.capacity_per_queue(), 50);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for value in ["0", "-1", "lots", ""] {
            let error = settings(&[("OTEL_BSP_MAX_QUEUE_SIZE", value)]).unwrap_err();
            assert!(
                error.to_string().contains("OTEL_BSP_MAX_QUEUE_SIZE"),
                "{error}"
            );
        }
    }
}
