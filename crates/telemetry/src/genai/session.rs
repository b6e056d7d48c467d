//! Sessions: the id that groups the traces of one conversation. It travels as W3C baggage
//! (`session.id`): [`with_session`] puts it in the context of a request, the propagator carries
//! it to the next service, and [`SessionSpanProcessor`] copies it onto every span started under
//! it as `session.id` and `gen_ai.conversation.id` — each key once.

use std::time::Duration;

use opentelemetry::{
    Context, KeyValue, StringValue,
    baggage::{BaggageExt, KeyValueMetadata},
    context::FutureExt,
};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{Span as SdkSpan, SpanData, SpanProcessor},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::truncate;
use crate::semconv;

/// The baggage key a session id travels under.
pub const SESSION_BAGGAGE_KEY: &str = "session.id";
/// The longest session id: both services refuse longer ones (422), and one that arrives longer
/// in baggage is cut before it becomes an attribute.
pub const MAX_SESSION_ID_CHARS: usize = 128;
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
    /// Wraps `inner`, the processor every span goes on to.
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: SpanProcessor> SpanProcessor for SessionSpanProcessor<P> {
    fn on_start(&self, span: &mut SdkSpan, cx: &Context) {
        use opentelemetry::trace::Span as _;
        if let Some(id) = cx.baggage().get(SESSION_BAGGAGE_KEY) {
            // One shared string for both attributes: no copy per key.
            let id = StringValue::from(std::sync::Arc::<str>::from(truncate(
                id.as_str(),
                MAX_SESSION_ID_CHARS,
            )));
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
    let mut matches = attributes.iter().enumerate().rev();
    let Some((last, _)) = matches.find(|(_, kv)| kv.key.as_str() == key) else {
        return;
    };
    if !matches.any(|(_, kv)| kv.key.as_str() == key) {
        return; // set once: nothing to remove (almost every span)
    }
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
    fn keep_last_leaves_a_key_set_once_as_it_is() {
        let mut attributes = vec![
            KeyValue::new("session.id", "only"),
            KeyValue::new("http.route", "/agent"),
        ];
        let before = attributes.clone();
        keep_last(&mut attributes, "session.id");
        keep_last(&mut attributes, "absent");
        assert_eq!(attributes, before);
    }

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
}
