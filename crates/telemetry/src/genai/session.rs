//! Sessions: the id that groups the traces of one conversation. [`SessionId`] is its one rule,
//! shared by both services. It travels as W3C baggage (`session.id`): [`with_session`] puts it in
//! the context of a request, the propagator carries it to the next service, and
//! [`session_attributes`] copies it onto every span started under it as `session.id` and
//! `gen_ai.conversation.id`.

use opentelemetry::{
    baggage::{BaggageExt, KeyValueMetadata},
    context::FutureExt,
};
use opentelemetry_sdk::trace::SpanProcessor;
use sdk_corrections::BaggageAttributes;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::semconv;

/// The baggage key a session id travels under.
pub const SESSION_BAGGAGE_KEY: &str = "session.id";
/// The longest session id.
pub const MAX_SESSION_ID_CHARS: usize = 128;
/// The span attributes a session is recorded under: OpenTelemetry's `session.id`, and the GenAI
/// conventions' `gen_ai.conversation.id`, so backends that group by either find the conversation.
const SESSION_ATTRIBUTES: &[&str] = &[semconv::SESSION_ID, semconv::GEN_AI_CONVERSATION_ID];

/// A session id: 1–[`MAX_SESSION_ID_CHARS`] characters of `A-Z a-z 0-9 . _ : -` — safe in a
/// header, a log line and a URL as it is. Parsed once where it enters a service (the request
/// body, the caller's baggage); everything after holds a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

/// A session id that breaks the rule; its message says the rule, never the value.
#[derive(Debug, thiserror::Error)]
#[error("a session id must be 1-{MAX_SESSION_ID_CHARS} characters of A-Z a-z 0-9 . _ : -")]
pub struct InvalidSessionId;

impl SessionId {
    /// `raw` if it follows the rule.
    pub fn parse(raw: String) -> Result<Self, InvalidSessionId> {
        if Self::is_valid(&raw) {
            Ok(Self(raw))
        } else {
            Err(InvalidSessionId)
        }
    }

    /// A new random id (a UUID), for a request that brings none.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The session the caller put in the request's `baggage`, if it is a valid one: a service
    /// that was not given a session id in the body joins the caller's conversation instead of
    /// starting a new one. Read from the current span's context (the request's SERVER span).
    pub fn from_caller() -> Option<Self> {
        let context = tracing::Span::current().context();
        let raw = context
            .baggage()
            .get(SESSION_BAGGAGE_KEY)?
            .as_str()
            .to_owned();
        Self::parse(raw).ok()
    }

    /// The id as it is sent and recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_valid(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= MAX_SESSION_ID_CHARS
            && raw.bytes().all(|b| SESSION_ID_BYTES[usize::from(b)])
    }
}

/// The rule's bytes as a table: the session processor checks the id on every span it starts
/// (callgrind, a UUID: 363 instructions as a chain of comparisons, 262 with the table).
const SESSION_ID_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < table.len() {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        byte += 1;
    }
    table
};

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

/// Runs `future` as part of `session`: the current span (the request's SERVER span) gets the
/// session attributes, and every span started inside — and every outgoing request, through the
/// `baggage` header — carries the id.
pub fn with_session<F: std::future::Future>(
    session: &SessionId,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    let id = session.as_str();
    let span = tracing::Span::current();
    let cx = span.context();
    // The span processor already put the caller's baggage session on this span; only a
    // different id is recorded again (and the processor keeps the last value, once).
    if cx.baggage().get(SESSION_BAGGAGE_KEY).map(|v| v.as_str()) != Some(id) {
        for attribute in SESSION_ATTRIBUTES {
            span.set_attribute(*attribute, id.to_owned());
        }
    }
    // Ours first, so that when the caller's baggage is already at the W3C limits it is one of
    // theirs that gives way; their other entries travel on, any `session.id` of theirs replaced.
    let baggage: Vec<KeyValueMetadata> = [KeyValueMetadata::new(
        SESSION_BAGGAGE_KEY,
        id.to_owned(),
        "",
    )]
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

/// The span processor that copies the session from baggage onto every span, in front of
/// `inner` (the batch processors).
pub fn session_attributes<P: SpanProcessor>(inner: P) -> BaggageAttributes<P> {
    BaggageAttributes::new(
        inner,
        SESSION_BAGGAGE_KEY,
        SESSION_ATTRIBUTES,
        SessionId::is_valid,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_session_id() {
        for valid in ["s-1", "conv:77", "a.b_c", &"x".repeat(MAX_SESSION_ID_CHARS)] {
            assert!(SessionId::parse(valid.to_owned()).is_ok(), "{valid}");
        }
        for invalid in [
            "",
            "a b",
            "new\nline",
            "émoji",
            "<script>",
            &"x".repeat(MAX_SESSION_ID_CHARS + 1),
        ] {
            assert!(SessionId::parse(invalid.to_owned()).is_err(), "{invalid:?}");
        }
        assert!(SessionId::is_valid(SessionId::generate().as_str()));
    }

    #[test]
    fn the_table_is_the_rule_for_every_ascii_byte() {
        for b in 0..=127u8 {
            let expected = b.is_ascii_alphanumeric() || b".-_:".contains(&b);
            let one = char::from(b).to_string();
            assert_eq!(SessionId::parse(one).is_ok(), expected, "byte {b}");
        }
    }

    #[test]
    fn the_error_never_echoes_the_value() {
        let message = SessionId::parse("<b>secret</b>".into())
            .unwrap_err()
            .to_string();
        assert!(!message.contains("secret"), "{message}");
    }
}
