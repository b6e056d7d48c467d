//! `OTEL_PROPAGATORS`, as the SDK environment specification defines it (the Rust SDK does not
//! read it: opentelemetry-rust#3127; PR #3745, open, reads tracecontext and baggage only): a
//! comma-separated list, order kept, duplicates registered once, default
//! `tracecontext,baggage`. Each value maps to a maintained propagator:
//!
//! | value | format | from |
//! |---|---|---|
//! | `tracecontext` | W3C `traceparent` / `tracestate` | ours, `w3c.rs` (stricter than the SDK's) |
//! | `baggage` | W3C `baggage` | ours, `w3c.rs` |
//! | `b3` | B3 single header (`b3`) | `opentelemetry-zipkin` |
//! | `b3multi` | B3 multiple headers (`X-B3-*`) | `opentelemetry-zipkin` |
//! | `jaeger` | `uber-trace-id` | `opentelemetry-jaeger-propagator` |
//! | `xray` | `X-Amzn-Trace-Id` | `opentelemetry-aws` |
//! | `none` | nothing is read or written | — |
//!
//! Extraction tries each in order (a later one wins where several find a context); injection
//! writes every format. A value no crate supports (`ottrace`, a typo) stops the service at
//! start with its name — never silently ignored.

// opentelemetry-zipkin (and jaeger-propagator) are deprecated for their exporters — Zipkin and
// Jaeger ingest OTLP now — but they hold the only B3 and Jaeger propagators the opentelemetry-rust
// project maintains; propagation formats outlive exporters.
#![allow(deprecated)]

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_zipkin::B3Encoding;

use crate::{
    error::CorrectionError,
    w3c::{W3cBaggage, W3cTraceContext},
};

const VARIABLE: &str = "OTEL_PROPAGATORS";
const DEFAULT: &str = "tracecontext,baggage";

/// The composite propagator `OTEL_PROPAGATORS` asks for (default `tracecontext,baggage`).
pub fn propagator_from_env() -> Result<TextMapCompositePropagator, CorrectionError> {
    let value = std::env::var(VARIABLE).unwrap_or_default();
    parse(&value).map(TextMapCompositePropagator::new)
}

/// The propagators named by `value` (empty: the default), in order, each once.
pub(crate) fn parse(
    value: &str,
) -> Result<Vec<Box<dyn TextMapPropagator + Send + Sync>>, CorrectionError> {
    let value = if value.trim().is_empty() {
        DEFAULT
    } else {
        value
    };
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    if names.iter().any(|n| n == "none") {
        return if names.len() == 1 {
            Ok(Vec::new())
        } else {
            Err(invalid(
                value,
                "`none` cannot be combined with other propagators",
            ))
        };
    }
    names.iter().map(|name| propagator(name, value)).collect()
}

fn propagator(
    name: &str,
    value: &str,
) -> Result<Box<dyn TextMapPropagator + Send + Sync>, CorrectionError> {
    Ok(match name {
        "tracecontext" => Box::new(W3cTraceContext),
        "baggage" => Box::new(W3cBaggage),
        "b3" => Box::new(opentelemetry_zipkin::Propagator::with_encoding(
            B3Encoding::SingleHeader,
        )),
        "b3multi" => Box::new(opentelemetry_zipkin::Propagator::with_encoding(
            B3Encoding::MultipleHeader,
        )),
        "jaeger" => Box::new(opentelemetry_jaeger_propagator::Propagator::new()),
        "xray" => Box::new(opentelemetry_aws::trace::XrayPropagator::new()),
        "ottrace" => {
            return Err(invalid(
                value,
                "`ottrace` has no propagator on the opentelemetry-rust 0.32 line",
            ));
        }
        other => {
            return Err(invalid(
                value,
                &format!(
                    "unknown propagator `{other}` (supported: tracecontext, baggage, b3, \
                     b3multi, jaeger, xray, none)"
                ),
            ));
        }
    })
}

fn invalid(value: &str, why: &str) -> CorrectionError {
    CorrectionError::Propagators(format!("{VARIABLE}={value:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::{
        Context,
        trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
    };

    use super::*;

    /// The headers of each propagator `value` names, in the order it names them.
    fn fields(value: &str) -> Vec<String> {
        parse(value)
            .unwrap()
            .iter()
            .flat_map(|p| p.fields().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn values_map_to_their_headers_in_order() {
        assert_eq!(fields(""), ["traceparent", "tracestate", "baggage"]);
        assert_eq!(fields(" b3 "), ["b3"]);
        assert_eq!(
            fields("b3multi"),
            ["x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags"]
        );
        assert_eq!(fields("jaeger"), ["uber-trace-id"]);
        assert_eq!(fields("xray"), ["x-amzn-trace-id"]);
        assert_eq!(
            fields("baggage,TraceContext,baggage"),
            ["baggage", "traceparent", "tracestate"]
        );
        assert!(fields("none").is_empty());
    }

    #[test]
    fn unsupported_values_are_start_up_errors_naming_them() {
        for (value, named) in [
            ("tracecontext,b4", "b4"),
            ("ottrace", "ottrace"),
            ("none,b3", "none"),
        ] {
            let Err(error) = parse(value) else {
                panic!("{value} was accepted");
            };
            let error = error.to_string();
            assert!(error.contains(named) && error.contains(VARIABLE), "{error}");
        }
    }

    #[test]
    fn every_format_round_trips_a_sampled_context() {
        let span_context = SpanContext::new(
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
            SpanId::from(0x00f067aa0ba902b7),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(span_context.clone());
        for value in ["tracecontext", "b3", "b3multi", "jaeger", "xray"] {
            let propagator = TextMapCompositePropagator::new(parse(value).unwrap());
            let mut headers = HashMap::new();
            propagator.inject_context(&cx, &mut headers);
            let back = propagator.extract(&headers);
            let got = back.span().span_context().clone();
            assert_eq!(
                got.trace_id(),
                span_context.trace_id(),
                "{value}: {headers:?}"
            );
            assert_eq!(got.span_id(), span_context.span_id(), "{value}");
            assert!(got.is_sampled(), "{value}");
        }
    }
}
