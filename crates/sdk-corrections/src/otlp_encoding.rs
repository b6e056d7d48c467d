//! The OTLP/protobuf body of a span batch, written straight from `&[SpanData]`.
//!
//! opentelemetry-otlp 0.32 builds the same bytes in two steps: opentelemetry-proto converts every
//! span into its generated structs (a clone of each `SpanData`, every key and string copied into
//! a new `String`, the scope hashed per span — `group_spans_by_resource_and_scope`), then prost
//! encodes those, computing each nested message's length again at every level. Measured with
//! callgrind on this project's two services, that is ~13,300 of the ~15,500 instructions a span
//! costs on the export side (docs/performance.md). Here each span's length is computed once, the
//! resource is encoded once per exporter, and nothing is copied but the output bytes.
//!
//! The output is the message upstream builds, field for field: the same
//! `ExportTraceServiceRequest` with one `ResourceSpans`, one `ScopeSpans` per instrumentation
//! scope (in first-seen order; upstream's order comes from a `HashMap`), spans in batch order,
//! and prost's encoding rules (fields in tag order, proto3 defaults left out, an empty `Status`
//! still written). `tests/otlp_encoding.rs` decodes both and compares them over generated spans.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{
    Array, InstrumentationScope, KeyValue, Value,
    trace::{SpanId, SpanKind, Status},
};
use opentelemetry_sdk::{
    Resource,
    trace::{SpanData, SpanEvents, SpanLinks},
};

// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// Encodes span batches for one resource (made again when the SDK hands the exporter one).
#[derive(Debug, Default)]
pub struct TraceEncoder {
    /// `ResourceSpans.resource` (field 1), encoded once.
    resource: Vec<u8>,
    /// `ResourceSpans.schema_url` (field 3), encoded once; empty when there is none.
    schema_url: Vec<u8>,
}

impl TraceEncoder {
    /// An encoder for spans of `resource`.
    pub fn new(resource: &Resource) -> Self {
        let attributes = || resource.iter();
        let body_len: usize = attributes()
            .map(|(k, v)| field_len(1, kv_len(k.as_str(), v)))
            .sum();
        let mut encoded = Vec::with_capacity(field_len(1, body_len));
        put_len_prefix(&mut encoded, 1, body_len);
        for (key, value) in attributes() {
            put_key_value(&mut encoded, 1, key.as_str(), value);
        }
        let mut schema_url = Vec::new();
        put_string(
            &mut schema_url,
            3,
            resource.schema_url().unwrap_or_default(),
        );
        Self {
            resource: encoded,
            schema_url,
        }
    }

    /// The `ExportTraceServiceRequest` for `spans`.
    pub fn encode(&self, spans: &[SpanData]) -> Vec<u8> {
        // Pass one: the length of every span, and the spans of each scope.
        let prepared: Vec<Prepared> = spans.iter().map(Prepared::new).collect();
        let mut scopes: Vec<(&InstrumentationScope, Vec<usize>)> = Vec::new();
        for (index, span) in spans.iter().enumerate() {
            let scope = &span.instrumentation_scope;
            match scopes.iter_mut().find(|(seen, _)| *seen == scope) {
                Some((_, members)) => members.push(index),
                None => scopes.push((scope, vec![index])),
            }
        }
        let scope_lens: Vec<usize> = scopes
            .iter()
            .map(|(scope, members)| {
                field_len(1, scope_len(scope))
                    + members
                        .iter()
                        .map(|&i| field_len(2, prepared[i].len))
                        .sum::<usize>()
                    + string_field_len(3, scope.schema_url().unwrap_or_default())
            })
            .collect();
        let resource_spans_len = self.resource.len()
            + scope_lens
                .iter()
                .map(|&len| field_len(2, len))
                .sum::<usize>()
            + self.schema_url.len();

        // Pass two: the bytes, outside in.
        let mut out = Vec::with_capacity(field_len(1, resource_spans_len));
        put_len_prefix(&mut out, 1, resource_spans_len);
        out.extend_from_slice(&self.resource);
        for ((scope, members), scope_spans_len) in scopes.iter().zip(scope_lens) {
            put_len_prefix(&mut out, 2, scope_spans_len);
            put_len_prefix(&mut out, 1, scope_len(scope));
            put_scope(&mut out, scope);
            for &index in members {
                put_len_prefix(&mut out, 2, prepared[index].len);
                put_span(&mut out, &spans[index], &prepared[index]);
            }
            put_string(&mut out, 3, scope.schema_url().unwrap_or_default());
        }
        out.extend_from_slice(&self.schema_url);
        out
    }
}

// ---- lengths (message bodies, without their own key and length prefix) ----

/// What a span's length needs and its writing needs again, worked out once.
struct Prepared {
    /// The span's message body length.
    len: usize,
    trace_state: String,
    start: u64,
    end: u64,
}

impl Prepared {
    fn new(span: &SpanData) -> Self {
        let trace_state = span.span_context.trace_state().header();
        let (start, end) = (nanos(span.start_time), nanos(span.end_time));
        let len = field_len(1, 16)
            + field_len(2, 8)
            + string_field_len(3, &trace_state)
            + if span.parent_span_id == SpanId::INVALID {
                0
            } else {
                field_len(4, 8)
            }
            + string_field_len(5, &span.name)
            + 1
            + varint_len(kind(&span.span_kind))
            + fixed64_field_len(start)
            + fixed64_field_len(end)
            + attributes_len(&span.attributes)
            + uint32_field_len(span.dropped_attributes_count)
            + events_len(&span.events)
            + uint32_field_len(span.events.dropped_count)
            + links_len(&span.links)
            + uint32_field_len(span.links.dropped_count)
            + field_len(15, status_len(&span.status))
            + 2
            + 4; // flags: field 16 takes a two-byte key
        Self {
            len,
            trace_state,
            start,
            end,
        }
    }
}

fn events_len(events: &SpanEvents) -> usize {
    events
        .events
        .iter()
        .map(|event| field_len(11, event_len(event)))
        .sum()
}

fn event_len(event: &opentelemetry::trace::Event) -> usize {
    fixed64_field_len(nanos(event.timestamp))
        + string_field_len(2, &event.name)
        + attributes_len(&event.attributes)
        + uint32_field_len(event.dropped_attributes_count)
}

fn links_len(links: &SpanLinks) -> usize {
    links
        .links
        .iter()
        .map(|link| field_len(13, link_len(link)))
        .sum()
}

fn link_len(link: &opentelemetry::trace::Link) -> usize {
    field_len(1, 16)
        + field_len(2, 8)
        + string_field_len(3, &link.span_context.trace_state().header())
        + attributes_len(&link.attributes)
        + uint32_field_len(link.dropped_attributes_count)
        + 1
        + 4
}

fn status_len(status: &Status) -> usize {
    match status {
        Status::Unset => 0,
        Status::Ok => 2,
        Status::Error { description } => string_field_len(2, description) + 2,
    }
}

fn scope_len(scope: &InstrumentationScope) -> usize {
    string_field_len(1, scope.name())
        + string_field_len(2, scope.version().unwrap_or_default())
        + scope
            .attributes()
            .map(|kv| field_len(3, kv_len(kv.key.as_str(), &kv.value)))
            .sum::<usize>()
}

/// Attributes are field 9 of a span, 3 of an event, 4 of a link: all one-byte keys.
fn attributes_len(attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| field_len(1, kv_len(kv.key.as_str(), &kv.value)))
        .sum()
}

#[inline]
fn kv_len(key: &str, value: &Value) -> usize {
    string_field_len(1, key) + field_len(2, any_value_len(value))
}

#[inline]
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::String(s) => field_len(1, s.as_str().len()),
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        Value::Array(array) => field_len(5, array_len(array)),
        _ => 0, // a value type newer than this encoder: an empty AnyValue
    }
}

fn array_len(array: &Array) -> usize {
    let element = |len: usize| field_len(1, len);
    match array {
        Array::Bool(values) => values.len() * element(2),
        Array::I64(values) => values
            .iter()
            .map(|i| element(1 + varint_len(*i as u64)))
            .sum(),
        Array::F64(values) => values.len() * element(9),
        Array::String(values) => values
            .iter()
            .map(|s| element(field_len(1, s.as_str().len())))
            .sum(),
        _ => 0,
    }
}

/// A length-delimited field with a one-byte key (fields 1-15): key, length, body.
#[inline]
fn field_len(field: u32, body_len: usize) -> usize {
    debug_assert!(field < 16, "field {field} takes a longer key");
    1 + varint_len(body_len as u64) + body_len
}

/// proto3 leaves an empty string out.
#[inline]
fn string_field_len(field: u32, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        field_len(field, value.len())
    }
}

#[inline]
fn uint32_field_len(value: u32) -> usize {
    if value == 0 {
        0
    } else {
        1 + varint_len(u64::from(value))
    }
}

#[inline]
fn fixed64_field_len(value: u64) -> usize {
    if value == 0 { 0 } else { 9 }
}

#[inline]
fn varint_len(value: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

// ---- writing ----

fn put_span(out: &mut Vec<u8>, span: &SpanData, prepared: &Prepared) {
    let context = &span.span_context;
    put_len_delimited(out, 1, &context.trace_id().to_bytes());
    put_len_delimited(out, 2, &context.span_id().to_bytes());
    put_string(out, 3, &prepared.trace_state);
    if span.parent_span_id != SpanId::INVALID {
        put_len_delimited(out, 4, &span.parent_span_id.to_bytes());
    }
    put_string(out, 5, &span.name);
    put_key(out, 6, VARINT);
    put_varint(out, kind(&span.span_kind));
    put_fixed64(out, 7, prepared.start);
    put_fixed64(out, 8, prepared.end);
    put_attributes(out, 9, &span.attributes);
    put_uint32(out, 10, span.dropped_attributes_count);
    for event in span.events.events.iter() {
        put_len_prefix(out, 11, event_len(event));
        put_fixed64(out, 1, nanos(event.timestamp));
        put_string(out, 2, &event.name);
        put_attributes(out, 3, &event.attributes);
        put_uint32(out, 4, event.dropped_attributes_count);
    }
    put_uint32(out, 12, span.events.dropped_count);
    for link in span.links.links.iter() {
        let linked = &link.span_context;
        put_len_prefix(out, 13, link_len(link));
        put_len_delimited(out, 1, &linked.trace_id().to_bytes());
        put_len_delimited(out, 2, &linked.span_id().to_bytes());
        put_string(out, 3, &linked.trace_state().header());
        put_attributes(out, 4, &link.attributes);
        put_uint32(out, 5, link.dropped_attributes_count);
        put_fixed32(
            out,
            6,
            flags(linked.is_remote(), linked.trace_flags().to_u8()),
        );
    }
    put_uint32(out, 14, span.links.dropped_count);
    put_len_prefix(out, 15, status_len(&span.status));
    match &span.status {
        Status::Unset => {}
        Status::Ok => put_status_code(out, 1),
        Status::Error { description } => {
            put_string(out, 2, description);
            put_status_code(out, 2);
        }
    }
    put_fixed32(
        out,
        16,
        flags(span.parent_span_is_remote, context.trace_flags().to_u8()),
    );
}

fn put_status_code(out: &mut Vec<u8>, code: u64) {
    put_key(out, 3, VARINT);
    put_varint(out, code);
}

fn put_scope(out: &mut Vec<u8>, scope: &InstrumentationScope) {
    put_string(out, 1, scope.name());
    put_string(out, 2, scope.version().unwrap_or_default());
    for kv in scope.attributes() {
        put_key_value(out, 3, kv.key.as_str(), &kv.value);
    }
}

fn put_attributes(out: &mut Vec<u8>, field: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        put_key_value(out, field, kv.key.as_str(), &kv.value);
    }
}

#[inline]
fn put_key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    let value_len = any_value_len(value);
    put_len_prefix(
        out,
        field,
        string_field_len(1, key) + field_len(2, value_len),
    );
    put_string(out, 1, key);
    put_len_prefix(out, 2, value_len);
    put_any_value(out, value);
}

/// An `AnyValue` body. A oneof member is written even when it holds its type's default.
#[inline]
fn put_any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => put_len_delimited(out, 1, s.as_str().as_bytes()),
        Value::Bool(b) => {
            put_key(out, 2, VARINT);
            put_varint(out, u64::from(*b));
        }
        Value::I64(i) => {
            put_key(out, 3, VARINT);
            put_varint(out, *i as u64);
        }
        Value::F64(f) => {
            put_key(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Array(array) => {
            put_len_prefix(out, 5, array_len(array));
            put_array(out, array);
        }
        _ => {}
    }
}

fn put_array(out: &mut Vec<u8>, array: &Array) {
    let mut element = |value: Value| {
        put_len_prefix(out, 1, any_value_len(&value));
        put_any_value(out, &value);
    };
    match array {
        Array::Bool(values) => values.iter().for_each(|v| element(Value::Bool(*v))),
        Array::I64(values) => values.iter().for_each(|v| element(Value::I64(*v))),
        Array::F64(values) => values.iter().for_each(|v| element(Value::F64(*v))),
        // A `StringValue` clone shares its string (or borrows a static one); no copy of the text.
        Array::String(values) => values
            .iter()
            .for_each(|v| element(Value::String(v.clone()))),
        _ => {}
    }
}

#[inline]
fn put_string(out: &mut Vec<u8>, field: u32, value: &str) {
    if !value.is_empty() {
        put_len_delimited(out, field, value.as_bytes());
    }
}

#[inline]
fn put_len_delimited(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    put_len_prefix(out, field, value.len());
    out.extend_from_slice(value);
}

/// The key and length that open a length-delimited field: a message, a string, bytes.
#[inline]
fn put_len_prefix(out: &mut Vec<u8>, field: u32, len: usize) {
    put_key(out, field, LEN);
    put_varint(out, len as u64);
}

#[inline]
fn put_uint32(out: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        put_key(out, field, VARINT);
        put_varint(out, u64::from(value));
    }
}

#[inline]
fn put_fixed64(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        put_key(out, field, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[inline]
fn put_fixed32(out: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        put_key(out, field, FIXED32);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[inline]
fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, u64::from(field << 3 | u32::from(wire_type)));
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

// ---- the values upstream's conversion derives ----

/// `SpanKind` as OTLP numbers it (`SPAN_KIND_INTERNAL` = 1, …).
fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// The W3C trace flags, plus OTLP's "whether the parent is remote is known" bit (0x100) and,
/// for a remote parent, 0x200.
fn flags(parent_is_remote: bool, trace_flags: u8) -> u32 {
    u32::from(trace_flags) | 0x100 | if parent_is_remote { 0x200 } else { 0 }
}

/// Nanoseconds since the epoch; a time before it is 0, as upstream has it.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_the_encoding() {
        for value in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
            -1i64 as u64,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
    }

    #[test]
    fn field_16_takes_a_two_byte_key() {
        let mut out = Vec::new();
        put_key(&mut out, 16, FIXED32);
        assert_eq!(out, [0x85, 0x01]);
    }
}
