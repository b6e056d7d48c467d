//! The span of one GenAI operation — `chat {model}`, `execute_tool {tool}`,
//! `invoke_agent {agent}`, `invoke_workflow {workflow}` — written once: name and kind, the
//! `gen_ai.operation.name`, attributes, content behind the capture switch, and on failure status
//! ERROR with `error.type`. A call site reads as what it records:
//!
//! ```ignore
//! let span = GenAiSpan::internal(operation::EXECUTE_TOOL, &call.name)
//!     .with(semconv::GEN_AI_TOOL_NAME, call.name.clone());
//! let result = span.run(run_tool(call)).await?;
//! span.content(|| vec![(semconv::GEN_AI_TOOL_CALL_RESULT, result.to_string())]);
//! ```

use std::future::Future;

use opentelemetry::{StringValue, Value};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::content::record_content;
use crate::{current_span::record_error, semconv};

/// A failure that knows its `error.type`: short and low-cardinality (`timeout`,
/// `llm_unauthorized`, …). Its `Display` becomes the span's status message, so it must not
/// carry content or secrets.
pub trait ErrorType: std::fmt::Display {
    /// The `error.type` attribute of the failed span.
    fn error_type(&self) -> &'static str;
}

/// One GenAI operation's span. Cheap to clone (it is a `tracing::Span`).
#[derive(Debug, Clone)]
pub struct GenAiSpan {
    span: tracing::Span,
}

impl GenAiSpan {
    /// An operation that runs in this process (the mock model, a tool, the agent loop, a graph).
    pub fn internal(operation: &'static str, target: &str) -> Self {
        Self::new(operation, target, "internal")
    }

    /// A call to a remote service (a model API).
    pub fn client(operation: &'static str, target: &str) -> Self {
        Self::new(operation, target, "client")
    }

    fn new(operation: &'static str, target: &str, kind: &'static str) -> Self {
        let span = tracing::info_span!(
            "gen_ai",
            otel.name = %format!("{operation} {target}"),
            otel.kind = kind,
        );
        span.set_attribute(semconv::GEN_AI_OPERATION_NAME, operation);
        Self { span }
    }

    /// Sets an attribute (`&'static str`, `String`, `i64`, `bool`, or [`strings`]).
    pub fn with(self, key: &'static str, value: impl Into<Value>) -> Self {
        self.record(key, value);
        self
    }

    /// Sets an attribute on the running span.
    pub fn record(&self, key: &'static str, value: impl Into<Value>) {
        self.span.set_attribute(key, value);
    }

    /// The underlying `tracing` span (to record a step's input and output with
    /// [`record_io`](super::record_io)).
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Records content as the capture switch says; `content` is not even called when it is off.
    pub fn content(&self, content: impl FnOnce() -> Vec<(&'static str, String)>) {
        record_content(&self.span, content);
    }

    /// Runs `future` inside the span; an error marks the span failed with its `error.type`.
    pub async fn run<T, E: ErrorType>(
        &self,
        future: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let result = future.instrument(self.span.clone()).await;
        if let Err(error) = &result {
            record_error(&self.span, error.error_type(), error);
        }
        result
    }

    /// For a streamed response: until [`StreamEnd::finished`] is called, dropping the guard
    /// records finish reason `error` — the GenAI conventions' value for a stream that ended
    /// before its final event. It is dropped with the future that holds it, so a caller that
    /// hangs up (the future is dropped mid-`await`, no code after it runs) still leaves the span
    /// saying the response was cut, and the span itself ends as it drops.
    pub fn stream_end(&self) -> StreamEnd {
        StreamEnd {
            span: Some(self.clone()),
        }
    }
}

/// See [`GenAiSpan::stream_end`].
#[derive(Debug)]
#[must_use = "hold it for as long as the stream is read"]
pub struct StreamEnd {
    span: Option<GenAiSpan>,
}

impl StreamEnd {
    /// The stream delivered its final event: the finish reasons recorded from it stand.
    pub fn finished(mut self) {
        self.span = None;
    }
}

impl Drop for StreamEnd {
    fn drop(&mut self) {
        if let Some(span) = self.span.take() {
            span.record(semconv::GEN_AI_RESPONSE_FINISH_REASONS, strings(["error"]));
        }
    }
}

/// A string-array attribute value (`gen_ai.response.finish_reasons`, `graph.path`).
pub fn strings<S: Into<StringValue>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(Into::into).collect::<Vec<_>>().into())
}
