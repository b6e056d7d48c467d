//! Configuration, read from the environment once at start. Tracing settings are the standard
//! `OTEL_*` variables, read by the telemetry crate; this struct holds only the service's own.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The agent service's own settings (field `x_y` ← variable `X_Y`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `PORT`: where `/agent` listens.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `USE_REAL_LLM`: `true` calls an OpenAI-compatible API; `false` (default) uses the mock.
    #[serde(default)]
    pub use_real_llm: bool,
    /// `MOCK_LLM_LATENCY_MS`: simulated time per mock `chat` call. The default, 500 ms, gives a
    /// turn of about 1 s (two chat calls), like the original demo; 0 disables the wait.
    #[serde(default = "default_mock_latency_ms")]
    pub mock_llm_latency_ms: u64,
    /// `MOCK_LLM_CHUNK_DELAY_MS`: for a streamed answer, the mock's time between two chunks
    /// (one word each), after the first came at `MOCK_LLM_LATENCY_MS`. Default 20 ms.
    #[serde(default = "default_mock_chunk_delay_ms")]
    pub mock_llm_chunk_delay_ms: u64,
    /// `OPENAI_API_KEY`: required when `USE_REAL_LLM=true`. Kept secret: `Debug` prints
    /// `[REDACTED]`, so the key can never reach a log line through this struct.
    #[serde(default)]
    pub openai_api_key: Option<SecretString>,
    /// `OPENAI_MODEL`.
    #[serde(default = "default_model")]
    pub openai_model: String,
    /// `OPENAI_BASE_URL`: any OpenAI-compatible server.
    #[serde(default = "default_base_url")]
    pub openai_base_url: String,
    /// `AGENT_MAX_TOOL_ROUNDS`: how many rounds of tool calls one turn may make before it fails.
    #[serde(default = "default_max_tool_rounds")]
    pub agent_max_tool_rounds: usize,
    /// `LLM_TIMEOUT_MS`: the whole of one chat call, retries and `Retry-After` waits included;
    /// past it the request fails with 504.
    #[serde(default = "default_llm_timeout_ms")]
    pub llm_timeout_ms: u64,
    /// `LLM_STREAM_IDLE_TIMEOUT_MS`: for a streamed call, the longest wait for the model's next
    /// chunk; a model that stalls mid-stream is cut after it (`llm_timeout`). The whole call is
    /// still bounded by `LLM_TIMEOUT_MS`.
    #[serde(default = "default_llm_stream_idle_timeout_ms")]
    pub llm_stream_idle_timeout_ms: u64,
    /// `LLM_MAX_TOKENS`: the most tokens one model call may generate (`max_completion_tokens`),
    /// so no single request costs without bound.
    #[serde(default = "default_llm_max_tokens")]
    pub llm_max_tokens: u32,
    /// `LLM_MAX_CONCURRENT_CALLS`: model calls in flight at once in this process; more wait (at
    /// most `LLM_TIMEOUT_MS`, then 504), they are not refused.
    #[serde(default = "default_llm_max_concurrent_calls")]
    pub llm_max_concurrent_calls: usize,
    /// `RATE_LIMIT_PER_SECOND`: requests a second this service takes, on average; 0 (default)
    /// = no limit. Turn it on whenever the service listens beyond loopback.
    #[serde(default)]
    pub rate_limit_per_second: u32,
    /// `RATE_LIMIT_BURST`: requests that may arrive at once; 0 (default) = one second's worth.
    #[serde(default)]
    pub rate_limit_burst: u32,
}

impl Config {
    /// `LLM_STREAM_IDLE_TIMEOUT_MS` and `LLM_TIMEOUT_MS`, for a streamed call.
    pub(crate) fn stream_deadlines(&self) -> crate::llm::StreamDeadlines {
        crate::llm::StreamDeadlines {
            idle: std::time::Duration::from_millis(self.llm_stream_idle_timeout_ms),
            total: std::time::Duration::from_millis(self.llm_timeout_ms),
        }
    }

    /// `RATE_LIMIT_*` as a limit.
    pub fn rate_limit(&self) -> service_kit::rate_limit::RateLimit {
        service_kit::rate_limit::RateLimit {
            per_second: self.rate_limit_per_second,
            burst: self.rate_limit_burst,
        }
    }
}

/// Why the agent service refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable is malformed (named in the message).
    #[error(transparent)]
    Invalid(#[from] service_kit::config::ConfigError),
    /// The real model was asked for without a key.
    #[error(
        "USE_REAL_LLM=true needs OPENAI_API_KEY; set it, or unset USE_REAL_LLM to use the mock model"
    )]
    MissingApiKey,
}

impl service_kit::config::EnvConfig for Config {
    type Error = ConfigError;

    fn check(mut self) -> Result<Self, ConfigError> {
        // Compose passes an unset variable through as empty: treat it as absent.
        if self
            .openai_api_key
            .as_ref()
            .is_some_and(|k| k.expose_secret().trim().is_empty())
        {
            self.openai_api_key = None;
        }
        if self.use_real_llm && self.openai_api_key.is_none() {
            return Err(ConfigError::MissingApiKey);
        }
        service_kit::config::http_url("OPENAI_BASE_URL", &self.openai_base_url)?;
        service_kit::config::non_zero("LLM_MAX_TOKENS", u64::from(self.llm_max_tokens))?;
        service_kit::config::non_zero(
            "LLM_STREAM_IDLE_TIMEOUT_MS",
            self.llm_stream_idle_timeout_ms,
        )?;
        service_kit::config::non_zero(
            "LLM_MAX_CONCURRENT_CALLS",
            self.llm_max_concurrent_calls as u64,
        )?;
        Ok(self)
    }
}

fn default_port() -> u16 {
    3000
}

fn default_mock_latency_ms() -> u64 {
    500
}

fn default_mock_chunk_delay_ms() -> u64 {
    20
}

fn default_llm_stream_idle_timeout_ms() -> u64 {
    15_000
}

fn default_model() -> String {
    "gpt-4o-mini".to_owned()
}

fn default_base_url() -> String {
    "https://api.openai.com/v1".to_owned()
}

fn default_max_tool_rounds() -> usize {
    5
}

fn default_llm_timeout_ms() -> u64 {
    60_000
}

fn default_llm_max_tokens() -> u32 {
    1_024
}

/// Twice the benchmark's 64 concurrent requests, each of which calls the model one at a time:
/// the benchmark never meets it; a flood of strangers does.
fn default_llm_max_concurrent_calls() -> usize {
    128
}

#[cfg(test)]
mod tests {
    use service_kit::{config::EnvConfig, testing::vars};

    use super::*;

    #[test]
    fn defaults_use_the_mock_model() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert!(!config.use_real_llm);
        assert_eq!(config.port, 3000);
        assert_eq!(config.mock_llm_latency_ms, 500);
        assert_eq!(config.mock_llm_chunk_delay_ms, 20);
        assert_eq!(config.llm_stream_idle_timeout_ms, 15_000);
        assert_eq!(config.agent_max_tool_rounds, 5);
        assert_eq!(config.llm_max_tokens, 1_024);
        assert_eq!(config.llm_max_concurrent_calls, 128);
        for name in [
            "LLM_MAX_TOKENS",
            "LLM_MAX_CONCURRENT_CALLS",
            "LLM_STREAM_IDLE_TIMEOUT_MS",
        ] {
            let error = Config::from_vars(vars(&[(name, "0")]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn real_llm_without_a_key_fails_with_a_clear_message() {
        for key in [None, Some("   ")] {
            let mut pairs = vec![("USE_REAL_LLM", "true")];
            if let Some(key) = key {
                pairs.push(("OPENAI_API_KEY", key));
            }
            let error = Config::from_vars(vars(&pairs)).unwrap_err().to_string();
            assert!(error.contains("OPENAI_API_KEY"), "{error}");
        }
    }

    #[test]
    fn the_key_is_never_printed() {
        let config = Config::from_vars(vars(&[
            ("USE_REAL_LLM", "true"),
            ("OPENAI_API_KEY", "sk-test-do-not-print-0123456789"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("do-not-print"));
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(Config::from_vars(vars(&[("USE_REAL_LLM", "yes please")])).is_err());
        assert!(Config::from_vars(vars(&[("MOCK_LLM_LATENCY_MS", "-1")])).is_err());
        assert!(Config::from_vars(vars(&[("OPENAI_BASE_URL", "localhost:1234")])).is_err());
    }
}
