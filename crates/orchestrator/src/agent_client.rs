//! The call that crosses the service boundary. The client comes from
//! `telemetry::traced_client`, so this file contains no header code: reqwest-tracing opens the
//! CLIENT span and injects `traceparent` into it.

use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};

use crate::error::AgentCallError;

/// The agent service's `/agent` contract (the same as the TypeScript service it replaces).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentRequest<'a> {
    message: &'a str,
    session_id: &'a str,
}

#[derive(Debug, Deserialize)]
struct AgentResponse {
    answer: String,
}

#[derive(Debug, Clone)]
pub struct AgentClient {
    http: ClientWithMiddleware,
    url: reqwest::Url,
    timeout: Duration,
}

impl AgentClient {
    pub fn new(base_url: reqwest::Url, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("a reqwest client without TLS options always builds");
        let url = base_url
            .join("agent")
            .expect("joining a relative path to an http URL");
        Self {
            http: telemetry::traced_client(http),
            url,
            timeout,
        }
    }

    /// Sends the question to the agent and returns its answer.
    pub async fn ask(&self, message: &str, session_id: &str) -> Result<String, AgentCallError> {
        let response = self
            .http
            .post(self.url.clone())
            .with_extension(telemetry::OtelName("POST /agent".into()))
            .json(&AgentRequest {
                message,
                session_id,
            })
            .send()
            .await
            .map_err(|e| AgentCallError::from_transport(e, self.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AgentCallError::Status(status.as_u16()));
        }
        let body: AgentResponse = response
            .json()
            .await
            .map_err(|e| AgentCallError::InvalidResponse(e.to_string()))?;
        Ok(body.answer)
    }
}
