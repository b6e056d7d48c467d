//! The real OpenTelemetry Collector, built by `collector/build.sh` from the ocb manifest (the
//! same components and versions as the compose image), run with the repository's
//! `otel-collector-config.yaml`. Only the environment differs from compose: local ports, and
//! a Galileo endpoint on 127.0.0.1.

use std::{collections::HashMap, path::PathBuf, process::Command, sync::OnceLock};

use crate::{Service, free_port, workspace_root};

/// Path of the Collector binary, building it on first use (cached across runs).
pub fn collector_binary() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let output = Command::new("bash")
            .arg(workspace_root().join("collector/build.sh"))
            .output()
            .expect("run collector/build.sh");
        assert!(
            output.status.success(),
            "collector/build.sh failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
    .clone()
}

pub fn config_path() -> PathBuf {
    workspace_root().join("otel-collector-config.yaml")
}

pub struct Collector {
    pub process: Service,
    pub grpc_port: u16,
    pub http_port: u16,
}

impl Collector {
    /// Starts the Collector with `galileo` (endpoint URL, key, project, log stream) and waits
    /// for its health_check extension. Batches flush after 200 ms instead of 5 s.
    pub async fn start(galileo_url: &str, api_key: &str, project: &str, log_stream: &str) -> Self {
        let (grpc_port, http_port, health_port, metrics_port) =
            (free_port(), free_port(), free_port(), free_port());
        let env: HashMap<String, String> = [
            ("GALILEO_OTLP_ENDPOINT", galileo_url.to_owned()),
            ("GALILEO_API_KEY", api_key.to_owned()),
            ("GALILEO_PROJECT", project.to_owned()),
            ("GALILEO_LOG_STREAM", log_stream.to_owned()),
            ("OTELCOL_BATCH_TIMEOUT", "200ms".to_owned()),
            ("OTELCOL_DEBUG_VERBOSITY", "detailed".to_owned()),
            (
                "OTELCOL_OTLP_GRPC_ENDPOINT",
                format!("127.0.0.1:{grpc_port}"),
            ),
            (
                "OTELCOL_OTLP_HTTP_ENDPOINT",
                format!("127.0.0.1:{http_port}"),
            ),
            (
                "OTELCOL_HEALTH_ENDPOINT",
                format!("127.0.0.1:{health_port}"),
            ),
            ("OTELCOL_METRICS_HOST", "127.0.0.1".to_owned()),
            ("OTELCOL_METRICS_PORT", metrics_port.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = format!("--config={}", config_path().display());
        let process = Service::spawn(&collector_binary(), &[&config], &env, health_port, "/").await;
        Self {
            process,
            grpc_port,
            http_port,
        }
    }

    /// Everything the Collector printed (its logs and the debug exporter's output).
    pub fn output(&self) -> String {
        self.process.output()
    }
}
