//! What makes a trace readable as an AI workflow: message content on GenAI spans (behind the
//! conventions' opt-in switch) and the session that groups the traces of one conversation.
//!
//! Content capture — `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`:
//! - unset, `false`, `NO_CONTENT` (default): no prompt, question, answer or tool payload is
//!   recorded anywhere; only sizes and counts.
//! - `true`, `SPAN_ONLY`: as span attributes (`gen_ai.input.messages`, …) — what Galileo reads.
//! - `EVENT_ONLY`: as one `gen_ai.client.inference.operation.details` event per span instead.
//! - `SPAN_AND_EVENT`: both.
//!
//! Every content string is cut to [`MAX_CONTENT_CHARS`] characters with a visible marker, and
//! every recorded value to [`MAX_VALUE_CHARS`], so one huge prompt cannot bloat a span.
//!
//! Sessions travel as W3C baggage (`session.id`): [`with_session`] puts the id in the context of
//! a request, the propagator carries it to the next service, and [`SessionSpanProcessor`] copies
//! it onto every span started under it as `session.id` and `gen_ai.conversation.id`.

use std::{borrow::Cow, sync::OnceLock, time::Duration};

use opentelemetry::{
    Context, KeyValue,
    baggage::{BaggageExt, KeyValueMetadata},
    context::FutureExt,
    trace::TraceContextExt,
};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{Span as SdkSpan, SpanData, SpanProcessor},
};
use serde_json::{Value, json};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::{TelemetryError, semconv};

/// Longest content string (a message text, a tool payload) recorded before it is cut.
pub const MAX_CONTENT_CHARS: usize = 8 * 1024;
/// Longest recorded attribute value (a whole message list as JSON).
pub const MAX_VALUE_CHARS: usize = 32 * 1024;
/// The baggage key a session id travels under.
pub const SESSION_BAGGAGE_KEY: &str = "session.id";
/// Session ids longer than this are cut before they become attributes.
const MAX_SESSION_ID_CHARS: usize = 128;
/// The event that carries content in the `EVENT_*` modes (GenAI events conventions).
const CONTENT_EVENT: &str = "gen_ai.client.inference.operation.details";
const CAPTURE_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentCapture {
    NoContent,
    SpanOnly,
    EventOnly,
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

/// Reads the switch once, at [`crate::init`]; an unknown value stops the service at start.
pub(crate) fn init_capture() -> Result<ContentCapture, TelemetryError> {
    let value = std::env::var(CAPTURE_VAR).unwrap_or_default();
    let mode = ContentCapture::parse(&value).ok_or(TelemetryError::ContentCapture(value))?;
    Ok(*CAPTURE.get_or_init(|| mode))
}

/// The mode in force (`NoContent` until [`crate::init`] ran: off unless switched on).
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

/// The question-in, answer-out pair for spans above the agent (HTTP root, workflow, nodes).
pub fn question_and_answer(question: &str, answer: &str) -> Vec<(&'static str, String)> {
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

/// Runs `future` as part of session `session_id`: the current span (the request's server span)
/// gets the session attributes, and every span started inside — and every outgoing request,
/// through the `baggage` header — carries the id.
pub fn with_session<F: std::future::Future>(
    session_id: &str,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    let id = truncate(session_id, MAX_SESSION_ID_CHARS).into_owned();
    let span = tracing::Span::current();
    let cx = span.context();
    // The session processor already put the caller's baggage session on this span; only a
    // different id is recorded again (and the processor keeps the last value, once).
    if cx.baggage().get(SESSION_BAGGAGE_KEY).map(|v| v.as_str()) != Some(id.as_str()) {
        span.set_attribute(semconv::SESSION_ID, id.clone());
        span.set_attribute(semconv::GEN_AI_CONVERSATION_ID, id.clone());
    }
    // Ours first, so that when the caller's baggage is already at the W3C limits it is one of
    // theirs that gives way; their other entries travel on, any `session.id` of theirs replaced.
    let baggage: Vec<KeyValueMetadata> = [KeyValueMetadata::new(SESSION_BAGGAGE_KEY, id, "")]
        .into_iter()
        .chain(
            cx.baggage()
                .iter()
                .filter(|(key, _)| key.as_str() != SESSION_BAGGAGE_KEY)
                .map(|(key, (value, metadata))| {
                    KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
                }),
        )
        .collect();
    future.with_context(cx.with_baggage(baggage))
}

/// The session a caller put in the request's `baggage` (`session.id`), if any: a service
/// that was not given a session id in the body joins the caller's conversation instead of
/// starting a new one. Read from the current span's context (the request's server span).
pub fn caller_session() -> Option<String> {
    tracing::Span::current()
        .context()
        .baggage()
        .get(SESSION_BAGGAGE_KEY)
        .map(|value| value.as_str().to_owned())
}

/// Copies the session from baggage onto each span as it starts, and hands every span on to
/// `inner` (the batch processor). A wrapper rather than a second processor: the SDK gives each
/// extra processor its own clone of every finished span.
#[derive(Debug)]
pub struct SessionSpanProcessor<P> {
    inner: P,
}

impl<P> SessionSpanProcessor<P> {
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: SpanProcessor> SpanProcessor for SessionSpanProcessor<P> {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        use opentelemetry::trace::Span as _;
        if let Some(id) = cx.baggage().get(SESSION_BAGGAGE_KEY) {
            let id = truncate(id.as_str(), MAX_SESSION_ID_CHARS).into_owned();
            span.set_attribute(KeyValue::new(semconv::SESSION_ID, id.clone()));
            span.set_attribute(KeyValue::new(semconv::GEN_AI_CONVERSATION_ID, id));
        }
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        // A span whose session was set twice (caller's baggage, then the request's own id)
        // exports each key once, with the value set last — what OTel's set_attribute means.
        for key in [semconv::SESSION_ID, semconv::GEN_AI_CONVERSATION_ID] {
            keep_last(&mut span.attributes, key);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Removes every `key` attribute but the last one. The SDK appends on `set_attribute`
/// without looking for the key (cheap, and right for all our other attributes, set once).
fn keep_last(attributes: &mut Vec<KeyValue>, key: &str) {
    let Some(last) = attributes.iter().rposition(|kv| kv.key.as_str() == key) else {
        return;
    };
    let mut index = 0;
    attributes.retain(|kv| {
        let keep = index == last || kv.key.as_str() != key;
        index += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_last_leaves_one_key_with_the_last_value() {
        let mut attributes = vec![
            KeyValue::new("session.id", "from-baggage"),
            KeyValue::new("http.route", "/agent"),
            KeyValue::new("session.id", "from-body"),
        ];
        keep_last(&mut attributes, "session.id");
        assert_eq!(
            attributes,
            vec![
                KeyValue::new("http.route", "/agent"),
                KeyValue::new("session.id", "from-body"),
            ]
        );
    }

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
