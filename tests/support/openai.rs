//! A fake OpenAI-compatible chat completions server: `POST /v1/chat/completions`. Like a real
//! tool-calling model it answers a conversation that ends with the user's message with a tool
//! call, and one that ends with a tool result with a final answer. Every request body and
//! `Authorization` header is recorded.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
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
    /// Streamed calls send a chunk every this long (the first at once).
    StreamEvery(Duration),
    /// Streamed calls send their first chunks, then the connection closes: no finish reason,
    /// no usage, no `[DONE]`.
    StreamCut,
    /// Streamed calls send their first chunk, then nothing, never ending.
    StreamStall,
    /// Streamed calls send 4 KiB text chunks without end.
    StreamEndless,
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    behaviour: Behaviour,
    closed_early: Arc<AtomicUsize>,
}

pub struct FakeOpenAi {
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    closed_early: Arc<AtomicUsize>,
    server: Background,
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        Self::start_with(Behaviour::Normal).await
    }

    pub async fn start_with(behaviour: Behaviour) -> Self {
        let requests: Arc<Mutex<Vec<ChatRequest>>> = Arc::default();
        let closed_early = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(Shared {
                requests: requests.clone(),
                behaviour,
                closed_early: closed_early.clone(),
            });
        let server = Background::serve(app).await;
        Self {
            requests,
            closed_early,
            server,
        }
    }

    /// Streamed responses whose connection the client closed before their last chunk was sent.
    pub fn streams_closed_early(&self) -> usize {
        self.closed_early.load(Ordering::SeqCst)
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
    let completion = completion(&body, n, &shared.behaviour);
    if body["stream"] == json!(true) {
        return stream(completion, &shared);
    }
    Json(completion).into_response()
}

/// A completion as the chunks the real API streams: the role, text a word per chunk or the
/// tool call's id and name then its arguments in two deltas, the finish reason, the usage
/// chunk (no choices), `[DONE]` — or a misbehaving variant of that.
fn stream(completion: Value, shared: &Shared) -> Response {
    let base = |choices: Value| {
        json!({"id": completion["id"], "object": "chat.completion.chunk", "created": 1_790_000_000,
               "model": RESPONSE_MODEL, "choices": choices})
    };
    let choice = |delta: Value| base(json!([{"index": 0, "delta": delta, "finish_reason": null}]));
    let message = &completion["choices"][0]["message"];
    let mut chunks = vec![choice(json!({"role": "assistant", "content": ""}))];
    if let Some(text) = message["content"].as_str() {
        chunks.extend(
            text.split_inclusive(' ')
                .map(|w| choice(json!({"content": w}))),
        );
    }
    if let Some(call) = message["tool_calls"].get(0) {
        let arguments = call["function"]["arguments"].as_str().unwrap();
        let (head, tail) = arguments.split_at(arguments.len() / 2);
        chunks.push(choice(
            json!({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": head}}]}),
        ));
        chunks.push(choice(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": tail}}]}),
        ));
    }
    let finish = completion["choices"][0]["finish_reason"].clone();
    let ending = [
        base(json!([{"index": 0, "delta": {}, "finish_reason": finish}])),
        {
            let mut usage = base(json!([]));
            usage["usage"] = completion["usage"].clone();
            usage
        },
    ];
    let event = |value: &Value| axum::body::Bytes::from(format!("data: {value}\n\n"));
    let (mut events, every, tail): (Vec<_>, Duration, Tail) = match &shared.behaviour {
        Behaviour::StreamCut => (
            chunks.iter().take(2).map(event).collect(),
            Duration::ZERO,
            Tail::Close,
        ),
        Behaviour::StreamStall => (
            chunks.iter().take(1).map(event).collect(),
            Duration::ZERO,
            Tail::Stall,
        ),
        Behaviour::StreamEndless => (
            vec![event(&chunks[0])],
            Duration::ZERO,
            Tail::Endless(choice(json!({"content": "x".repeat(4096)}))),
        ),
        Behaviour::StreamEvery(every) => (
            chunks.iter().chain(&ending).map(event).collect(),
            *every,
            Tail::Done,
        ),
        _ => (
            chunks.iter().chain(&ending).map(event).collect(),
            Duration::ZERO,
            Tail::Done,
        ),
    };
    if matches!(tail, Tail::Done) {
        events.push(axum::body::Bytes::from_static(b"data: [DONE]\n\n"));
    }
    let guard = ClosedEarly {
        counter: shared.closed_early.clone(),
        finished: false,
    };
    let body = futures::stream::unfold(
        (events.into_iter(), tail, guard, true),
        move |(mut events, tail, guard, first)| async move {
            if !first && !every.is_zero() {
                tokio::time::sleep(every).await;
            }
            let next = match events.next() {
                Some(bytes) => bytes,
                None => match &tail {
                    Tail::Done | Tail::Close => {
                        guard.finish();
                        return None;
                    }
                    Tail::Stall => std::future::pending().await,
                    Tail::Endless(chunk) => axum::body::Bytes::from(format!("data: {chunk}\n\n")),
                },
            };
            Some((Ok::<_, std::io::Error>(next), (events, tail, guard, false)))
        },
    );
    (
        StatusCode::OK,
        [("content-type", "text/event-stream")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// How a streamed response ends after its chunks.
enum Tail {
    /// `[DONE]` was sent; the body ends.
    Done,
    /// The body ends without `[DONE]`.
    Close,
    /// Nothing more is ever sent.
    Stall,
    /// This chunk again and again.
    Endless(Value),
}

/// Counts a streamed body dropped before its end: the client closed the connection.
struct ClosedEarly {
    counter: Arc<AtomicUsize>,
    finished: bool,
}

impl ClosedEarly {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for ClosedEarly {
    fn drop(&mut self) {
        if !self.finished {
            self.counter.fetch_add(1, Ordering::SeqCst);
        }
    }
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
