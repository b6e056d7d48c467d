//! Message content on spans, behind the conventions' opt-in switch,
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`:
//! - unset, `false`, `NO_CONTENT` (default): no prompt, question, answer or tool payload is
//!   recorded anywhere; only sizes and counts.
//! - `true`, `SPAN_ONLY`: as span attributes (`gen_ai.input.messages`, …) — what Galileo reads.
//! - `EVENT_ONLY`: as one `gen_ai.client.inference.operation.details` event per span instead.
//! - `SPAN_AND_EVENT`: both.
//!
//! Every content string is cut to [`MAX_CONTENT_CHARS`] characters with a visible marker, and
//! every recorded value to [`MAX_VALUE_CHARS`], so one huge prompt cannot bloat a span.

use std::{borrow::Cow, sync::OnceLock};

use opentelemetry::{KeyValue, trace::TraceContextExt};
use serde_json::{Value, json};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{error::TelemetryError, semconv};

/// Longest content string (a message text, a tool payload) recorded before it is cut.
pub const MAX_CONTENT_CHARS: usize = 8 * 1024;
/// Longest recorded attribute value (a whole message list as JSON).
pub const MAX_VALUE_CHARS: usize = 32 * 1024;
/// The event that carries content in the `EVENT_*` modes (GenAI events conventions).
const CONTENT_EVENT: &str = "gen_ai.client.inference.operation.details";
const CAPTURE_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// Where message content goes (the capture switch's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCapture {
    /// Nowhere: only sizes and counts (the default).
    NoContent,
    /// Span attributes (`gen_ai.input.messages`, …): what Galileo reads.
    SpanOnly,
    /// One `gen_ai.client.inference.operation.details` event per span.
    EventOnly,
    /// Both.
    SpanAndEvent,
}

impl ContentCapture {
    /// Parses the variable's value: the classic booleans and the newer enum, any case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "" | "FALSE" | "NO_CONTENT" => Some(Self::NoContent),
            "TRUE" | "SPAN_ONLY" => Some(Self::SpanOnly),
            "EVENT_ONLY" => Some(Self::EventOnly),
            "SPAN_AND_EVENT" => Some(Self::SpanAndEvent),
            _ => None,
        }
    }

    fn on_spans(self) -> bool {
        matches!(self, Self::SpanOnly | Self::SpanAndEvent)
    }

    fn in_events(self) -> bool {
        matches!(self, Self::EventOnly | Self::SpanAndEvent)
    }
}

static CAPTURE: OnceLock<ContentCapture> = OnceLock::new();

/// Reads the switch once, at `init`; an unknown value stops the service at start.
pub(crate) fn init_capture() -> Result<ContentCapture, TelemetryError> {
    let value = std::env::var(CAPTURE_VAR).unwrap_or_default();
    let mode = ContentCapture::parse(&value).ok_or(TelemetryError::ContentCapture(value))?;
    Ok(*CAPTURE.get_or_init(|| mode))
}

/// The mode in force (`NoContent` until `init` ran: off unless switched on).
fn content_capture() -> ContentCapture {
    CAPTURE.get().copied().unwrap_or(ContentCapture::NoContent)
}

/// Records content on `span` as the switch says. The values are built only when capture is on,
/// so with it off no content is even formatted.
pub fn record_content(span: &tracing::Span, content: impl FnOnce() -> Vec<(&'static str, String)>) {
    let mode = content_capture();
    if mode == ContentCapture::NoContent {
        return;
    }
    let pairs: Vec<(&'static str, String)> = content()
        .into_iter()
        .map(|(key, value)| (key, truncate(&value, MAX_VALUE_CHARS).into_owned()))
        .collect();
    if mode.on_spans() {
        for (key, value) in &pairs {
            span.set_attribute(*key, value.clone());
        }
    }
    if mode.in_events() {
        let attributes = pairs
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, value))
            .collect();
        span.context().span().add_event(CONTENT_EVENT, attributes);
    }
}

/// Cuts `text` to `max` characters, marking the cut so a reader knows it happened.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        // No more bytes than the limit: no more characters either (the common case, no scan).
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let total = text.chars().count();
            Cow::Owned(format!(
                "{}…[truncated: {max} of {total} characters]",
                &text[..cut]
            ))
        }
    }
}

/// One part of a message in the conventions' shape.
pub fn text_part(text: &str) -> Value {
    json!({ "type": "text", "content": truncate(text, MAX_CONTENT_CHARS) })
}

/// `{"role": ..., "parts": [{"type": "text", "content": ...}]}`.
pub fn text_message(role: &str, text: &str) -> Value {
    json!({ "role": role, "parts": [text_part(text)] })
}

/// An output message: a text message with its `finish_reason`.
pub fn output_message(text: &str, finish_reason: &str) -> Value {
    json!({ "role": "assistant", "parts": [text_part(text)], "finish_reason": finish_reason })
}

/// Records one step's input and output on `span` — a question in, an answer out — as the
/// conventions' messages, so a backend shows them per step (Galileo does). Behind the capture
/// switch: with it off nothing is even formatted. Every step above the agent (the HTTP root,
/// the workflow, each node) records its own this way.
pub fn record_io(span: &tracing::Span, input: &str, output: &str) {
    record_content(span, || question_and_answer(input, output));
}

/// The question-in, answer-out pair, as message JSON.
fn question_and_answer(question: &str, answer: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            semconv::GEN_AI_INPUT_MESSAGES,
            json!([text_message("user", question)]).to_string(),
        ),
        (
            semconv::GEN_AI_OUTPUT_MESSAGES,
            json!([output_message(answer, "stop")]).to_string(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_values_follow_the_convention() {
        for (value, mode) in [
            ("", ContentCapture::NoContent),
            ("false", ContentCapture::NoContent),
            ("NO_CONTENT", ContentCapture::NoContent),
            ("true", ContentCapture::SpanOnly),
            ("True", ContentCapture::SpanOnly),
            ("span_only", ContentCapture::SpanOnly),
            ("EVENT_ONLY", ContentCapture::EventOnly),
            ("SPAN_AND_EVENT", ContentCapture::SpanAndEvent),
        ] {
            assert_eq!(ContentCapture::parse(value), Some(mode), "{value:?}");
        }
        assert_eq!(ContentCapture::parse("yes"), None);
    }

    #[test]
    fn truncation_is_marked_and_respects_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate("ééééé", 2);
        assert_eq!(cut, "éé…[truncated: 2 of 5 characters]");
    }

    #[test]
    fn messages_have_the_conventions_shape() {
        assert_eq!(
            text_message("user", "hi"),
            json!({"role": "user", "parts": [{"type": "text", "content": "hi"}]})
        );
        assert_eq!(output_message("bye", "stop")["finish_reason"], "stop");
    }
}
