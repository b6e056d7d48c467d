//! Repeated failures, logged at a bounded rate. With the agent down, every request fails the
//! same way; one line per request would be thousands a second (the export reporter in the
//! telemetry crate does the same for spans). Each kind of failure — a low-cardinality key such
//! as an error code — is logged at most once per interval, with the number of lines held back.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug)]
pub(crate) struct LogLimit {
    interval: Duration,
    windows: Mutex<HashMap<&'static str, Window>>,
}

#[derive(Debug)]
struct Window {
    logged_at: Instant,
    held_back: u64,
}

impl LogLimit {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            windows: Mutex::default(),
        }
    }

    /// `Some(lines held back since the last one)` if a line for `key` is due at `now`;
    /// `None` (and one more held back) if not.
    pub(crate) fn due(&self, key: &'static str, now: Instant) -> Option<u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get_mut(key) {
            Some(window) if now.duration_since(window.logged_at) < self.interval => {
                window.held_back += 1;
                None
            }
            Some(window) => {
                let held_back = std::mem::take(&mut window.held_back);
                window.logged_at = now;
                Some(held_back)
            }
            None => {
                windows.insert(
                    key,
                    Window {
                        logged_at: now,
                        held_back: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_per_interval_with_the_count_held_back() {
        let limit = LogLimit::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(limit.due("agent_unreachable", start), Some(0));
        for i in 1..=5 {
            assert_eq!(
                limit.due("agent_unreachable", start + Duration::from_secs(i)),
                None
            );
        }
        // Another kind of failure has its own window.
        assert_eq!(limit.due("agent_timeout", start), Some(0));
        assert_eq!(
            limit.due("agent_unreachable", start + Duration::from_secs(10)),
            Some(5)
        );
        assert_eq!(
            limit.due("agent_unreachable", start + Duration::from_secs(11)),
            None
        );
    }
}
