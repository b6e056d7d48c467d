//! The real OpenTelemetry Collector, built by `collector/build.sh` from the ocb manifest (the
//! same components and versions as the compose image), run with the repository's
//! `otel-collector-config.yaml`. Only the environment differs from compose: local ports, and
//! a Galileo endpoint on 127.0.0.1.

use std::{collections::HashMap, path::PathBuf, process::Command, sync::OnceLock};

use crate::{Service, free_ports, workspace_root};

/// Path of the Collector binary, building it on first use (cached across runs).
pub fn collector_binary() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| built("collector/build.sh")).clone()
}

/// Runs a repository build script that prints the path of what it built (cached by the script).
pub fn built(script: &str) -> PathBuf {
    let output = Command::new("bash")
        .arg(workspace_root().join(script))
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

pub fn config_path() -> PathBuf {
    workspace_root().join("otel-collector-config.yaml")
}

pub struct Collector {
    pub process: Service,
    pub grpc_port: u16,
    pub http_port: u16,
    /// Where the metrics pipeline's Prometheus exporter serves `/metrics`.
    pub prometheus_port: u16,
}

impl Collector {
    /// Starts the Collector with `galileo` (endpoint URL, key, project, log stream) and waits
    /// for its health_check extension. Batches flush after 200 ms instead of 5 s.
    pub async fn start(galileo_url: &str, api_key: &str, project: &str, log_stream: &str) -> Self {
        Self::start_with(galileo_url, api_key, project, log_stream, &[], &[]).await
    }

    /// [`Collector::start`] with more config files after the base one (`--config` again: an
    /// overlay) and more environment.
    pub async fn start_with(
        galileo_url: &str,
        api_key: &str,
        project: &str,
        log_stream: &str,
        overlays: &[PathBuf],
        extra_env: &[(&str, String)],
    ) -> Self {
        let [
            grpc_port,
            http_port,
            health_port,
            metrics_port,
            prometheus_port,
        ] = free_ports();
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
            (
                "OTELCOL_PROMETHEUS_ENDPOINT",
                format!("127.0.0.1:{prometheus_port}"),
            ),
        ]
        .into_iter()
        .chain(extra_env.iter().cloned())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let configs: Vec<String> = std::iter::once(config_path())
            .chain(overlays.iter().cloned())
            .map(|path| format!("--config={}", path.display()))
            .collect();
        let args: Vec<&str> = configs.iter().map(String::as_str).collect();
        let process = Service::spawn(&collector_binary(), &args, &env, health_port, "/").await;
        Self {
            process,
            grpc_port,
            http_port,
            prometheus_port,
        }
    }

    /// Everything the Collector printed (its logs and the debug exporter's output).
    pub fn output(&self) -> String {
        self.process.output()
    }
}
