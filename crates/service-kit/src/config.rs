//! A service's configuration: a serde struct whose field names are its environment variables
//! (`agent_timeout_ms` ← `AGENT_TIMEOUT_MS`), parsed once at start by envy.

use serde::de::DeserializeOwned;

/// A variable that is malformed, named in the message (`invalid configuration: ... PORT`).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl From<envy::Error> for ConfigError {
    fn from(error: envy::Error) -> Self {
        Self(error.to_string())
    }
}

/// A configuration struct: parsed from the variables (types and defaults, by envy), then
/// checked as a whole by [`EnvConfig::check`] (limits, a key that one switch requires). Both
/// services and the server limits load the same way.
pub trait EnvConfig: DeserializeOwned + Sized {
    /// The error a bad configuration is reported with.
    type Error: From<ConfigError>;

    /// What parsing cannot check; the default accepts everything that parsed.
    fn check(self) -> Result<Self, Self::Error> {
        Ok(self)
    }

    /// From the process environment, once, at start.
    fn from_env() -> Result<Self, Self::Error> {
        Self::from_vars(std::env::vars())
    }

    /// From given variables (`std::env::vars()` in production, a list in tests).
    fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, Self::Error> {
        let parsed: Self = envy::from_iter(vars).map_err(ConfigError::from)?;
        parsed.check()
    }
}

/// `raw`, the value of `variable`, as an `http` or `https` URL; otherwise an error naming the
/// variable.
pub fn http_url(variable: &str, raw: &str) -> Result<reqwest::Url, ConfigError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| ConfigError(format!("{variable} {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError(format!(
            "{variable} {raw:?} must be an http or https URL"
        )));
    }
    Ok(url)
}

/// Refuses a zero, which would make a timeout or a limit unusable, never what was meant.
pub fn non_zero(variable: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError(format!("{variable} must be greater than 0")));
    }
    Ok(())
}

/// The variables `T` reads — its field names upper-cased — so a test can check that
/// docker-compose.yml sets nothing a service ignores.
pub fn env_vars<T: DeserializeOwned>() -> Vec<String> {
    serde_aux::serde_introspection::serde_introspect::<T>()
        .iter()
        .map(|field| field.to_uppercase())
        .collect()
}
