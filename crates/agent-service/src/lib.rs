//! The agent service: `POST /agent` runs one agent turn — `invoke_agent` → `chat` →
//! `execute_tool` → `chat` — over a mock model (default) or a real OpenAI-compatible one.
//!
//! - `config`: environment → [`Config`], once, at start (fails fast on a missing API key).
//! - `routes`: the HTTP surface and its request/response types.
//! - `agent`: the loop, and its `invoke_agent` span.
//! - `llm`: the model switch (mock / OpenAI via async-openai) and the `chat` span.
//! - `tools`: the mocked tools and the `execute_tool` span.
//! - `error`: every failure, mapped to one JSON error shape.

pub mod agent;
mod config;
mod error;
pub mod llm;
pub mod routes;
pub mod tools;

use std::sync::Arc;

pub use agent::Agent;
pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use routes::app;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub agent: Arc<Agent>,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        Self {
            agent: Arc::new(Agent::new(
                llm::Llm::from_config(config),
                config.agent_max_tool_rounds,
            )),
        }
    }
}
