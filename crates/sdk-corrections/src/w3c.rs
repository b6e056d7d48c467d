//! W3C Trace Context (Level 1 and 2) and W3C Baggage propagation, to the letter.
//!
//! These replace `opentelemetry_sdk::propagation::{TraceContextPropagator, BaggagePropagator}`
//! behind the same `TextMapPropagator` trait, so reqwest-tracing (injection) and our axum layer
//! (extraction) use them unchanged. What each part corrects in the SDK 0.32.1 / API 0.32.0
//! types — delete the part once upstream is fixed:
//!
//! `traceparent` (`TraceContextPropagator::extract_span_context`):
//! - field sizes: the SDK parses fields with `from_str_radix`, so `0-…`, a 31-digit trace id,
//!   a one-digit flags field or a `+`-signed field are accepted; here every field has its exact
//!   width and only `[0-9a-f]`.
//! - version 00 must be exactly 55 characters: the SDK's `split_terminator('-')` accepts a
//!   trailing `-` (`…-01-`); a higher version may carry more only after a `-`.
//! - several `traceparent` header lines are invalid: the SDK reads only the first.
//! - the Level 2 `random` flag (0x02) is kept on extract and inject: the SDK masks flags with
//!   `SAMPLED`. The SDK tracer carries parent flags into sampled children
//!   (`trace_flags.with_sampled(true)`), so the flag survives a hop. Not fixable here: roots we
//!   start never set it, and unsampled children reset flags to default — `TraceFlags` has no
//!   `RANDOM` and `RandomIdGenerator` cannot say its ids are random
//!   (open-telemetry/opentelemetry-rust#3270, PR #3718 open).
//!
//! `tracestate` (`TraceState::from_str` / `valid_key` / `valid_value`, and `inject_context`):
//! - all header lines are combined in order; the SDK reads the first.
//! - empty members and whitespace around members are ignored; the SDK discards the whole
//!   list on `a=1,,b=2` or ` a=1`.
//! - values must be 1–256 printable ASCII characters, not ending in a space; the SDK accepts
//!   empty values, control characters and non-ASCII, and turns `a==b` into `a=b`.
//! - keys follow the current grammar (`@` anywhere after the first character); where the API's
//!   own `TraceState` validation refuses a key the grammar allows (two `@`, more than 13
//!   characters after it, e.g. a 241-character tenant with a 14-character system), that member
//!   alone is dropped — the SDK type cannot hold it — and the rest passes on.
//! - a duplicate key keeps its first entry and drops the later ones (the SDK keeps both);
//!   more than 32 members discard the list.
//! - an empty `tracestate` is not sent; the SDK always sets the header.
//!
//! `baggage` (`BaggagePropagator`):
//! - all header lines are combined; invalid members are dropped one by one and the rest kept
//!   (the SDK drops the whole header when it is over 8192 bytes, and keeps members whose
//!   values contain characters the grammar forbids).
//! - values may contain `=` (the SDK truncates `k=a=b` to `a`); keys are tokens, not
//!   percent-decoded.
//! - properties are kept as received (still encoded) and re-sent as is: the SDK decodes them
//!   and re-sends them raw, so `;p=%2C` becomes a literal `,` that splits the list downstream.
//! - values are percent-encoded on the way out including `%` itself (the SDK sends `100%`
//!   raw, which the next hop cannot decode).
//! - rejected input is never written to logs (the SDK logs the whole header).
//! - limits: at most 64 members and 8192 bytes, counted as received; members past a limit are
//!   dropped whole, never cut.
//!
//! What the SDK already does right stays the SDK's: span context types, the context plumbing,
//! the `Baggage` container and its own limits, sampling.

use opentelemetry::{
    Context,
    baggage::{Baggage, BaggageExt, KeyValueMetadata},
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// The flags this implementation understands: sampled (Level 1) and random (Level 2).
const KNOWN_FLAGS: u8 = 0x01 | 0x02;
/// `tracestate` list-member limit.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;
/// `baggage` member limit (W3C Baggage, "Limits").
pub const MAX_BAGGAGE_MEMBERS: usize = 64;
/// `baggage` size limit in bytes (W3C Baggage, "Limits").
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// `traceparent` + `tracestate`.
#[derive(Debug, Default, Clone, Copy)]
pub struct W3cTraceContext;

/// `baggage`.
#[derive(Debug, Default, Clone, Copy)]
pub struct W3cBaggage;

fn header_lines<'a>(extractor: &'a dyn Extractor, name: &str) -> Vec<&'a str> {
    extractor
        .get_all(name)
        .or_else(|| extractor.get(name).map(|v| vec![v]))
        .unwrap_or_default()
}

impl TextMapPropagator for W3cTraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        let flags = span_context.trace_flags().to_u8() & KNOWN_FLAGS;
        injector.set(
            TRACEPARENT,
            format!(
                "00-{}-{}-{flags:02x}",
                span_context.trace_id(),
                span_context.span_id()
            ),
        );
        let state = span_context.trace_state().header();
        if !state.is_empty() {
            injector.set(TRACESTATE, state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let lines = header_lines(extractor, TRACEPARENT);
        let [line] = lines.as_slice() else {
            return cx.clone(); // none, or several: either way no valid parent
        };
        let Some((trace_id, span_id, flags)) = parse_traceparent(line) else {
            return cx.clone();
        };
        let state = parse_tracestate(&header_lines(extractor, TRACESTATE)).unwrap_or_default();
        let flags = TraceFlags::new(flags & KNOWN_FLAGS);
        cx.with_remote_span_context(SpanContext::new(trace_id, span_id, flags, true, state))
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}

fn lower_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex_value(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |acc, b| {
        let digit = if b.is_ascii_digit() {
            b - b'0'
        } else {
            b - b'a' + 10
        };
        (acc << 4) | u128::from(digit)
    })
}

/// `version-traceid-parentid-flags`, each field exactly as wide as the spec says.
pub fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, u8)> {
    let b = value.as_bytes();
    if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let (version, trace, parent, flags) = (&b[0..2], &b[3..35], &b[36..52], &b[53..55]);
    if ![version, trace, parent, flags].iter().all(|f| lower_hex(f)) {
        return None;
    }
    match hex_value(version) {
        0xff => return None,
        0x00 if b.len() != 55 => return None,
        _ if b.len() > 55 && b[55] != b'-' => return None,
        _ => {}
    }
    let trace_id = hex_value(trace);
    let span_id = hex_value(parent) as u64;
    if trace_id == 0 || span_id == 0 {
        return None;
    }
    Some((
        TraceId::from(trace_id),
        SpanId::from(span_id),
        hex_value(flags) as u8,
    ))
}

/// `key = ( lcalpha / DIGIT ) 0*255 ( keychar )`, `keychar = lcalpha / DIGIT / "_" / "-" /
/// "*" / "/" / "@"` — the current Trace Context grammar (the older `tenant@system` split, with
/// its 241/14 limits, is gone: `@` may appear anywhere after the first character, any number of
/// times, last included).
pub fn valid_tracestate_key(key: &str) -> bool {
    let b = key.as_bytes();
    (1..=256).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/' | b'@'))
}

/// Whether the opentelemetry API's `TraceState` can hold `key`. Its validation still follows
/// the older multi-tenant wording and refuses some keys the grammar allows: two `@`, more
/// than 13 characters after the `@`, or a character other than a letter or digit right after
/// it (`the_api_trace_state_still_rejects_these_spec_valid_keys` tracks this). Such a member
/// cannot travel through the SDK's span context, so it alone is dropped.
fn api_accepts_key(key: &str) -> bool {
    TraceState::from_key_value([(key, "v")]).is_ok()
}

/// 1–256 of `%x20-2B / %x2D-3C / %x3E-7E`, the last not a space.
pub fn valid_tracestate_value(value: &str) -> bool {
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

/// The combined list, or `None` when it must be discarded (an invalid member, or more than
/// 32 members). Stops reading at the 33rd member, so a huge header costs little. A key seen
/// again is dropped and the first entry kept (the spec lets a vendor discard duplicates rather
/// than the list); a valid member the API's `TraceState` cannot hold is dropped alone.
pub fn parse_tracestate(lines: &[&str]) -> Option<TraceState> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut seen = 0;
    for member in lines.iter().flat_map(|line| line.split(',')) {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        if seen == MAX_TRACESTATE_MEMBERS {
            return None;
        }
        seen += 1;
        let (key, value) = member.split_once('=')?;
        if !valid_tracestate_key(key) || !valid_tracestate_value(value) {
            return None;
        }
        if members.iter().any(|(k, _)| *k == key) || !api_accepts_key(key) {
            continue;
        }
        members.push((key, value));
    }
    TraceState::from_key_value(members).ok()
}

impl TextMapPropagator for W3cBaggage {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let header = format_baggage(cx.baggage());
        if !header.is_empty() {
            injector.set(BAGGAGE, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let members = parse_baggage(&header_lines(extractor, BAGGAGE));
        if members.is_empty() {
            return cx.clone();
        }
        cx.with_baggage(members)
    }

    fn fields(&self) -> FieldIter<'_> {
        static FIELDS: std::sync::OnceLock<[String; 1]> = std::sync::OnceLock::new();
        FieldIter::new(FIELDS.get_or_init(|| [BAGGAGE.to_owned()]))
    }
}

/// RFC 7230 `token`: the baggage key grammar.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `baggage-octet`: printable ASCII except space, `"`, `,`, `;` and `\`.
fn is_baggage_octets(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e))
}

/// `key [= value]` with a token key and baggage-octet value.
fn is_property(p: &str) -> bool {
    match p.split_once('=') {
        None => is_token(p.trim_matches([' ', '\t'])),
        Some((k, v)) => {
            is_token(k.trim_matches([' ', '\t'])) && is_baggage_octets(v.trim_matches([' ', '\t']))
        }
    }
}

/// Parses one `key = value *(; property)` member; `None` drops it.
fn parse_member(member: &str) -> Option<KeyValueMetadata> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (
        key.trim_matches([' ', '\t']),
        value.trim_matches([' ', '\t']),
    );
    if !is_token(key) || !is_baggage_octets(value) {
        return None;
    }
    let value = percent_decode_str(value).decode_utf8().ok()?;
    let properties: Vec<&str> = parts.map(|p| p.trim_matches([' ', '\t'])).collect();
    if !properties.iter().all(|p| is_property(p)) {
        return None;
    }
    Some(KeyValueMetadata::new(
        key.to_owned(),
        value.into_owned(),
        properties.join(";"),
    ))
}

/// Members in order, invalid ones dropped, within 64 members and 8192 bytes (counted as
/// received; members past a limit are dropped whole). Later duplicates of a key win, as in the
/// SDK's `Baggage`.
pub fn parse_baggage(lines: &[&str]) -> Vec<KeyValueMetadata> {
    let mut members = Vec::new();
    let mut bytes = 0;
    for member in lines.iter().flat_map(|line| line.split(',')) {
        let trimmed = member.trim_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if members.len() == MAX_BAGGAGE_MEMBERS || bytes + trimmed.len() > MAX_BAGGAGE_BYTES {
            break;
        }
        if let Some(parsed) = parse_member(trimmed) {
            bytes += trimmed.len() + 1;
            members.push(parsed);
        }
    }
    members
}

/// Everything that is not a `baggage-octet` — including `%` itself — is percent-encoded.
const VALUE_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

fn format_baggage(baggage: &Baggage) -> String {
    let mut header = String::new();
    let mut count = 0;
    for (key, (value, metadata)) in baggage.iter() {
        if !is_token(key.as_str()) || count == MAX_BAGGAGE_MEMBERS {
            continue;
        }
        let mut member = format!(
            "{}={}",
            key.as_str(),
            utf8_percent_encode(value.as_str(), VALUE_ENCODE)
        );
        let properties = metadata.as_str();
        if !properties.is_empty() && properties.split(';').all(is_property) {
            member.push(';');
            member.push_str(properties);
        }
        let separator = usize::from(!header.is_empty());
        if header.len() + separator + member.len() > MAX_BAGGAGE_BYTES {
            continue;
        }
        if separator == 1 {
            header.push(',');
        }
        header.push_str(&member);
        count += 1;
    }
    header
}
