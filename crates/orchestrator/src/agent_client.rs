//! The call that crosses the service boundary. The client comes from
//! `telemetry::traced_client`, so this file contains no header code: reqwest-tracing opens the
//! CLIENT span and injects `traceparent` into it.

use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::{
    RetryTransientMiddleware, Retryable, RetryableStrategy, policies::ExponentialBackoff,
};
use serde::{Deserialize, Serialize};
use telemetry::ClientBuilder;

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
    /// `timeout` bounds each attempt; `connect_retries` is how many more times a request that
    /// could not connect is tried (see [`RetryConnectErrors`]).
    pub fn new(base_url: reqwest::Url, timeout: Duration, connect_retries: u32) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("a reqwest client without TLS options always builds");
        let url = base_url
            .join("agent")
            .expect("joining a relative path to an http URL");
        let backoff = ExponentialBackoff::builder()
            .retry_bounds(Duration::from_millis(50), Duration::from_millis(500))
            .build_with_max_retries(connect_retries);
        let retry =
            RetryTransientMiddleware::new_with_policy_and_strategy(backoff, RetryConnectErrors);
        Self {
            http: telemetry::traced_client(ClientBuilder::new(http).with(retry)),
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
            .map_err(|e| AgentCallError::from_transport(&e, self.timeout))?;
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

/// The retry policy: only a request that never reached the agent (connection refused, DNS,
/// connect timeout) is tried again. `/agent` is not idempotent — a timed-out or failed call
/// may already have run the model and the tools — so timeouts and error statuses are final.
#[derive(Debug, Clone, Copy)]
pub struct RetryConnectErrors;

impl RetryableStrategy for RetryConnectErrors {
    fn handle(&self, result: &reqwest_middleware::Result<reqwest::Response>) -> Option<Retryable> {
        match result {
            Ok(_) => None,
            Err(reqwest_middleware::Error::Reqwest(error)) if error.is_connect() => {
                Some(Retryable::Transient)
            }
            Err(_) => Some(Retryable::Fatal),
        }
    }
}
