//! Run with `cargo run -p orchestrator` (listens on `PORT`, default 8000; calls the agent at
//! `AGENT_SERVICE_URL`). The life of the process: telemetry → serve → drain → flush.

use std::process::ExitCode;

use orchestrator::{AppState, Config, app};
use service_kit::config::EnvConfig;

const SERVICE: &str = "orchestrator";

/// mimalloc: span data is many small, short-lived allocations across threads, where glibc's
/// malloc spends much of its time (profile in docs/benchmark.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return service_kit::exit_with(SERVICE, error),
    };
    if service_kit::healthcheck_requested() {
        return service_kit::healthcheck(config.port).await;
    }
    // 1. Telemetry: OTLP exporter and batch processor, propagators, the tracing subscriber.
    let telemetry = match telemetry::init(SERVICE, env!("CARGO_PKG_VERSION")) {
        Ok(telemetry) => telemetry,
        Err(error) => return service_kit::exit_with(SERVICE, error),
    };
    tracing::info!(url.full = %config.agent_service_url, "calling the agent service");
    // 2. Serve until SIGTERM or Ctrl-C, then 3. drain the requests in flight (bounded).
    let served = service_kit::serve_until_signal(config.port, app(AppState::new(&config))).await;
    // 4. Flush: the spans of every request leave before the process does.
    telemetry.shutdown().await;
    served
}
