//! Bench-only helpers, one binary:
//!
//! - `bench-tools floor-back PORT` and `bench-tools floor-front PORT BACK_URL`: the floor — the
//!   same two-hop shape as orchestrator → agent (JSON in, a reqwest POST to a second server,
//!   JSON out) with nothing else in it: no graph, no agent loop, no telemetry.
//! - `bench-tools sink PORT`: an OTLP/HTTP receiver that decodes each traces export request
//!   (gzip or not) and only counts spans; `GET /count` returns the total. Cheap enough that measuring
//!   our instrumentation is not measuring a backend.
//! - `bench-tools flood SECONDS`: span creation vs export in one process (`flood.rs`).

mod flood;

use std::{
    io::Read,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{Value, json};

/// mimalloc: span data is many small, short-lived allocations across threads, where glibc's
/// malloc spends much of its time (profile in the README, "Benchmark").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port = |i: usize| -> u16 {
        args.get(i)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| usage())
    };
    if args.get(1).map(String::as_str) == Some("flood") {
        return flood::run(port(2).into()).await;
    }
    let app = match args.get(1).map(String::as_str) {
        Some("floor-back") => Router::new().route("/agent", post(floor_back)),
        Some("floor-front") => {
            let back = args.get(3).cloned().unwrap_or_else(|| usage());
            let client = reqwest::Client::new();
            Router::new()
                .route("/ask", post(floor_front))
                .with_state((client, format!("{back}/agent")))
        }
        Some("sink") => {
            let count = Arc::new(AtomicU64::new(0));
            Router::new()
                .route("/count", get(sink_count))
                // Spans from the services (/v1/traces) and from the Collector's Galileo
                // exporter (/otel/traces); metrics and log records are accepted, not counted.
                .route("/v1/traces", post(sink_receive))
                .route("/otel/traces", post(sink_receive))
                .fallback(post(|| async { StatusCode::OK }))
                .with_state(count)
        }
        _ => usage(),
    };
    let app = app.route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port(2)))
        .await
        .expect("bind");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-tools floor-back PORT | floor-front PORT BACK_URL | sink PORT | flood SECONDS"
    );
    std::process::exit(2)
}

async fn floor_back(Json(body): Json<Value>) -> Json<Value> {
    let message = body["message"].as_str().unwrap_or_default();
    Json(
        json!({ "answer": format!("answer to {} characters", message.len()), "sessionId": "floor" }),
    )
}

async fn floor_front(
    State((client, back)): State<(reqwest::Client, String)>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    let question = body["question"].as_str().unwrap_or_default();
    let response = client
        .post(&back)
        .json(&json!({ "message": question }))
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let answer: Value = response.json().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
    Ok(Json(
        json!({ "answer": answer["answer"], "session_id": "floor" }),
    ))
}

async fn sink_receive(
    State(count): State<Arc<AtomicU64>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let mut bytes = Vec::new();
    let raw: &[u8] = if gzip {
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut bytes)
            .is_err()
        {
            return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
        }
        &bytes
    } else {
        &body
    };
    let Ok(request) = ExportTraceServiceRequest::decode(raw) else {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    count.fetch_add(spans as u64, Ordering::Relaxed);
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

async fn sink_count(State(count): State<Arc<AtomicU64>>) -> String {
    count.load(Ordering::Relaxed).to_string()
}
