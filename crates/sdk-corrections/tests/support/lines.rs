//! Header lines as an HTTP request has them — a name may repeat — for the propagators under test.

use std::collections::HashMap;

use opentelemetry::propagation::Extractor;

/// Each header name with its lines, in order.
pub(crate) struct Lines(pub(crate) HashMap<&'static str, Vec<String>>);

impl Lines {
    /// From `(name, value)` pairs, a repeated name adding a line.
    #[allow(dead_code)] // one of the two test binaries that include this file uses it
    pub(crate) fn from_pairs(pairs: &[(&'static str, &str)]) -> Self {
        let mut lines: HashMap<&'static str, Vec<String>> = HashMap::new();
        for (name, value) in pairs {
            lines.entry(name).or_default().push((*value).to_owned());
        }
        Self(lines)
    }
}

impl Extractor for Lines {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.first()).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().copied().collect()
    }
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        self.0
            .get(key)
            .map(|v| v.iter().map(String::as_str).collect())
    }
}
