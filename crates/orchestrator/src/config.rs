//! Configuration, read from the environment once at start. Tracing settings are the standard
//! `OTEL_*` variables, read by the telemetry crate; this struct holds only the service's own.

use std::time::Duration;

use serde::Deserialize;

/// The orchestrator's own settings (field `x_y` ← variable `X_Y`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `PORT`: where `/ask` listens.
    #[serde(default = "default_port")]
    pub port: u16,
    /// `AGENT_SERVICE_URL`: base URL of the agent service (`/agent` is appended).
    #[serde(default = "default_agent_url", deserialize_with = "parse_url")]
    pub agent_service_url: reqwest::Url,
    /// `AGENT_TIMEOUT_MS`: the whole agent call, connect to last byte.
    #[serde(default = "default_agent_timeout_ms")]
    pub agent_timeout_ms: u64,
    /// `AGENT_CONNECT_RETRIES`: extra attempts when the agent refuses the connection (waits of
    /// 0.2, 0.4, 0.8, then 1 s each; the default 6 spans 4.4 s).
    #[serde(default = "default_connect_retries")]
    pub agent_connect_retries: u32,
    /// `RATE_LIMIT_PER_SECOND`: requests a second this service takes, on average; 0 (default)
    /// = no limit. Turn it on whenever the service listens beyond loopback.
    #[serde(default)]
    pub rate_limit_per_second: u32,
    /// `RATE_LIMIT_BURST`: requests that may arrive at once; 0 (default) = one second's worth.
    #[serde(default)]
    pub rate_limit_burst: u32,
}

pub use service_kit::config::ConfigError;

impl service_kit::config::EnvConfig for Config {
    type Error = ConfigError;

    fn check(self) -> Result<Self, ConfigError> {
        service_kit::config::non_zero("AGENT_TIMEOUT_MS", self.agent_timeout_ms)?;
        Ok(self)
    }
}

impl Config {
    /// `RATE_LIMIT_*` as a limit.
    pub fn rate_limit(&self) -> service_kit::rate_limit::RateLimit {
        service_kit::rate_limit::RateLimit {
            per_second: self.rate_limit_per_second,
            burst: self.rate_limit_burst,
        }
    }

    /// `AGENT_TIMEOUT_MS` as a duration.
    pub fn agent_timeout(&self) -> Duration {
        Duration::from_millis(self.agent_timeout_ms)
    }
}

fn default_port() -> u16 {
    8000
}

fn default_agent_url() -> reqwest::Url {
    reqwest::Url::parse("http://localhost:3000").expect("static URL")
}

fn default_agent_timeout_ms() -> u64 {
    30_000
}

fn default_connect_retries() -> u32 {
    6
}

fn parse_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<reqwest::Url, D::Error> {
    let raw = String::deserialize(deserializer)?;
    service_kit::config::http_url("AGENT_SERVICE_URL", &raw).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use service_kit::{config::EnvConfig, testing::vars};

    use super::*;

    #[test]
    fn defaults_match_the_docs() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.port, 8000);
        assert_eq!(config.agent_service_url.as_str(), "http://localhost:3000/");
        assert_eq!(config.agent_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn variables_override_defaults() {
        let config = Config::from_vars(vars(&[
            ("PORT", "9001"),
            ("AGENT_SERVICE_URL", "http://agent-service:3000"),
            ("AGENT_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(config.port, 9001);
        assert_eq!(config.agent_service_url.host_str(), Some("agent-service"));
        assert_eq!(config.agent_timeout(), Duration::from_millis(1500));
    }

    #[test]
    fn bad_values_are_named_in_the_error() {
        let error = Config::from_vars(vars(&[("PORT", "eighty")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("PORT"), "{error}");
        let error = Config::from_vars(vars(&[("AGENT_SERVICE_URL", "not a url")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("AGENT_SERVICE_URL"), "{error}");
        let error = Config::from_vars(vars(&[("AGENT_TIMEOUT_MS", "0")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("AGENT_TIMEOUT_MS"), "{error}");
    }
}
