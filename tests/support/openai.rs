//! A fake OpenAI-compatible chat completions server: `POST /v1/chat/completions`. Like a real
//! tool-calling model it answers a conversation that ends with the user's message with a tool
//! call, and one that ends with a tool result with a final answer. Every request body and
//! `Authorization` header is recorded.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

use crate::process::Background;

pub const RESPONSE_MODEL: &str = "gpt-fake-2026-01-01";

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub authorization: Option<String>,
    pub body: Value,
}

/// How the server misbehaves, for failure tests. Failures apply to the first `times`
/// requests; after that it answers normally.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Normal,
    /// An OpenAI-style error body with this status. The message quotes a masked key, like
    /// OpenAI's 401 does, so tests can check it never reaches our telemetry.
    Error {
        status: u16,
        times: usize,
    },
    /// 429 with `Retry-After: secs`.
    RateLimited {
        retry_after_secs: u64,
        times: usize,
    },
    /// Answers only after this long.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    Malformed,
    /// Asks for a tool on every call, never answering.
    EndlessTools,
    /// Asks for a tool that does not exist, then answers.
    UnknownTool,
    /// 200 with a body that never ends (a JSON string that keeps growing).
    Endless,
    /// An error with this status whose `code` and `message` are chosen by the test (provider
    /// text with newlines, markup, or content).
    ProviderText {
        status: u16,
        code: String,
        message: String,
    },
    /// 200 with a body that is not a completion but quotes this text (like a proxy's page).
    MalformedWith(String),
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    behaviour: Behaviour,
}

pub struct FakeOpenAi {
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    server: Background,
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        Self::start_with(Behaviour::Normal).await
    }

    pub async fn start_with(behaviour: Behaviour) -> Self {
        let requests: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(Shared {
                requests: requests.clone(),
                behaviour,
            });
        let server = Background::serve(app).await;
        Self { requests, server }
    }

    /// The value for `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.server.port)
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

async fn chat(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let n = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(ChatRequest {
            authorization,
            body: body.clone(),
        });
        requests.len()
    };
    let error = |status: u16, kind: &str, code: &str| {
        let body = json!({ "error": {
            "message": "Incorrect API key provided: sk-test-***************4f9a. You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": kind, "param": null, "code": code
        }});
        (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
    };
    match &shared.behaviour {
        Behaviour::Error { status, times } if n <= *times => {
            return error(
                *status,
                "invalid_request_error",
                if *status == 401 {
                    "invalid_api_key"
                } else {
                    "server_error"
                },
            );
        }
        Behaviour::RateLimited {
            retry_after_secs,
            times,
        } if n <= *times => {
            let mut response = error(429, "requests", "rate_limit_exceeded");
            response
                .headers_mut()
                .insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            return response;
        }
        Behaviour::Slow(delay) => tokio::time::sleep(*delay).await,
        Behaviour::Endless => {
            let head =
                futures::stream::once(async { Ok::<_, std::io::Error>("{\"id\": \"".into()) });
            let tail = futures::stream::repeat_with(|| Ok(bytes_of(64 * 1024)));
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                axum::body::Body::from_stream(futures::StreamExt::chain(head, tail)),
            )
                .into_response();
        }
        Behaviour::ProviderText {
            status,
            code,
            message,
        } => {
            let body = json!({ "error": {
                "message": message, "type": "server_error", "param": null, "code": code
            }});
            return (StatusCode::from_u16(*status).unwrap(), Json(body)).into_response();
        }
        Behaviour::MalformedWith(text) => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                format!("{{\"unexpected\": \"{text}\""),
            )
                .into_response();
        }
        Behaviour::Malformed => {
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"id\": ",
            )
                .into_response();
        }
        _ => {}
    }
    Json(completion(&body, n, &shared.behaviour)).into_response()
}

/// `n` bytes of `x`, as a body chunk.
fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b'x'; n])
}

fn completion(body: &Value, n: usize, behaviour: &Behaviour) -> Value {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last_role = messages
        .last()
        .and_then(|m| m["role"].as_str())
        .unwrap_or_default();
    let tool = match behaviour {
        Behaviour::UnknownTool => "rm_rf",
        _ => "web_search",
    };
    let (message, finish_reason) = if last_role == "tool"
        && !matches!(behaviour, Behaviour::EndlessTools)
    {
        let result = messages
            .last()
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        let found = if result.contains("Trattoria Roma") {
            "Trattoria Roma"
        } else {
            "nothing"
        };
        (
            json!({ "role": "assistant", "content": format!("Real model says: try {found}.") }),
            "stop",
        )
    } else {
        (
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_fake_1",
                    "type": "function",
                    "function": { "name": tool, "arguments": "{\"query\":\"good italian restaurant\"}" }
                }]
            }),
            "tool_calls",
        )
    };
    json!({
        "id": format!("chatcmpl-fake-{n}"),
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": RESPONSE_MODEL,
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": { "prompt_tokens": 40 + n, "completion_tokens": 7 * n, "total_tokens": 40 + 8 * n }
    })
}
