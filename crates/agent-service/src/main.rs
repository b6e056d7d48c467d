//! Run with `cargo run -p agent-service` (listens on `PORT`, default 3000; the mock model
//! unless `USE_REAL_LLM=true`). The life of the process: telemetry → serve → drain → flush.

use std::process::ExitCode;

use agent_service::{AppState, Config, app};
use service_kit::config::EnvConfig;

const SERVICE: &str = "agent-service";

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
    let (provider, model) = if config.use_real_llm {
        ("openai", config.openai_model.as_str())
    } else {
        ("mock", "mock-llm")
    };
    tracing::info!(
        gen_ai.provider.name = provider,
        gen_ai.request.model = model,
        "agent model"
    );
    // 2. Serve until SIGTERM or Ctrl-C, then 3. drain the requests in flight (bounded).
    let served = service_kit::serve_until_signal(config.port, app(AppState::new(&config))).await;
    // 4. Flush: the spans of every request leave before the process does.
    telemetry.shutdown().await;
    served
}
