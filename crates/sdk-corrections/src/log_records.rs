//! Log records as the logs data model describes them, in front of the batch log processor.
//!
//! Two gaps in opentelemetry-appender-tracing 0.32 (the `tracing` → log records bridge):
//! - it copies every event's `tracing` name into `EventName`, and an event without an explicit
//!   `name:` is named after its source line (`event src/main.rs:42`), so every plain log line
//!   claims to be an event of an undefined type. A record whose name is that default leaves
//!   here without one; an explicit `name:` is kept (the conventions' events).
//! - it sets only the observed time, never `Timestamp`, so backends that sort by event time show
//!   1970. A `tracing` event happens when it is observed: the observed time is its timestamp.

use std::time::{Duration, SystemTime};

use opentelemetry::{
    InstrumentationScope,
    logs::{LogRecord as _, Logger as _, LoggerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    logs::{LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider},
};

/// Fixes each record's name and timestamp, then hands it to `inner`.
#[derive(Debug)]
pub struct PlainLogRecords<P> {
    inner: P,
    /// Makes blank records: the SDK has no way to take a name off a record.
    blank: SdkLogger,
}

impl<P> PlainLogRecords<P> {
    /// Wraps `inner`, the processor every record goes on to.
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            blank: SdkLoggerProvider::builder().build().logger("blank"),
        }
    }
}

/// `tracing`'s name for an event without `name:`: `event <file>:<line>`.
pub fn is_default_event_name(name: &str) -> bool {
    name.strip_prefix("event ")
        .and_then(|location| location.rsplit_once(':'))
        .is_some_and(|(file, line)| !file.is_empty() && line.parse::<u32>().is_ok())
}

impl<P: LogProcessor> LogProcessor for PlainLogRecords<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if record.event_name().is_some_and(is_default_event_name) {
            *record = self.without_name(record);
        }
        if record.timestamp().is_none() {
            record.set_timestamp(record.observed_timestamp().unwrap_or_else(SystemTime::now));
        }
        self.inner.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<P> PlainLogRecords<P> {
    /// `record`, field by field, except its event name.
    fn without_name(&self, record: &SdkLogRecord) -> SdkLogRecord {
        let mut copy = self.blank.create_log_record();
        if let Some(target) = record.target() {
            copy.set_target(target.clone());
        }
        if let Some(timestamp) = record.timestamp() {
            copy.set_timestamp(timestamp);
        }
        if let Some(observed) = record.observed_timestamp() {
            copy.set_observed_timestamp(observed);
        }
        if let Some(context) = record.trace_context() {
            copy.set_trace_context(context.trace_id, context.span_id, context.trace_flags);
        }
        if let Some(text) = record.severity_text() {
            copy.set_severity_text(text);
        }
        if let Some(number) = record.severity_number() {
            copy.set_severity_number(number);
        }
        if let Some(body) = record.body() {
            copy.set_body(body.clone());
        }
        for (key, value) in record.attributes_iter() {
            copy.add_attribute(key.clone(), value.clone());
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
    use opentelemetry_sdk::logs::{InMemoryLogExporter, SimpleLogProcessor};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn plain_lines_leave_without_a_name_and_with_a_timestamp_named_events_keep_theirs() {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(PlainLogRecords::new(SimpleLogProcessor::new(
                exporter.clone(),
            )))
            .build();
        let subscriber =
            tracing_subscriber::registry().with(OpenTelemetryTracingBridge::new(&provider));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(answer = 42, "a plain line");
            tracing::info!(name: "demo.named", "an event");
        });
        let logs = exporter.get_emitted_logs().unwrap();
        let [plain, named] = [&logs[0].record, &logs[1].record];
        assert_eq!(plain.event_name(), None);
        assert!(plain.timestamp().is_some());
        assert_eq!(plain.timestamp(), plain.observed_timestamp());
        assert_eq!(plain.severity_text(), Some("INFO"));
        assert!(plain.body().is_some());
        assert!(
            plain
                .attributes_iter()
                .any(|(key, _)| key.as_str() == "answer")
        );
        assert_eq!(named.event_name(), Some("demo.named"));
        assert!(named.timestamp().is_some());
    }

    #[test]
    fn only_tracing_s_default_names_are_plain_lines() {
        for name in [
            "event src/main.rs:42",
            "event crates/telemetry/src/init.rs:210",
        ] {
            assert!(is_default_event_name(name), "{name}");
        }
        for name in [
            "gen_ai.client.inference.operation.details",
            "event",
            "event x",
            "event :1",
        ] {
            assert!(!is_default_event_name(name), "{name}");
        }
    }
}
