//! Synthetic three-span traces for the Collector fleet tests, sent as OTLP/HTTP: a root and two
//! children whose shape the gateways' tail-sampling policies tell apart (ok, error, slow). A
//! test sends each trace's spans in separate requests, as services do when a trace's spans end
//! at different times or come from different services.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, KeyValue, any_value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind, status::StatusCode},
};
use prost::Message;

/// The `service.name` of every synthetic span.
pub const SERVICE: &str = "synthetic";
pub const SPANS_PER_TRACE: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Fast, no error: kept at the configured share.
    Ok,
    /// A child with status ERROR: always kept.
    Error,
    /// The root lasts `slow`: always kept when that is above the latency threshold.
    Slow,
}

#[derive(Clone, Debug)]
pub struct Trace {
    pub id: [u8; 16],
    pub shape: Shape,
    spans: [Span; SPANS_PER_TRACE],
}

impl Trace {
    /// Trace number `n` of a run seeded with `seed` (its ids spread like random ones). A slow
    /// trace's root lasts `slow`.
    pub fn new(seed: u64, n: u64, shape: Shape, slow: Duration) -> Self {
        let mut state = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&splitmix(&mut state).to_be_bytes());
        id[8..].copy_from_slice(&splitmix(&mut state).to_be_bytes());
        let root_id = splitmix(&mut state).to_be_bytes();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let duration = if shape == Shape::Slow {
            slow
        } else {
            Duration::from_millis(50)
        };
        let start = (now - duration).as_nanos() as u64;
        let end = now.as_nanos() as u64;
        let span = |name: &str, span_id: [u8; 8], parent: Option<[u8; 8]>, error: bool| Span {
            trace_id: id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: name.to_owned(),
            kind: if parent.is_none() {
                SpanKind::Server
            } else {
                SpanKind::Internal
            } as i32,
            start_time_unix_nano: start + 1_000,
            end_time_unix_nano: if parent.is_none() {
                end
            } else {
                start + 2_000_000
            },
            attributes: attributes(name),
            status: error.then(|| Status {
                code: StatusCode::Error as i32,
                message: "synthetic failure".to_owned(),
            }),
            ..Default::default()
        };
        let spans = [
            span(
                "child-a",
                splitmix(&mut state).to_be_bytes(),
                Some(root_id),
                false,
            ),
            span(
                "child-b",
                splitmix(&mut state).to_be_bytes(),
                Some(root_id),
                shape == Shape::Error,
            ),
            span("GET /synthetic", root_id, None, false),
        ];
        Self { id, shape, spans }
    }

    /// The id as the OTLP JSON and the test receiver print it.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn span(&self, index: usize) -> Span {
        self.spans[index].clone()
    }
}

/// A handful of attributes the size of an agent's (what a gateway holds per span matters for
/// its memory: docs/scaling.md).
fn attributes(name: &str) -> Vec<KeyValue> {
    [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.response.id", "chatcmpl-0123456789abcdefghijklmnop"),
        ("http.request.method", "POST"),
        ("url.path", "/synthetic"),
        ("synthetic.span", name),
    ]
    .into_iter()
    .map(|(key, value)| string(key, value))
    .collect()
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// A seed for a run's trace ids: the clock, so runs against a long-lived Collector never reuse ids.
pub fn seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Every span of `count` ok traces, numbered from `first`: one export of whole traces.
pub fn whole_traces(seed: u64, first: u64, count: u64) -> Vec<Span> {
    (first..first + count)
        .flat_map(|n| {
            let trace = Trace::new(seed, n, Shape::Ok, Duration::ZERO);
            (0..SPANS_PER_TRACE).map(move |i| trace.span(i))
        })
        .collect()
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sends `spans` as one OTLP/HTTP protobuf export to `url`; a refused or failed export is
/// tried again (a reloading Collector stops listening for a moment), for up to 20 s.
pub async fn send(url: &str, spans: Vec<Span>) {
    let body = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", SERVICE)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sent = client
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return,
            outcome => assert!(
                tokio::time::Instant::now() < deadline,
                "the agent tier refused an export for 20 s: {outcome:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends span `index` of every trace, in exports of at most 100 spans.
pub async fn send_round(url: &str, traces: &[Trace], index: usize) {
    for chunk in traces.chunks(100) {
        send(url, chunk.iter().map(|t| t.span(index)).collect()).await;
    }
}
