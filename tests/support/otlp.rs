//! A fake OTLP/HTTP receiver: decodes `ExportTraceServiceRequest` protobuf (gzip or not) and
//! keeps the spans. Optionally behaves like Galileo: answers 401 without the expected
//! `Galileo-API-Key` header, and records every request's headers.

use std::{
    collections::HashMap,
    io::Read,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use opentelemetry_proto::tonic::{
    collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse},
    collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse},
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::{AnyValue, KeyValue, any_value::Value},
    logs::v1::LogRecord,
    metrics::v1::Metric,
    trace::v1::{span::SpanKind as ProtoKind, status::StatusCode as ProtoStatus},
};
use prost::Message;

use crate::process::Background;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// One exported span, flattened with its resource's `service.name`.
#[derive(Debug, Clone)]
pub struct CapturedSpan {
    pub service: String,
    pub resource: HashMap<String, AttrValue>,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    pub attributes: HashMap<String, AttrValue>,
    /// Attribute keys that appear more than once on the wire (the map above keeps one).
    pub duplicate_keys: Vec<String>,
    /// `true` when the span status is ERROR.
    pub is_error: bool,
    pub status_message: String,
    /// Span events: name and attributes.
    pub events: Vec<(String, HashMap<String, AttrValue>)>,
}

/// An attribute value, kept with its OTLP type so tests can assert types, not just text.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    Array(Vec<AttrValue>),
    Other,
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl CapturedSpan {
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttrValue::as_str)
    }
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        self.attr(key).and_then(AttrValue::as_int)
    }
    /// A string attribute that holds JSON, parsed.
    pub fn json_attr(&self, key: &str) -> Option<serde_json::Value> {
        self.str_attr(key).map(|s| {
            serde_json::from_str(s).unwrap_or_else(|e| panic!("{key} on {}: {e}: {s}", self.name))
        })
    }
    /// Every string this span carries anywhere: attribute and event values, status, name.
    pub fn all_text(&self) -> String {
        let mut text = format!("{} {} ", self.name, self.status_message);
        for value in self
            .attributes
            .values()
            .chain(self.events.iter().flat_map(|(_, a)| a.values()))
        {
            text.push_str(&format!("{value:?} "));
        }
        text
    }
}

/// One HTTP request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub status: u16,
    /// When the answer was given.
    pub at: std::time::Instant,
    /// The `service.name` of a traces request (an uncompressed one), refused or not.
    pub service: Option<String>,
}

#[derive(Default)]
struct Inner {
    spans: Vec<CapturedSpan>,
    requests: Vec<Received>,
    /// Answers to give before accepting again (status, `Retry-After`), as a Collector's
    /// memory_limiter does when it refuses.
    refusals: std::collections::VecDeque<(StatusCode, Option<&'static str>)>,
    /// How long each export takes to answer: a slow Collector.
    delay: Duration,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
}

#[derive(Clone)]
struct Shared {
    inner: Arc<Mutex<Inner>>,
    api_key: Option<String>,
    path: String,
}

/// The receiver. Dropping it stops the server.
pub struct FakeOtlp {
    pub port: u16,
    shared: Shared,
    _server: Background,
}

impl FakeOtlp {
    /// A plain OTLP/HTTP traces endpoint at `/v1/traces`.
    pub async fn start() -> Self {
        Self::start_with("/v1/traces", None).await
    }

    /// A Galileo stand-in: traces at `path`, 401 unless `Galileo-API-Key` equals `api_key`.
    pub async fn galileo(path: &str, api_key: &str) -> Self {
        Self::start_with(path, Some(api_key.to_owned())).await
    }

    async fn start_with(path: &str, api_key: Option<String>) -> Self {
        let shared = Shared {
            inner: Arc::default(),
            api_key,
            path: path.to_owned(),
        };
        let app = Router::new()
            .route(path, post(receive))
            .route("/v1/metrics", post(receive_metrics))
            .route("/v1/logs", post(receive_logs))
            .with_state(shared.clone());
        let server = Background::serve(app).await;
        Self {
            port: server.port,
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT` — the value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The full URL of the traces path.
    pub fn traces_url(&self) -> String {
        format!("{}{}", self.base_url(), self.shared.path)
    }

    pub fn spans(&self) -> Vec<CapturedSpan> {
        self.shared.inner.lock().unwrap().spans.clone()
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.inner.lock().unwrap().requests.clone()
    }

    /// Every metrics export received at `/v1/metrics`, decoded.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.shared.inner.lock().unwrap().metrics.clone()
    }

    /// Every logs export received at `/v1/logs`, decoded.
    pub fn logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.shared.inner.lock().unwrap().logs.clone()
    }

    /// Every log record received, in order, whatever resource and scope it came with.
    pub fn log_records(&self) -> Vec<LogRecord> {
        self.logs()
            .into_iter()
            .flat_map(|export| export.resource_logs)
            .flat_map(|r| r.scope_logs)
            .flat_map(|s| s.log_records)
            .collect()
    }

    /// Answers the next exports with these statuses (and `Retry-After` values) before
    /// accepting again; refused exports keep none of their spans.
    pub fn refuse_next(&self, answers: &[(u16, Option<&'static str>)]) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.refusals.extend(
            answers.iter().map(|(status, retry_after)| {
                (StatusCode::from_u16(*status).unwrap(), *retry_after)
            }),
        );
    }

    /// Makes every export take `delay` to answer.
    pub fn answer_after(&self, delay: Duration) {
        self.shared.inner.lock().unwrap().delay = delay;
    }

    /// The spans of `trace_id`, once at least `count` arrived (or after 10 s, with what did).
    pub async fn wait_for_trace(&self, trace_id: &str, count: usize) -> Vec<CapturedSpan> {
        let of_trace = |spans: &[CapturedSpan]| -> Vec<CapturedSpan> {
            spans
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .cloned()
                .collect()
        };
        let spans = self
            .wait_for(Duration::from_secs(10), |s| of_trace(s).len() >= count)
            .await;
        of_trace(&spans)
    }

    /// The spans of the trace that has a span named `root`, once `done(spans)` holds (or after
    /// 10 s, with what arrived).
    pub async fn trace_with(
        &self,
        root: &str,
        done: impl Fn(&[CapturedSpan]) -> bool,
    ) -> Vec<CapturedSpan> {
        let spans = self.wait_for(Duration::from_secs(10), done).await;
        let trace_id = spans
            .iter()
            .find(|s| s.name == root)
            .unwrap_or_else(|| panic!("no {root} span"))
            .trace_id
            .clone();
        spans
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect()
    }

    /// Waits until `done(spans)` holds, or `timeout` passes; returns the spans either way, so
    /// the caller's assertion shows what did arrive.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[CapturedSpan]) -> bool,
    ) -> Vec<CapturedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// OTLP/HTTP protobuf metrics: kept decoded, answered with an empty success.
async fn receive_metrics(State(shared): State<Shared>, body: Bytes) -> (StatusCode, Vec<u8>) {
    match ExportMetricsServiceRequest::decode(&body[..]) {
        Ok(request) => {
            shared.inner.lock().unwrap().metrics.push(request);
            (
                StatusCode::OK,
                ExportMetricsServiceResponse::default().encode_to_vec(),
            )
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

/// OTLP/HTTP protobuf logs: kept decoded, answered with an empty success.
async fn receive_logs(State(shared): State<Shared>, body: Bytes) -> (StatusCode, Vec<u8>) {
    match ExportLogsServiceRequest::decode(&body[..]) {
        Ok(request) => {
            shared.inner.lock().unwrap().logs.push(request);
            (
                StatusCode::OK,
                ExportLogsServiceResponse::default().encode_to_vec(),
            )
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

async fn receive(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let delay = shared.inner.lock().unwrap().delay;
    tokio::time::sleep(delay).await;
    let refusal = shared.inner.lock().unwrap().refusals.pop_front();
    let (status, retry_after) = match refusal {
        Some(refusal) => refusal,
        None => (handle(&shared, &headers, &body), None),
    };
    shared.inner.lock().unwrap().requests.push(Received {
        path: shared.path.clone(),
        headers,
        status: status.as_u16(),
        at: std::time::Instant::now(),
        service: ExportTraceServiceRequest::decode(body.as_ref())
            .ok()
            .and_then(|request| flatten(request).into_iter().next())
            .map(|span| span.service),
    });
    let response = if status.is_success() {
        ExportTraceServiceResponse::default().encode_to_vec()
    } else {
        Vec::new()
    };
    match retry_after {
        Some(seconds) => (status, [("retry-after", seconds)], response).into_response(),
        None => (status, response).into_response(),
    }
}

fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    if let Some(expected) = &shared.api_key {
        let given = headers.get("galileo-api-key").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return StatusCode::UNAUTHORIZED;
        }
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != "application/x-protobuf" {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let mut bytes = Vec::new();
    if gzip {
        if flate2::read::GzDecoder::new(body)
            .read_to_end(&mut bytes)
            .is_err()
        {
            return StatusCode::BAD_REQUEST;
        }
    } else {
        bytes.extend_from_slice(body);
    }
    let Ok(request) = ExportTraceServiceRequest::decode(bytes.as_slice()) else {
        return StatusCode::BAD_REQUEST;
    };
    let spans = flatten(request);
    shared.inner.lock().unwrap().spans.extend(spans);
    StatusCode::OK
}

fn flatten(request: ExportTraceServiceRequest) -> Vec<CapturedSpan> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let resource: HashMap<String, AttrValue> = resource_spans
            .resource
            .map(|r| {
                r.attributes
                    .into_iter()
                    .map(|kv| (kv.key, convert(kv.value)))
                    .collect()
            })
            .unwrap_or_default();
        let service = resource
            .get("service.name")
            .and_then(AttrValue::as_str)
            .unwrap_or_default()
            .to_owned();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let status = span.status.unwrap_or_default();
                out.push(CapturedSpan {
                    service: service.clone(),
                    resource: resource.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: match ProtoKind::try_from(span.kind).unwrap_or(ProtoKind::Unspecified) {
                        ProtoKind::Unspecified => SpanKind::Unspecified,
                        ProtoKind::Internal => SpanKind::Internal,
                        ProtoKind::Server => SpanKind::Server,
                        ProtoKind::Client => SpanKind::Client,
                        ProtoKind::Producer => SpanKind::Producer,
                        ProtoKind::Consumer => SpanKind::Consumer,
                    },
                    name: span.name,
                    duplicate_keys: duplicates(span.attributes.iter().map(|kv| kv.key.as_str())),
                    attributes: span
                        .attributes
                        .into_iter()
                        .map(|kv| (kv.key, convert(kv.value)))
                        .collect(),
                    is_error: status.code == ProtoStatus::Error as i32,
                    status_message: status.message,
                    events: span
                        .events
                        .into_iter()
                        .map(|e| {
                            (
                                e.name,
                                e.attributes
                                    .into_iter()
                                    .map(|kv| (kv.key, convert(kv.value)))
                                    .collect(),
                            )
                        })
                        .collect(),
                });
            }
        }
    }
    out
}

fn duplicates<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut repeated: Vec<String> = keys
        .filter(|key| !seen.insert(*key))
        .map(str::to_owned)
        .collect();
    repeated.dedup();
    repeated
}

fn convert(value: Option<AnyValue>) -> AttrValue {
    match value.and_then(|v| v.value) {
        Some(Value::StringValue(s)) => AttrValue::Str(s),
        Some(Value::IntValue(i)) => AttrValue::Int(i),
        Some(Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(Value::ArrayValue(a)) => {
            AttrValue::Array(a.values.into_iter().map(|v| convert(Some(v))).collect())
        }
        _ => AttrValue::Other,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last export's metrics of `service`, by name (cumulative: the last one has everything).
pub fn last_metrics(
    exports: &[ExportMetricsServiceRequest],
    service: &str,
) -> HashMap<String, Metric> {
    let mut by_name = HashMap::new();
    for export in exports {
        for resource in &export.resource_metrics {
            let name = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| text(kv.value.as_ref()));
            if name.as_deref() != Some(service) {
                continue;
            }
            for scope in &resource.scope_metrics {
                for metric in &scope.metrics {
                    by_name.insert(metric.name.clone(), metric.clone());
                }
            }
        }
    }
    by_name
}

/// Attribute `key` of a metric data point or log record, as text.
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    text(attributes.iter().find(|kv| kv.key == key)?.value.as_ref())
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        Value::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}
