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

/// The ports one Collector listens on, all on 127.0.0.1.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub grpc: u16,
    pub http: u16,
    pub health: u16,
    /// The Collector's own metrics (otelcol_*), in Prometheus format.
    pub metrics: u16,
    /// The metrics pipeline's Prometheus exporter.
    pub prometheus: u16,
}

impl Ports {
    pub fn free() -> Self {
        let [grpc, http, health, metrics, prometheus] = free_ports();
        Self {
            grpc,
            http,
            health,
            metrics,
            prometheus,
        }
    }
}

pub struct Collector {
    pub process: Service,
    pub ports: Ports,
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
        let galileo = [
            ("GALILEO_OTLP_ENDPOINT", galileo_url.to_owned()),
            ("GALILEO_API_KEY", api_key.to_owned()),
            ("GALILEO_PROJECT", project.to_owned()),
            ("GALILEO_LOG_STREAM", log_stream.to_owned()),
        ];
        let env: Vec<(&str, String)> = galileo
            .into_iter()
            .chain(extra_env.iter().cloned())
            .collect();
        Self::start_on(Ports::free(), overlays, &env).await
    }

    /// The base config and `overlays`, on `ports` (the same ports again: a restart), with
    /// `extra_env` after the test defaults.
    pub async fn start_on(
        ports: Ports,
        overlays: &[PathBuf],
        extra_env: &[(&str, String)],
    ) -> Self {
        let env: HashMap<String, String> = [
            ("OTELCOL_BATCH_TIMEOUT", "200ms".to_owned()),
            ("OTELCOL_DEBUG_VERBOSITY", "detailed".to_owned()),
            (
                "OTELCOL_OTLP_GRPC_ENDPOINT",
                format!("127.0.0.1:{}", ports.grpc),
            ),
            (
                "OTELCOL_OTLP_HTTP_ENDPOINT",
                format!("127.0.0.1:{}", ports.http),
            ),
            (
                "OTELCOL_HEALTH_ENDPOINT",
                format!("127.0.0.1:{}", ports.health),
            ),
            ("OTELCOL_METRICS_HOST", "127.0.0.1".to_owned()),
            ("OTELCOL_METRICS_PORT", ports.metrics.to_string()),
            (
                "OTELCOL_PROMETHEUS_ENDPOINT",
                format!("127.0.0.1:{}", ports.prometheus),
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
        let process = Service::spawn(&collector_binary(), &args, &env, ports.health, "/").await;
        Self { process, ports }
    }

    /// Everything the Collector printed (its logs and the debug exporter's output).
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// The Collector's own metrics (otelcol_*), as Prometheus text.
    pub async fn own_metrics(&self) -> String {
        crate::prometheus::scrape(self.ports.metrics).await
    }

    /// What the metrics pipeline's Prometheus exporter serves.
    pub async fn exported_metrics(&self) -> String {
        crate::prometheus::scrape(self.ports.prometheus).await
    }
}
