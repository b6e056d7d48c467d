//! The orchestrator: `POST /ask` runs the question through a two-node graph
//! (`call_agent` → `format_response`); `call_agent` is where the trace crosses into the agent
//! service.
//!
//! The modules, each depending only on those below it:
//! - `routes`: the HTTP surface, its request/response types, and [`app`].
//! - `workflow`: the graph and its nodes.
//! - `agent_client`: the traced HTTP call to the agent service.
//! - `config`: environment → [`Config`], once, at start.
//! - `error`: every failure, mapped to one JSON error shape.

#![warn(missing_docs)]

mod agent_client;
mod config;
mod error;
mod routes;
mod workflow;

use std::sync::Arc;

pub use config::{Config, ConfigError};
pub use routes::app;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    graph: Arc<workflow::AskGraph>,
    rate_limit: service_kit::rate_limit::RateLimit,
}

impl AppState {
    /// The `/ask` graph, calling the agent service `config` names.
    pub fn new(config: &Config) -> Self {
        let agent = agent_client::AgentClient::new(
            config.agent_service_url.clone(),
            config.agent_timeout(),
            config.agent_connect_retries,
        );
        Self {
            graph: Arc::new(workflow::build_graph(agent)),
            rate_limit: config.rate_limit(),
        }
    }
}
