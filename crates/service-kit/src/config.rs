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

/// Parses `T` from variables (`std::env::vars()` in production, a list in tests).
pub fn from_vars<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    Ok(envy::from_iter(vars)?)
}

/// The variables `T` reads — its field names upper-cased — so a test can check that
/// docker-compose.yml sets nothing a service ignores.
pub fn env_vars<T: DeserializeOwned>() -> Vec<String> {
    serde_aux::serde_introspection::serde_introspect::<T>()
        .iter()
        .map(|field| field.to_uppercase())
        .collect()
}
