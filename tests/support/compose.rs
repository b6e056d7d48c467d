//! Reads docker-compose.yml the way compose does for what the tests need: a service's
//! environment after `${VAR:-default}` interpolation, its build args, ports and image.

use std::collections::HashMap;

use serde_yaml::Value;

use crate::workspace_root;

pub struct Compose {
    pub doc: Value,
}

impl Compose {
    pub fn load() -> Self {
        let text = std::fs::read_to_string(workspace_root().join("docker-compose.yml"))
            .expect("docker-compose.yml");
        let mut doc: Value = serde_yaml::from_str(&text).expect("docker-compose.yml is YAML");
        // `<<: *hardened`, as compose reads it.
        doc.apply_merge().expect("YAML merge keys");
        Self { doc }
    }

    pub fn service(&self, name: &str) -> &Value {
        let service = &self.doc["services"][name];
        assert!(
            !service.is_null(),
            "docker-compose.yml has no service {name}"
        );
        service
    }

    pub fn service_names(&self) -> Vec<String> {
        self.doc["services"]
            .as_mapping()
            .expect("services")
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    }

    /// The service's `environment:` as compose would pass it, interpolated with `dotenv` as
    /// if it were the .env file.
    pub fn environment(&self, name: &str, dotenv: &HashMap<&str, &str>) -> HashMap<String, String> {
        let raw = &self.service(name)["environment"];
        let mut env = HashMap::new();
        match raw {
            Value::Mapping(map) => {
                for (key, value) in map {
                    let value = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        other => panic!("{name}: unsupported environment value {other:?}"),
                    };
                    env.insert(
                        key.as_str().unwrap().to_owned(),
                        interpolate(&value, dotenv),
                    );
                }
            }
            Value::Null => {}
            other => panic!("{name}: environment must be a mapping, got {other:?}"),
        }
        env
    }

    /// `container port → host port` from `ports:` entries like "127.0.0.1:8000:8000"
    /// (interpolated with the defaults, as with no .env).
    pub fn ports(&self, name: &str) -> Vec<(u16, u16)> {
        self.published(name)
            .into_iter()
            .map(|(_, host, container)| (container, host))
            .collect()
    }

    /// `(host address, host port, container port)` of each `ports:` entry; an entry without an
    /// address publishes on every interface (`0.0.0.0`), as Docker does.
    pub fn published(&self, name: &str) -> Vec<(String, u16, u16)> {
        self.service(name)["ports"]
            .as_sequence()
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| {
                        let text =
                            interpolate(p.as_str().expect("ports are strings"), &HashMap::new());
                        let parts: Vec<&str> = text.split(':').collect();
                        let (address, host, container) = match parts[..] {
                            [host, container] => ("0.0.0.0", host, container),
                            [address, host, container] => (address, host, container),
                            _ => panic!("ports entry {text:?} is not [ADDRESS:]HOST:CONTAINER"),
                        };
                        (
                            address.to_owned(),
                            // A range (one port per replica) by its first port.
                            host.split('-').next().unwrap().parse().unwrap(),
                            container.parse().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` interpolation.
pub fn interpolate(value: &str, dotenv: &HashMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("unclosed ${") + start;
        let expr = &rest[start + 2..end];
        let (name, default) = match expr.split_once(":-").or_else(|| expr.split_once('-')) {
            Some((name, default)) => (name, default),
            None => (expr, ""),
        };
        out.push_str(
            dotenv
                .get(name)
                .copied()
                .filter(|v| !v.is_empty())
                .unwrap_or(default),
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every `${VAR...}` name used in `text`.
pub fn referenced_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').map_or(rest.len(), |e| e + start);
        let expr = rest[start + 2..end].trim_start_matches("env:");
        let name: String = expr
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !names.contains(&name) {
            names.push(name);
        }
        rest = &rest[end.min(rest.len())..];
    }
    names
}
