//! The router driven directly (`oneshot`, no sockets): the `/agent` contract with the mock
//! model, and every bad request answered with a 4xx JSON error.

use agent_service::{AppState, Config, app};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use serde_json::{Value, json};
use service_kit::config::EnvConfig;
use tower::ServiceExt;

fn state() -> AppState {
    let config = Config::from_vars([("MOCK_LLM_LATENCY_MS".to_owned(), "0".to_owned())]).unwrap();
    AppState::new(&config)
}

async fn post(
    body: impl Into<axum::body::Body>,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    service_kit::testing::send(app(state()), "POST", "/agent", body, content_type).await
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn the_contract_matches_the_typescript_service() {
    let (status, body) = post(
        json!({"message": "Book a table for 4 tomorrow", "sessionId": "abc"}).to_string(),
        JSON,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessionId"], "abc");
    assert_eq!(
        body["answer"],
        "Trattoria Roma has a table for 4 tomorrow at 18:30 or 20:45."
    );

    let (status, body) = post(json!({"message": "Find me sushi"}).to_string(), JSON).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["answer"].as_str().unwrap().contains("Sushi Kaito"),
        "{body}"
    );
    assert!(
        !body["sessionId"].as_str().unwrap().is_empty(),
        "a session id is generated"
    );
}

#[tokio::test]
async fn bad_requests_get_a_4xx_json_error() {
    let long = json!({"message": "a".repeat(4_001)}).to_string();
    let cases: Vec<(&str, String, Option<&str>, StatusCode, &str)> = vec![
        (
            "not JSON",
            "{".into(),
            JSON,
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "no content type",
            r#"{"message":"hi"}"#.into(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "missing message",
            "{}".into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "empty message",
            r#"{"message": ""}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_message",
        ),
        (
            "message not a string",
            r#"{"message": ["x"]}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "empty session id",
            r#"{"message": "hi", "sessionId": ""}"#.into(),
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_session_id",
        ),
        (
            "message too long",
            long,
            JSON,
            StatusCode::UNPROCESSABLE_ENTITY,
            "message_too_long",
        ),
        (
            "body too large",
            "x".repeat(70_000),
            JSON,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (what, body, content_type, status, code) in cases {
        let (got_status, json) = post(body, content_type).await;
        assert_eq!(got_status, status, "{what}: {json}");
        assert_eq!(json["error"]["code"], code, "{what}: {json}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_health_is_ok() {
    let response = app(state())
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app(state())
        .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// The JSON 404/405 shapes are checked once, in orchestrator's tests (the same
/// `service_kit::api` wiring); here, that a 405 keeps axum's `Allow` header.
#[tokio::test]
async fn a_405_still_names_the_allowed_method() {
    let response = app(state())
        .oneshot(
            axum::http::Request::get("/agent")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
}
