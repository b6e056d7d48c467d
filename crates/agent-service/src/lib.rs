//! The agent service: `POST /agent` runs one agent turn — `invoke_agent` → `chat` →
//! `execute_tool` → `chat` — over a mock model (default) or a real OpenAI-compatible one.
//!
//! The modules, each depending only on those below it:
//! - `routes`: the HTTP surface, its request/response types, and [`app`].
//! - `agent`: the loop, and its `invoke_agent` span.
//! - `llm`: the model switch (`llm/mock.rs`, `llm/openai.rs`) and the `chat` span; a streamed
//!   call's chunks and how they are assembled (`llm/stream.rs`).
//! - `tools`: the tools — definition, handler and mock behaviour, one entry each — and the
//!   `execute_tool` span.
//! - `conversation`: messages and tool calls, and how they are written to spans.
//! - `config`: environment → [`Config`], once, at start (fails fast on a missing API key).
//! - `error`: every failure, mapped to one JSON error shape.

#![warn(missing_docs)]

mod agent;
mod config;
mod conversation;
mod error;
mod llm;
mod routes;
mod tools;

use std::sync::Arc;

pub use config::{Config, ConfigError};
pub use routes::app;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    agent: Arc<agent::Agent>,
    rate_limit: service_kit::rate_limit::RateLimit,
}

impl AppState {
    /// The agent, with the model `config` chooses.
    pub fn new(config: &Config) -> Self {
        Self {
            agent: Arc::new(agent::Agent::new(
                llm::Llm::from_config(config),
                config.agent_max_tool_rounds,
                config.llm_max_concurrent_calls,
                config.stream_deadlines(),
            )),
            rate_limit: config.rate_limit(),
        }
    }
}
