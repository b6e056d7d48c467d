//! The W3C rules, row by row, at the unit level: extract with our propagators, then inject what
//! a downstream call would carry. The same rows run over HTTP in `tests/propagation.rs`.

#[path = "support/lines.rs"]
mod lines;
#[path = "support/w3c_cases.rs"]
mod w3c_cases;

use std::collections::HashMap;

use lines::Lines;
use opentelemetry::{
    baggage::BaggageExt,
    propagation::{Injector, TextMapCompositePropagator, TextMapPropagator},
    trace::TraceContextExt,
};
use proptest::prelude::*;
use sdk_corrections::w3c::{
    MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS, W3cBaggage, W3cTraceContext, parse_baggage,
    parse_tracestate,
};
use w3c_cases::{PARENT, TRACE, cases};

fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![Box::new(W3cTraceContext), Box::new(W3cBaggage)])
}

/// Extracts the row's header lines with `propagator`, then injects what a downstream call
/// would carry: the extracted context and the headers written.
fn through(
    propagator: &TextMapCompositePropagator,
    case: &w3c_cases::Case,
) -> (opentelemetry::Context, HashMap<String, String>) {
    let mut lines = HashMap::new();
    for (name, values) in [
        ("traceparent", &case.traceparent),
        ("tracestate", &case.tracestate),
        ("baggage", &case.baggage),
    ] {
        if !values.is_empty() {
            lines.insert(name, values.clone());
        }
    }
    let cx = propagator.extract(&Lines(lines));
    let mut out = HashMap::new();
    propagator.inject_context(&cx, &mut out);
    (cx, out)
}

/// Baggage members, sorted: order carries no meaning (W3C Baggage), and the SDK's container
/// does not keep it.
fn sorted(members: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut members: Vec<String> = members.into_iter().collect();
    members.sort();
    members
}

fn baggage_members(out: &HashMap<String, String>) -> Vec<String> {
    sorted(
        out.get("baggage")
            .into_iter()
            .flat_map(|h| h.split(',').map(str::to_owned)),
    )
}

#[test]
fn every_rule_holds_from_extraction_to_injection() {
    for case in cases() {
        let (cx, out) = through(&propagator(), &case);
        let span_context = cx.span().span_context().clone();
        match case.continues_with_flags {
            Some(flags) => {
                assert!(
                    span_context.is_remote() && span_context.is_valid(),
                    "{}: should continue",
                    case.name
                );
                assert_eq!(
                    out.get("traceparent"),
                    Some(&format!("00-{TRACE}-{PARENT}-{flags}")),
                    "{}",
                    case.name
                );
            }
            None => {
                assert!(
                    !span_context.is_valid(),
                    "{}: should start a new trace",
                    case.name
                );
                assert_eq!(out.get("traceparent"), None, "{}", case.name);
            }
        }
        assert_eq!(
            out.get("tracestate"),
            case.tracestate_out.as_ref(),
            "{}",
            case.name
        );
        assert_eq!(
            baggage_members(&out),
            sorted(case.baggage_out.clone()),
            "{}",
            case.name
        );
        assert_eq!(cx.baggage().len(), case.baggage_out.len(), "{}", case.name);
    }
}

#[test]
fn decoded_baggage_values_are_what_the_sender_meant() {
    let members = parse_baggage(&["k=hello%20world%2C%3B,p=100%25,e=a=b"]);
    let cx = opentelemetry::Context::new().with_baggage(members);
    assert_eq!(
        cx.baggage().get("k").map(|v| v.as_str().to_owned()),
        Some("hello world,;".to_owned())
    );
    assert_eq!(
        cx.baggage().get("p").map(|v| v.as_str().to_owned()),
        Some("100%".to_owned())
    );
    assert_eq!(
        cx.baggage().get("e").map(|v| v.as_str().to_owned()),
        Some("a=b".to_owned())
    );
}

/// What the injector wrote.
struct Out(HashMap<String, String>);
impl Injector for Out {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any header values: no panic, and what goes downstream is bounded by the spec's limits
    /// whatever came in.
    #[test]
    fn no_input_panics_or_grows_without_bound(
        traceparent in proptest::collection::vec(".{0,80}", 0..3),
        tracestate in proptest::collection::vec("[a-z0-9=,@ \\t*/_-]{0,300}", 0..4),
        baggage in proptest::collection::vec("[ -~]{0,400}", 0..4),
    ) {
        let mut lines = HashMap::new();
        lines.insert("traceparent", traceparent);
        lines.insert("tracestate", tracestate);
        lines.insert("baggage", baggage);
        let cx = propagator().extract(&Lines(lines));
        let mut out = Out(HashMap::new());
        propagator().inject_context(&cx, &mut out);
        if let Some(tp) = out.0.get("traceparent") {
            prop_assert_eq!(tp.len(), 55);
        }
        if let Some(ts) = out.0.get("tracestate") {
            prop_assert!(ts.split(',').count() <= 32);
        }
        if let Some(b) = out.0.get("baggage") {
            prop_assert!(b.len() <= MAX_BAGGAGE_BYTES * 3);
            prop_assert!(b.split(',').count() <= MAX_BAGGAGE_MEMBERS);
        }
    }

    /// Valid traceparents of any version below ff continue the trace with the same ids.
    #[test]
    fn valid_traceparents_always_continue(
        version in 0u8..0xff,
        trace in "[0-9a-f]{32}",
        parent in "[0-9a-f]{16}",
        flags in 0u8..=255,
    ) {
        prop_assume!(trace.chars().any(|c| c != '0') && parent.chars().any(|c| c != '0'));
        let header = format!("{version:02x}-{trace}-{parent}-{flags:02x}");
        let parsed = sdk_corrections::w3c::parse_traceparent(&header);
        prop_assert!(parsed.is_some(), "{}", header);
        let (t, p, f) = parsed.unwrap();
        prop_assert_eq!(t.to_string(), trace);
        prop_assert_eq!(p.to_string(), parent);
        prop_assert_eq!(f, flags);
    }

    /// A huge tracestate costs no more than 33 members of work and is discarded.
    #[test]
    fn long_tracestates_are_discarded(n in 33usize..2000) {
        let header = (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        prop_assert!(parse_tracestate(&[header.as_str()]).is_none());
    }
}

/// The rows the stock SDK propagators get wrong — the reason `w3c.rs` exists. When this test
/// fails, upstream fixed something: delete the matching correction in `w3c.rs`.
#[test]
fn the_sdk_propagators_still_break_these_rules() {
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    let sdk = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let mut broken = Vec::new();
    for case in cases() {
        let (_, out) = through(&sdk, &case);
        let traceparent_ok = match case.continues_with_flags {
            Some(flags) => out.get("traceparent") == Some(&format!("00-{TRACE}-{PARENT}-{flags}")),
            None => !out.contains_key("traceparent"),
        };
        let tracestate_ok = out.get("tracestate").filter(|s| !s.is_empty())
            == case.tracestate_out.as_ref()
            && !(case.tracestate_out.is_none() && out.contains_key("tracestate"));
        let baggage_ok = baggage_members(&out) == sorted(case.baggage_out.clone());
        if !(traceparent_ok && tracestate_ok && baggage_ok) {
            broken.push(case.name);
        }
    }
    for gap in [
        "level 2 random flag is kept",
        "short trace id",
        "signed trace id",
        "one-digit version",
        "version 00 with a trailing dash",
        "two traceparent headers",
        "header lines are combined in order",
        "empty members and whitespace are ignored",
        "value with '=' discards the list",
        "a duplicate key keeps its first entry",
        "the same member twice is sent once",
        "two '@' in a key: that member is dropped, the rest kept",
        "33 members discard the list",
        "values may contain '='",
        "a literal % is re-encoded",
        "properties are kept as sent",
        "members past 8192 bytes are dropped whole",
    ] {
        assert!(
            broken.contains(&gap),
            "the SDK now gets {gap:?} right: remove our correction. Still broken: {broken:#?}"
        );
    }
}

/// Keys the current Trace Context grammar allows but the opentelemetry API's `TraceState`
/// refuses (it still splits `tenant@system` with the old limits). `w3c.rs` drops such a member
/// alone; when this test fails, upstream accepts them and the drop can go.
#[test]
fn the_api_trace_state_still_rejects_these_spec_valid_keys() {
    for key in [
        format!("{}@{}", "t".repeat(241), "s".repeat(14)),
        "a@b@c".to_owned(),
        "t@abcdefghijklmnop".to_owned(),
        "a@_x".to_owned(),
    ] {
        assert!(sdk_corrections::w3c::valid_tracestate_key(&key), "{key}");
        assert!(
            opentelemetry::trace::TraceState::from_key_value([(key.as_str(), "v")]).is_err(),
            "the API now accepts {key:?}: stop dropping such members in w3c.rs"
        );
    }
}
