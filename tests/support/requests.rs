//! The environment and the requests the whole-process tests share: one place for the service
//! environment (exporting to a fake receiver, fast batches, an instant mock model), a JSON POST
//! that measures its time, and an agent wired to the fake OpenAI server.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{FakeOtlp, Service, openai::FakeOpenAi};

/// A fake API key: tests grep everything the services print and export for it.
pub const FAKE_KEY: &str = "sk-test-e2e-secret-4f9a0c1d2b3e";

/// Environment variables as the map `Service::start` takes.
pub fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A service's environment: spans to `otlp` every 100 ms, a 0 ms mock model; `extra` overrides.
pub fn service_env(otlp: &FakeOtlp, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = vars(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("MOCK_LLM_LATENCY_MS", "0"),
    ]);
    env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), otlp.base_url());
    env.extend(vars(extra));
    env
}

/// The orchestrator, calling the agent at `agent_url`.
pub async fn orchestrator(otlp: &FakeOtlp, agent_url: &str, extra: &[(&str, &str)]) -> Service {
    let mut env = service_env(otlp, extra);
    env.insert("AGENT_SERVICE_URL".into(), agent_url.into());
    Service::start("orchestrator", &env).await
}

/// The agent on the real-model path, against `openai` (model `gpt-test`, [`FAKE_KEY`], debug
/// logs so that anything leaking would show); `extra` overrides.
pub async fn agent_with_llm(
    otlp: &FakeOtlp,
    openai: &FakeOpenAi,
    extra: &[(&str, &str)],
) -> Service {
    let mut env = service_env(
        otlp,
        &[
            ("USE_REAL_LLM", "true"),
            ("OPENAI_API_KEY", FAKE_KEY),
            ("OPENAI_MODEL", "gpt-test"),
            ("RUST_LOG", "debug"),
        ],
    );
    env.insert("OPENAI_BASE_URL".into(), openai.base_url());
    env.extend(vars(extra));
    Service::start("agent-service", &env).await
}

/// POSTs `body` as JSON (30 s at most) and returns the status, the JSON answer and the time.
pub async fn post_json(url: &str, body: Value) -> (u16, Value, Duration) {
    let started = Instant::now();
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("an answer, not a hang");
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body, started.elapsed())
}

/// `POST /agent` with the restaurant question.
pub async fn ask_agent(agent: &Service) -> (u16, Value, Duration) {
    post_json(
        &agent.url("/agent"),
        json!({ "message": "Find me a good restaurant" }),
    )
    .await
}
