//! What became of every finished span: exported, or lost — and why. Nothing is lost silently.
//!
//! The counts are exact. The batch processors (`batch.rs`) admit a span only while their queue
//! has room, so a span is either queued (and then exported or failed, counted by `export.rs`)
//! or refused on the spot and counted as [`Loss::QueueFull`]. What a shutdown leaves unsent is
//! [`Loss::Shutdown`].
//!
//! [`Reporter`] turns the counts into log lines: the first loss at once, then a summary at most
//! every [`REPORT_INTERVAL`] while losses continue, and the totals at shutdown. [`Delivery`]
//! holds the two for the telemetry guard.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use crate::settings::BatchSettings;

/// At most one loss report per this interval (plus the first loss, at once, and the totals at
/// shutdown).
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(30);

/// Why a span never reached the Collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The batch queue was full: spans were ending faster than they could be exported.
    QueueFull,
    /// The export failed (after the exporter's retries): Collector down, refusing or too slow.
    ExportFailed,
    /// Still queued when the shutdown flush ran out of time, or ended after shutdown.
    Shutdown,
}

impl Loss {
    /// All reasons, in report order.
    pub const ALL: [Loss; 3] = [Loss::QueueFull, Loss::ExportFailed, Loss::Shutdown];

    /// The reason as a low-cardinality label (log field, metric attribute).
    pub fn as_str(self) -> &'static str {
        match self {
            Loss::QueueFull => "queue_full",
            Loss::ExportFailed => "export_failed",
            Loss::Shutdown => "shutdown",
        }
    }
}

/// Counters shared by the processors, the exporters and the reporter: monotonic totals a
/// metrics reader can expose as they are, and each batch queue's fill level, which is also
/// what admits a span to its queue.
#[derive(Debug)]
pub struct DeliveryStats {
    exported: AtomicU64,
    lost: [AtomicU64; 3],
    queues: Box<[AtomicUsize]>,
    loss_seen: AtomicBool,
    exports: Mutex<Exports>,
}

/// Batches being exported, and whether the books are closed: settled under one lock (taken
/// once per batch) so a shutdown that gives up on a slow export counts its spans exactly once.
#[derive(Debug, Default)]
struct Exports {
    in_flight: usize,
    closed: bool,
    /// The last export failed (recovery is said once, by whichever queue's export succeeds).
    failing: bool,
    last_error: String,
}

/// One reading of [`DeliveryStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliverySnapshot {
    /// Spans the Collector accepted.
    pub exported: u64,
    /// Spans lost, by [`Loss`] in [`Loss::ALL`] order.
    pub lost: [u64; 3],
    /// Spans waiting in the batch queues right now.
    pub queued: u64,
}

impl DeliverySnapshot {
    /// Spans lost for `reason`.
    pub fn lost(&self, reason: Loss) -> u64 {
        self.lost[reason as usize]
    }

    /// Spans lost for any reason.
    pub fn lost_total(&self) -> u64 {
        self.lost.iter().sum()
    }
}

impl DeliveryStats {
    /// Counters for `queues` batch queues.
    pub(crate) fn new(queues: usize) -> Self {
        Self {
            exported: AtomicU64::new(0),
            lost: Default::default(),
            queues: (0..queues).map(|_| AtomicUsize::new(0)).collect(),
            loss_seen: AtomicBool::new(false),
            exports: Mutex::default(),
        }
    }

    fn exports(&self) -> std::sync::MutexGuard<'_, Exports> {
        self.exports.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place in queue `queue` if it holds fewer than `capacity` spans. The batch
    /// processor's channel has the same capacity and holds no more than this count (a span
    /// leaves the count only when its batch is handed to the exporter, after it has left the
    /// channel), so an admitted span is never dropped by the processor unseen.
    pub(crate) fn try_enqueue(&self, queue: usize, capacity: usize) -> bool {
        self.queues[queue]
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < capacity).then_some(queued + 1)
            })
            .is_ok()
    }

    /// A batch of `spans` left queue `queue` for the exporter; `false` once the books are
    /// closed (the spans were already counted as lost at shutdown).
    pub(crate) fn export_started(&self, queue: usize, spans: usize) -> bool {
        let mut exports = self.exports();
        if exports.closed {
            return false;
        }
        self.queues[queue].fetch_sub(spans, Ordering::AcqRel);
        exports.in_flight += spans;
        true
    }

    /// The export of `spans` ended: delivered, or lost with `error`.
    pub(crate) fn export_finished(&self, spans: usize, result: Result<(), String>) {
        let mut exports = self.exports();
        if exports.closed {
            return;
        }
        exports.in_flight -= spans;
        match result {
            Ok(()) => {
                self.exported.fetch_add(spans as u64, Ordering::Relaxed);
                if std::mem::take(&mut exports.failing) {
                    tracing::info!("span export to the Collector recovered");
                }
            }
            Err(error) => {
                exports.failing = true;
                exports.last_error = error;
                drop(exports);
                self.lost(Loss::ExportFailed, spans);
            }
        }
    }

    /// Closes the books after the shutdown flush: whatever is still queued or being exported
    /// is lost, and an export that finishes later changes nothing.
    pub(crate) fn close(&self) {
        let mut exports = self.exports();
        if exports.closed {
            return;
        }
        exports.closed = true;
        let queued: usize = self
            .queues
            .iter()
            .map(|q| q.swap(0, Ordering::AcqRel))
            .sum();
        let left = queued + std::mem::take(&mut exports.in_flight);
        drop(exports);
        if left > 0 {
            self.lost(Loss::Shutdown, left);
        }
    }

    pub(crate) fn lost(&self, reason: Loss, spans: usize) {
        self.lost[reason as usize].fetch_add(spans as u64, Ordering::Relaxed);
        // The first loss is said at once; the reporter sums up the rest.
        if !self.loss_seen.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error.type = reason.as_str(),
                error.message = %self.last_error(),
                "spans are being lost; requests are unaffected; counts follow at most every {}s \
                 and at shutdown",
                REPORT_INTERVAL.as_secs()
            );
        }
    }

    /// The counts now.
    pub fn snapshot(&self) -> DeliverySnapshot {
        DeliverySnapshot {
            exported: self.exported.load(Ordering::Relaxed),
            lost: [0, 1, 2].map(|i| self.lost[i].load(Ordering::Relaxed)),
            queued: self
                .queues
                .iter()
                .map(|q| q.load(Ordering::Relaxed) as u64)
                .sum(),
        }
    }

    fn last_error(&self) -> String {
        self.exports().last_error.clone()
    }
}

/// The counts of [`BatchQueues`](crate::batch::BatchQueues), the thread that reports losses, and the
/// settings the queues run with.
#[derive(Debug)]
pub struct Delivery {
    stats: Arc<DeliveryStats>,
    reporter: Reporter,
    settings: BatchSettings,
}

impl Delivery {
    pub(crate) fn start(stats: Arc<DeliveryStats>, settings: BatchSettings) -> Self {
        Self {
            reporter: Reporter::start(stats.clone(), REPORT_INTERVAL),
            stats,
            settings,
        }
    }

    /// The counters, to read now or later.
    pub fn stats(&self) -> Arc<DeliveryStats> {
        self.stats.clone()
    }

    /// The batch settings in force (`OTEL_BSP_*` or our defaults).
    pub fn settings(&self) -> BatchSettings {
        self.settings
    }

    /// Logs the totals and stops reporting; call after the tracer provider has shut down.
    pub fn stop(self) {
        self.reporter.stop();
    }
}

/// A thread that logs losses since the last report, at most once per interval, and the totals
/// when stopped.
#[derive(Debug)]
pub(crate) struct Reporter {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl Reporter {
    pub(crate) fn start(stats: Arc<DeliveryStats>, interval: Duration) -> Self {
        let (stop, stopped) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("telemetry-loss-report".into())
            .spawn(move || {
                let mut reported = DeliverySnapshot::default();
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let now = stats.snapshot();
                    if now.lost_total() > reported.lost_total() {
                        report_interval(&reported, &now, &stats.last_error(), interval);
                        reported = now;
                    }
                }
                report_totals(&stats.snapshot(), &stats.last_error());
            })
            .expect("spawn the loss-report thread");
        Self { stop, thread }
    }

    /// Logs the totals and stops the thread.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn report_interval(
    before: &DeliverySnapshot,
    now: &DeliverySnapshot,
    error: &str,
    every: Duration,
) {
    let delta = |reason| now.lost(reason) - before.lost(reason);
    tracing::warn!(
        agent_tracing.spans.lost = now.lost_total() - before.lost_total(),
        agent_tracing.spans.queue_full = delta(Loss::QueueFull),
        agent_tracing.spans.export_failed = delta(Loss::ExportFailed),
        agent_tracing.spans.shutdown = delta(Loss::Shutdown),
        agent_tracing.spans.exported = now.exported - before.exported,
        error.message = error,
        "spans lost in the last {}s; requests are unaffected",
        every.as_secs_f32()
    );
}

fn report_totals(total: &DeliverySnapshot, error: &str) {
    if total.lost_total() == 0 {
        tracing::info!(
            agent_tracing.spans.exported = total.exported,
            agent_tracing.spans.lost = 0,
            "span delivery"
        );
    } else {
        tracing::warn!(
            agent_tracing.spans.exported = total.exported,
            agent_tracing.spans.lost = total.lost_total(),
            agent_tracing.spans.queue_full = total.lost(Loss::QueueFull),
            agent_tracing.spans.export_failed = total.lost(Loss::ExportFailed),
            agent_tracing.spans.shutdown = total.lost(Loss::Shutdown),
            error.message = error,
            "span delivery: spans were lost"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything logged through the global subscriber, which this test binary installs once:
    /// the reporter logs from its own thread.
    fn logged() -> &'static Mutex<String> {
        static LOGGED: std::sync::OnceLock<&'static Mutex<String>> = std::sync::OnceLock::new();
        LOGGED.get_or_init(|| {
            let logged: &'static Mutex<String> = Box::leak(Box::default());
            struct Sink(&'static Mutex<String>);
            impl std::io::Write for Sink {
                fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                    self.0
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(bytes));
                    Ok(bytes.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
            }
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || Sink(logged))
                .init();
            logged
        })
    }

    /// Waits (up to 10 s) until the log holds `count` lines containing `needle`.
    fn wait_for_lines(needle: &str, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let lines: Vec<String> = logged()
                .lock()
                .unwrap()
                .lines()
                .filter(|l| l.contains(needle))
                .map(str::to_owned)
                .collect();
            if lines.len() >= count || std::time::Instant::now() > deadline {
                return lines;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_reporter_says_each_intervals_losses_once_and_the_totals_when_stopped() {
        logged();
        let stats = Arc::new(DeliveryStats::new(1));
        let reporter = Reporter::start(stats.clone(), Duration::from_millis(50));
        stats.lost(Loss::QueueFull, 3);
        let first = wait_for_lines("spans lost in the last", 1);
        assert!(
            first[0].contains("agent_tracing.spans.lost=3 agent_tracing.spans.queue_full=3"),
            "{first:?}"
        );
        stats.lost(Loss::ExportFailed, 2);
        let second = wait_for_lines("spans lost in the last", 2);
        assert!(
            second[1].contains(
                "agent_tracing.spans.lost=2 agent_tracing.spans.queue_full=0 \
                 agent_tracing.spans.export_failed=2"
            ),
            "only what is new since the last report: {second:?}"
        );
        // Intervals with nothing new say nothing.
        thread::sleep(Duration::from_millis(200));
        let reports = logged()
            .lock()
            .unwrap()
            .matches("spans lost in the last")
            .count();
        assert_eq!(reports, 2);
        reporter.stop();
        let totals = wait_for_lines("span delivery: spans were lost", 1);
        assert!(
            totals[0].contains(
                "agent_tracing.spans.lost=5 agent_tracing.spans.queue_full=3 \
                 agent_tracing.spans.export_failed=2"
            ),
            "{totals:?}"
        );
    }

    #[test]
    fn snapshots_count_by_reason() {
        let stats = DeliveryStats::new(2);
        for _ in 0..4 {
            assert!(stats.try_enqueue(0, 4));
        }
        assert!(!stats.try_enqueue(0, 4), "a full queue admits nothing");
        stats.lost(Loss::QueueFull, 1);
        assert!(stats.try_enqueue(1, 4));
        assert!(stats.export_started(0, 2));
        stats.export_finished(2, Ok(()));
        assert!(stats.try_enqueue(0, 4), "an exported batch frees its room");
        assert!(stats.export_started(0, 1));
        stats.export_finished(1, Err("refused".into()));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.exported, 2);
        assert_eq!(snapshot.lost(Loss::QueueFull), 1);
        assert_eq!(snapshot.lost(Loss::ExportFailed), 1);
        assert_eq!(snapshot.queued, 2 + 1);
        assert_eq!(stats.last_error(), "refused");
    }

    #[test]
    fn closing_counts_what_is_left_once() {
        let stats = DeliveryStats::new(1);
        for _ in 0..5 {
            assert!(stats.try_enqueue(0, 8));
        }
        assert!(stats.export_started(0, 3));
        stats.close();
        // The slow export ends after the books closed: already counted.
        stats.export_finished(3, Ok(()));
        assert!(!stats.export_started(0, 2));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.lost(Loss::Shutdown), 5);
        assert_eq!(snapshot.exported, 0);
        assert_eq!(snapshot.queued, 0);
    }
}
