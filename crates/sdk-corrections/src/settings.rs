//! The batch settings: `OTEL_BSP_MAX_CONCURRENT_EXPORTS`, `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` and `OTEL_BSP_SCHEDULE_DELAY`, or our defaults. The SDK reads
//! the same variables for its one processor but quietly falls back to its defaults on a bad
//! value; here a bad value stops the start, naming the variable.

use std::time::Duration;

use crate::error::CorrectionError;

/// The batch settings, from `OTEL_BSP_*` or our defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// Batch processors side by side (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`).
    pub queues: usize,
    /// Spans held across all queues (`OTEL_BSP_MAX_QUEUE_SIZE`).
    pub max_queue_size: usize,
    /// Spans per export (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub max_export_batch_size: usize,
    /// Longest wait before a partial batch is sent (`OTEL_BSP_SCHEDULE_DELAY`, ms).
    pub schedule_delay: Duration,
}

impl BatchSettings {
    /// Our defaults: a queue that absorbs a second of this machine's peak span rate, batches
    /// big enough that each export's fixed cost is small per span, a 1 s delay so spans reach
    /// the UI quickly, and one export thread per four cores.
    pub fn defaults(cores: usize) -> Self {
        Self {
            queues: cores.div_ceil(4).max(1),
            max_queue_size: 16_384,
            max_export_batch_size: 1_024,
            schedule_delay: Duration::from_millis(1_000),
        }
    }

    /// The defaults, each replaced by its variable when set. A value that is not a positive
    /// number is a start-up error naming the variable.
    pub fn from_env() -> Result<Self, CorrectionError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::from_lookup(cores, |name| std::env::var(name).ok())
    }

    fn from_lookup(
        cores: usize,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CorrectionError> {
        let defaults = Self::defaults(cores);
        let read = |name: &'static str, default: usize| -> Result<usize, CorrectionError> {
            match lookup(name) {
                None => Ok(default),
                Some(value) => match value.trim().parse::<usize>() {
                    Ok(number) if number > 0 => Ok(number),
                    _ => Err(CorrectionError::BatchSetting(name, value)),
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
    pub fn capacity(&self) -> usize {
        self.capacity_per_queue() * self.queues
    }

    /// Each queue's share of the total, never below one batch.
    pub(crate) fn capacity_per_queue(&self) -> usize {
        (self.max_queue_size / self.queues).max(self.max_export_batch_size.min(self.max_queue_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<BatchSettings, CorrectionError> {
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
