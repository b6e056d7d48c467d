//! A fake OpenAI-compatible chat completions server: `POST /v1/chat/completions`. Like a real
//! tool-calling model it answers a conversation that ends with the user's message with a tool
//! call, and one that ends with a tool result with a final answer. Every request body and
//! `Authorization` header is recorded.

use std::sync::{Arc, Mutex};

use axum::{Json, Router, extract::State, http::HeaderMap, routing::post};
use serde_json::{Value, json};

pub const RESPONSE_MODEL: &str = "gpt-fake-2026-01-01";

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub authorization: Option<String>,
    pub body: Value,
}

pub struct FakeOpenAi {
    pub port: u16,
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let requests: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(requests.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            port,
            requests,
            task,
        }
    }

    /// The value for `OPENAI_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

async fn chat(
    State(requests): State<Arc<Mutex<Vec<ChatRequest>>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let n = {
        let mut requests = requests.lock().unwrap();
        requests.push(ChatRequest {
            authorization,
            body: body.clone(),
        });
        requests.len()
    };
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last_role = messages
        .last()
        .and_then(|m| m["role"].as_str())
        .unwrap_or_default();
    let (message, finish_reason) = if last_role == "tool" {
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
                    "function": { "name": "web_search", "arguments": "{\"query\":\"good italian restaurant\"}" }
                }]
            }),
            "tool_calls",
        )
    };
    Json(json!({
        "id": format!("chatcmpl-fake-{n}"),
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": RESPONSE_MODEL,
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": { "prompt_tokens": 40 + n, "completion_tokens": 7 * n, "total_tokens": 40 + 8 * n }
    }))
}
