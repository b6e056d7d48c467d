//! Driving a router in tests without a socket (`oneshot`), the axum `testing` example's way.

use axum::{
    Router,
    body::Body,
    http::{Request, Response, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Sends `method path` with `body` (and `content_type`, if any) and returns the status and the
/// JSON body; panics if the body is not JSON — every answer of ours is.
pub async fn send(
    app: Router,
    method: &str,
    path: &str,
    body: impl Into<Body>,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = app
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"));
    (status, json)
}

/// Environment-style variables for `Config::from_vars` in tests.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The events of a server-sent-events body, as `(event, JSON data)` pairs in order; keep-alive
/// comments are skipped. Panics on data that is not JSON — every event of ours is.
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = "message".to_owned();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            (!data.is_empty()).then(|| {
                let data = data.join("\n");
                let json = serde_json::from_str(&data)
                    .unwrap_or_else(|_| panic!("event data is not JSON: {data:?}"));
                (event, json)
            })
        })
        .collect()
}

/// The events of a streamed answer, read to its end, after checking that it is one: `200` with
/// `content-type: text/event-stream` (an error that ends a started stream is its last event).
pub async fn stream_events(response: Response<Body>) -> Vec<(String, Value)> {
    assert_eq!(response.status(), StatusCode::OK, "the stream had started");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    sse_events(std::str::from_utf8(&body).unwrap())
}

/// The text of the `chunk` events of `events`, joined.
pub fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(event, _)| event == "chunk")
        .map(|(_, data)| data["text"].as_str().expect("a chunk has text"))
        .collect()
}

/// Reads a server-sent-events `body` until its first `chunk` event has arrived (to hang up
/// mid-stream after it).
pub async fn read_to_first_chunk(body: &mut Body) {
    let mut seen = String::new();
    while !seen.contains("event: chunk") {
        let frame = body
            .frame()
            .await
            .expect("the stream ended before its first chunk")
            .expect("a readable frame");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
}
