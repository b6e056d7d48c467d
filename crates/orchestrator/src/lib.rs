//! The orchestrator: `POST /ask` runs the question through a two-node graph
//! (`call_agent` → `format_response`); `call_agent` is where the trace crosses into the agent
//! service.
//!
//! - `config`: environment → [`Config`], once, at start.
//! - `routes`: the HTTP surface and its request/response types.
//! - `workflow`: the graph and its nodes.
//! - `agent_client`: the traced HTTP call to the agent service.
//! - `error`: every failure, mapped to one JSON error shape.

mod agent_client;
mod config;
mod error;
pub mod routes;
mod workflow;

use std::sync::Arc;

pub use agent_client::{AgentClient, RetryConnectErrors};
pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use routes::app;
pub use workflow::{AskGraph, AskState, build_graph};

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub graph: Arc<AskGraph>,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let agent = AgentClient::new(
            config.agent_service_url.clone(),
            config.agent_timeout(),
            config.agent_connect_retries,
        );
        Self {
            graph: Arc::new(build_graph(agent)),
        }
    }
}
