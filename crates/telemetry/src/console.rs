//! The console log: one line per event, `RUST_LOG`-filtered (it never filters spans or OTLP
//! logs), with the `trace_id` and `span_id` of the request it belongs to, so a log line leads
//! to its trace. `LOG_FORMAT=text` (the default) is for people, `LOG_FORMAT=json` (one object
//! per line) for log collectors.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    Layer,
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::{self, Writer},
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

use crate::{error::TelemetryError, filters::console_filter};

/// The console layer: `LOG_FORMAT` lines with trace ids, filtered by `RUST_LOG`.
pub(crate) fn layer<S>() -> Result<impl Layer<S>, TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    Ok(tracing_subscriber::fmt::layer()
        .event_format(WithTraceIds {
            format: LogFormat::from_env()?,
        })
        // Colour codes only on a terminal, never in `docker logs` or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_filter(console_filter()))
}

/// The console's line format, from `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    /// `2026-01-01T00:00:00.000000Z  INFO message key=value trace_id=… span_id=…`
    Text,
    /// `{"timestamp":…,"level":…,"fields":{…},"target":…,"trace_id":…,"span_id":…}`
    Json,
}

impl LogFormat {
    fn from_env() -> Result<Self, TelemetryError> {
        match std::env::var("LOG_FORMAT").unwrap_or_default().trim() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(TelemetryError::LogFormat(other.to_owned())),
        }
    }
}

/// The ids of the span the event happened in, when it belongs to a trace.
fn trace_ids() -> Option<(String, String)> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
        )
    })
}

/// Formats each event in `format`, with the trace ids appended.
#[derive(Debug)]
struct WithTraceIds {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = trace_ids();
        match self.format {
            LogFormat::Text => {
                SystemTime.format_time(&mut writer)?;
                write!(writer, " {:>5} ", event.metadata().level())?;
                ctx.field_format().format_fields(writer.by_ref(), event)?;
                if let Some((trace_id, span_id)) = ids {
                    write!(writer, " trace_id={trace_id} span_id={span_id}")?;
                }
                writeln!(writer)
            }
            LogFormat::Json => {
                // The JSON formatter writes a complete object; the ids go in before its `}`.
                let mut line = String::new();
                format::format()
                    .json()
                    .flatten_event(true)
                    .with_span_list(false)
                    .with_current_span(false)
                    .format_event(ctx, Writer::new(&mut line), event)?;
                let object = line.trim_end().strip_suffix('}').ok_or(fmt::Error)?;
                match ids {
                    Some((trace_id, span_id)) => writeln!(
                        writer,
                        "{object},\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"}}"
                    ),
                    None => writeln!(writer, "{object}}}"),
                }
            }
        }
    }
}
