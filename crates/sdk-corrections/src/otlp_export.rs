//! The OTLP span exporter: opentelemetry-otlp's own, configured by the same `OTEL_EXPORTER_OTLP_*`
//! variables, with the body of an `http/protobuf` request written by `otlp_encoding.rs`.
//!
//! The exporter has no hook between encoding a batch and sending it, but it sends through an
//! [`HttpClient`] we may supply. So [`OtlpSpanExporter`] encodes the batch itself, hands the
//! exporter an empty batch (whose encoding costs next to nothing), and our client puts the
//! encoded batch in place of that empty body. Everything else stays upstream's: the endpoint and
//! header variables, the request, the retries with backoff, the partial-success check. Our
//! client reads the timeout variables as upstream does for the client it would build. For
//! `grpc`, `http/json` and a compressed body the exporter is upstream's, untouched.
//!
//! Upstream: the per-span copies are opentelemetry-rust#3372 / #3379 (the `SpanData` clone is
//! gone in 0.33, PR #3652); the conversion through opentelemetry-proto's structs and prost's
//! repeated length computation remain. `sdk_otlp_encoding_copies_every_span_into_owned_structs`
//! in `tests/upstream.rs` fails when upstream stops converting into owned structs: then measure
//! again and delete this module if upstream is as cheap.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    ExporterBuildError, OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, Protocol, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

use crate::otlp_encoding::TraceEncoder;

/// The OTLP span exporter the `OTEL_EXPORTER_OTLP_*` variables describe; see the module doc.
#[derive(Debug)]
pub struct OtlpSpanExporter {
    inner: opentelemetry_otlp::SpanExporter,
    /// `None` when upstream encodes (`grpc`, `http/json`).
    encoding: Option<Encoding>,
}

#[derive(Debug)]
struct Encoding {
    encoder: TraceEncoder,
    /// The encoded batch being exported, read by [`EncodedBody`] on every attempt. One slot is
    /// enough: the SDK never calls `export` on one exporter again before the last call returned
    /// (the `SpanExporter` contract).
    body: Arc<Mutex<Option<Bytes>>>,
}

impl OtlpSpanExporter {
    /// Builds the exporter as `opentelemetry_otlp::SpanExporter::builder().build()` would.
    pub fn from_env() -> Result<Self, ExporterBuildError> {
        if !encodes_http_protobuf() {
            return Ok(Self {
                inner: opentelemetry_otlp::SpanExporter::builder().build()?,
                encoding: None,
            });
        }
        let body = Arc::new(Mutex::new(None));
        let client = EncodedBody {
            client: blocking_client(timeout_from_env())?,
            body: Arc::clone(&body),
        };
        let inner = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(client)
            .build()?;
        Ok(Self {
            inner,
            encoding: Some(Encoding {
                encoder: TraceEncoder::default(),
                body,
            }),
        })
    }
}

impl SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let Some(encoding) = &self.encoding else {
            return self.inner.export(batch).await;
        };
        let encoded = Bytes::from(encoding.encoder.encode(&batch));
        drop(batch); // the spans are in `encoded` now; free them before the network wait
        *lock(&encoding.body) = Some(encoded);
        let result = self.inner.export(Vec::new()).await;
        lock(&encoding.body).take();
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
        if let Some(encoding) = &mut self.encoding {
            encoding.encoder = TraceEncoder::new(resource);
        }
    }
}

/// Sends upstream's request with the batch [`OtlpSpanExporter`] encoded as its body, and hands
/// back the response as it came — status and headers — so that upstream's retry sees them.
///
/// opentelemetry-http's own blocking client turns any status but 2xx into a bare error, which
/// upstream then reads as a network failure: every refusal retried with backoff alike, a
/// `Retry-After` never seen, a 400 sent three more times. Here a 4xx other than 429 is final,
/// and a 429's `Retry-After` is waited out — up to [`LONGEST_RETRY_AFTER`], since the wait holds
/// the export thread while spans queue behind it; a longer hint (or a date) falls back to the
/// backoff, as does every 5xx.
#[derive(Debug)]
struct EncodedBody {
    client: reqwest::blocking::Client,
    body: Arc<Mutex<Option<Bytes>>>,
}

/// The longest `Retry-After` (in seconds) an export waits out.
const LONGEST_RETRY_AFTER: u64 = 5;

#[async_trait::async_trait]
impl HttpClient for EncodedBody {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        // Cloning `Bytes` shares the buffer: a retry sends the same bytes without a copy.
        let body = lock(&self.body)
            .clone()
            .ok_or("no encoded batch: export through OtlpSpanExporter")?;
        *request.body_mut() = body;
        let mut response = self.client.execute(request.try_into()?)?;
        let mut headers = std::mem::take(response.headers_mut());
        let too_long = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
            .is_none_or(|seconds| seconds > LONGEST_RETRY_AFTER);
        if too_long {
            headers.remove(http::header::RETRY_AFTER);
        }
        let mut answer = Response::builder()
            .status(response.status())
            .body(response.bytes()?)?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the traces protocol is `http/protobuf` — the signal's variable, then the general one
/// (an unknown value falls through, as upstream reads them), then the build's default, which is
/// `http/protobuf` here — without compression. A compressed body stays upstream's to write (and
/// upstream refuses compression in this build: its `gzip-http` feature is off).
fn encodes_http_protobuf() -> bool {
    let protobuf = [
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
        OTEL_EXPORTER_OTLP_PROTOCOL,
    ]
    .iter()
    .filter_map(|variable| std::env::var(variable).ok())
    .find(|value| matches!(value.as_str(), "grpc" | "http/protobuf" | "http/json"))
    .is_none_or(|value| value == "http/protobuf");
    let compressed = [
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
        OTEL_EXPORTER_OTLP_COMPRESSION,
    ]
    .iter()
    .any(|variable| std::env::var(variable).is_ok_and(|value| !value.trim().is_empty()));
    protobuf && !compressed
}

/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, then `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds), as
/// upstream reads them for the client it would build itself.
fn timeout_from_env() -> Duration {
    [
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
        OTEL_EXPORTER_OTLP_TIMEOUT,
    ]
    .iter()
    .find_map(|variable| std::env::var(variable).ok()?.parse().ok())
    .map_or(OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT, Duration::from_millis)
}

/// The blocking client upstream would build (the batch processor exports from its own thread,
/// where an async client has no reactor), without following redirects. Built on a thread of its
/// own, as upstream does: reqwest's blocking client must not be made inside an async runtime.
fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, ExporterBuildError> {
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
    })
    .join()
    .map_err(|_| ExporterBuildError::ThreadSpawnFailed)?
    .map_err(|error| ExporterBuildError::InternalFailure(error.to_string()))
}
