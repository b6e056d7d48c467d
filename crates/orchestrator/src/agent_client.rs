//! The call that crosses the service boundary. The client comes from
//! `telemetry::traced_client`: every request gets a CLIENT span, and that span's context goes
//! out as `traceparent` (plus the session in `baggage`) through `telemetry::inject_context`.
//! A streamed call relays each `chunk` event of the agent's answer as it arrives.

use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use reqwest_middleware::ClientWithMiddleware;
use reqwest_retry::{
    Jitter, RetryTransientMiddleware, Retryable, RetryableStrategy, policies::ExponentialBackoff,
};
use serde::{Deserialize, Serialize};
use service_kit::{
    error::{ErrorBody, upstream_code},
    sse::Relay,
};
use telemetry::{ClientBuilder, genai::SessionId};

use crate::error::AgentCallError;

/// The agent service's `/agent` contract (the same as the TypeScript service it replaces).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentRequest<'a> {
    message: &'a str,
    session_id: &'a str,
    /// Sent only when true: a plain call's body is exactly the original's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

/// The answer (and a stream's `done` event).
#[derive(Debug, Deserialize)]
struct AgentResponse {
    answer: String,
}

/// A stream's `chunk` event.
#[derive(Debug, Deserialize)]
struct AgentChunk {
    text: String,
}

/// Connect retries wait 200 ms, 400 ms, 800 ms, then 1 s each: with the default 6 retries the
/// last attempt is 4.4 s after the first, enough to ride out an agent container's restart. No
/// jitter: these are per-request retries against one refused port, and a fixed schedule is one
/// the docs and the tests can state exactly.
const CONNECT_RETRY_FIRST_WAIT: Duration = Duration::from_millis(200);
const CONNECT_RETRY_MAX_WAIT: Duration = Duration::from_secs(1);

/// Agent answers above this are refused (502 `agent_response_too_large`): a real answer is a
/// few KiB, and an endless or huge body must not grow the orchestrator's memory.
const MAX_AGENT_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct AgentClient {
    http: ClientWithMiddleware,
    url: reqwest::Url,
    timeout: Duration,
}

impl AgentClient {
    /// `timeout` bounds each attempt; `connect_retries` is how many more times a request that
    /// could not connect is tried (see [`RetryConnectErrors`]).
    pub(crate) fn new(base_url: reqwest::Url, timeout: Duration, connect_retries: u32) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would re-send the question, the session baggage and `traceparent` to
            // wherever it points: between our services it is an error (502), never followed.
            .redirect(reqwest::redirect::Policy::none())
            // The agent closes idle keep-alive connections after its header read timeout
            // (10 s by default): stop reusing them well before, never racing its close.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client without TLS options always builds");
        let url = base_url
            .join("agent")
            .expect("joining a relative path to an http URL");
        let backoff = ExponentialBackoff::builder()
            .retry_bounds(CONNECT_RETRY_FIRST_WAIT, CONNECT_RETRY_MAX_WAIT)
            .base(2)
            .jitter(Jitter::None)
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
    pub(crate) async fn ask(
        &self,
        message: &str,
        session: &SessionId,
    ) -> Result<String, AgentCallError> {
        let response = self.send(message, session, false).await?;
        let body = response
            .bytes()
            .await
            .map_err(|error| self.body_error(&error))?;
        Ok(parse::<AgentResponse>(&body)?.answer)
    }

    /// Asks for a streamed answer: each `chunk` goes to `relay` as it arrives; returns the
    /// `done` event's answer. The CLIENT span ends with the response's headers (the HTTP
    /// conventions allow it); the node span around this call lasts to the last event.
    pub(crate) async fn ask_stream(
        &self,
        message: &str,
        session: &SessionId,
        relay: &Relay,
    ) -> Result<String, AgentCallError> {
        let response = self.send(message, session, true).await?;
        let mut events = response.bytes_stream().eventsource();
        while let Some(event) = events.next().await {
            let event = event.map_err(|error| match error {
                EventStreamError::Transport(error) => self.body_error(&error),
                EventStreamError::Utf8(_) | EventStreamError::Parser(_) => {
                    AgentCallError::InvalidResponse
                }
            })?;
            match event.event.as_str() {
                "chunk" => {
                    relay
                        .text(&parse::<AgentChunk>(event.data.as_bytes())?.text)
                        .await
                }
                "done" => return Ok(parse::<AgentResponse>(event.data.as_bytes())?.answer),
                "error" => {
                    let body = parse::<ErrorBody>(event.data.as_bytes())?;
                    return Err(AgentCallError::StreamFailed(upstream_code(Some(
                        body.error.code,
                    ))));
                }
                _ => {}
            }
        }
        Err(AgentCallError::Truncated)
    }

    /// The call itself, up to a successful status; the body is capped.
    async fn send(
        &self,
        message: &str,
        session: &SessionId,
        stream: bool,
    ) -> Result<reqwest::Response, AgentCallError> {
        let response = self
            .http
            .post(self.url.clone())
            .with_extension(telemetry::UrlTemplate("/agent"))
            .json(&AgentRequest {
                message,
                session_id: session.as_str(),
                stream,
            })
            // Propagation out: inside the CLIENT span of this call, `telemetry::inject_context`
            // writes `traceparent` (and the session's `baggage`) into the request's headers.
            .send()
            .await
            .map_err(|e| AgentCallError::from_transport(&e, self.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AgentCallError::Status(status.as_u16()));
        }
        Ok(service_kit::upstream::limit_body(
            response,
            MAX_AGENT_RESPONSE_BYTES,
        ))
    }

    fn body_error(&self, error: &reqwest::Error) -> AgentCallError {
        if service_kit::upstream::is_too_large(error) {
            AgentCallError::TooLarge(MAX_AGENT_RESPONSE_BYTES)
        } else if error.is_timeout() {
            AgentCallError::Timeout(self.timeout)
        } else {
            AgentCallError::InvalidResponse
        }
    }
}

/// One JSON body or event of the agent's.
fn parse<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, AgentCallError> {
    serde_json::from_slice(json).map_err(|error| {
        // The detail is for the operator (log line and span event), not the caller.
        tracing::warn!(error.message = %error, "the agent's response is not an /agent answer");
        AgentCallError::InvalidResponse
    })
}

/// The retry policy: only a request that never reached the agent (connection refused, DNS,
/// connect timeout) is tried again. `/agent` is not idempotent — a timed-out or failed call
/// may already have run the model and the tools — so timeouts and error statuses are final.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryConnectErrors;

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
