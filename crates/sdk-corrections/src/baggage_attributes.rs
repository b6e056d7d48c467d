//! A baggage entry copied onto every span as it starts, under one or more attribute keys, each
//! key exported once.
//!
//! Two gaps: the other SDKs ship this as a contrib `BaggageSpanProcessor` and opentelemetry-rust
//! 0.32 has none; and the SDK's `Span::set_attribute` appends without replacing (the spec says a
//! value set again SHOULD overwrite it), so a key this processor set and the request set again
//! would be exported twice. `on_end` keeps the last value, as the spec means.
//!
//! A wrapper around the next processor rather than a second processor: the SDK gives each extra
//! processor its own clone of every finished span.

use std::{sync::Arc, time::Duration};

use opentelemetry::{Context, KeyValue, StringValue, baggage::BaggageExt};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{Span, SpanData, SpanProcessor},
};

/// Copies baggage entry `key` onto each span as `attributes`, then hands every span to `inner`.
#[derive(Debug)]
pub struct BaggageAttributes<P> {
    inner: P,
    key: &'static str,
    attributes: &'static [&'static str],
    accept: fn(&str) -> bool,
}

impl<P> BaggageAttributes<P> {
    /// Entries that `accept` refuses (not a value this service would take itself) are not copied.
    pub fn new(
        inner: P,
        key: &'static str,
        attributes: &'static [&'static str],
        accept: fn(&str) -> bool,
    ) -> Self {
        Self {
            inner,
            key,
            attributes,
            accept,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for BaggageAttributes<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        if let Some(value) = cx.baggage().get(self.key)
            && (self.accept)(value.as_str())
        {
            // One shared string for every key: no copy per attribute.
            let value = StringValue::from(Arc::<str>::from(value.as_str()));
            for attribute in self.attributes {
                span.set_attribute(KeyValue::new(*attribute, value.clone()));
            }
        }
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        for key in self.attributes {
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

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Removes every `key` attribute but the last one.
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
