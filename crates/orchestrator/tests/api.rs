//! The router driven directly (`oneshot`, no sockets): every bad request gets a 4xx with the
//! JSON error shape, never a 500 or a panic.

use axum::{body::Body, http::StatusCode};
use orchestrator::{AppState, Config, app};
use serde_json::Value;
use service_kit::config::EnvConfig;

/// The agent URL points at a closed port: these requests must be refused before any call.
fn state() -> AppState {
    let config = Config::from_vars(service_kit::testing::vars(&[
        ("AGENT_SERVICE_URL", "http://127.0.0.1:9"),
        ("AGENT_TIMEOUT_MS", "500"),
        ("AGENT_CONNECT_RETRIES", "0"),
    ]))
    .unwrap();
    AppState::new(&config)
}

async fn post(
    body: impl Into<axum::body::Body>,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    service_kit::testing::send(app(state()), "POST", "/ask", body, content_type).await
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn bad_requests_get_a_4xx_json_error() {
    let long_question = format!(r#"{{"question": "{}"}}"#, "a".repeat(4_001));
    let huge_body = format!(r#"{{"question": "{}"}}"#, "a".repeat(70_000));
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        (
            "not JSON",
            "question?".into(),
            JSON,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "no content type",
            r#"{"question":"hi"}"#.into(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "wrong content type",
            r#"{"question":"hi"}"#.into(),
            Some("text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "missing question",
            "{}".into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "question not a string",
            r#"{"question": 42}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "empty question",
            r#"{"question": "  "}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_question",
        ),
        (
            "unknown field",
            r#"{"question": "hi", "extra": 1}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "bad session id",
            r#"{"question": "hi", "session_id": "a b\n"}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_session_id",
        ),
        (
            "question too long",
            long_question,
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "question_too_long",
        ),
        (
            "body too large",
            huge_body,
            JSON,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            "JSON array holding a question (serde would read it positionally)",
            r#"["Find me a good restaurant"]"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "JSON array",
            "[]".into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (what, body, content_type, status, code) in cases {
        let (got_status, json) = post(body, content_type).await;
        assert_eq!(got_status, status, "{what}: {json}");
        assert_eq!(json["error"]["code"], code, "{what}: {json}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {json}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_agent_is_a_502_not_a_500() {
    let (status, json) = post(r#"{"question":"hi"}"#, JSON).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{json}");
    assert_eq!(json["error"]["code"], "agent_unreachable");
}

#[tokio::test]
async fn health_and_the_openapi_document_are_served() {
    let (status, body) =
        service_kit::testing::send(app(state()), "GET", "/health", Body::empty(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    let (status, doc) =
        service_kit::testing::send(app(state()), "GET", "/openapi.json", Body::empty(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["paths"]["/ask"]["post"]["responses"]["422"].is_object(),
        "{doc}"
    );
    assert!(doc["paths"]["/health"]["get"].is_object(), "{doc}");
    // Every reference resolves: a dangling $ref breaks every client generator and fuzzer.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {reference}"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(r)) => refs.push(r.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn the_router_s_own_refusals_use_the_json_error_shape() {
    for (method, path, status, code) in [
        (
            "GET",
            "/ask",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "DELETE",
            "/health",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        ("GET", "/nope", StatusCode::NOT_FOUND, "not_found"),
        ("POST", "/nope", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (got, json) =
            service_kit::testing::send(app(state()), method, path, Body::empty(), None).await;
        assert_eq!(got, status, "{method} {path}: {json}");
        assert_eq!(json["error"]["code"], code, "{method} {path}");
    }
}
