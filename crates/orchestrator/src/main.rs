//! Run with `cargo run -p orchestrator` (listens on `PORT`, default 8000).

use orchestrator::{AppState, Config, app};

/// mimalloc: span data is many small, short-lived allocations across threads, where glibc's
/// malloc spends much of its time (profile in the README, "Benchmark").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    service_kit::run("orchestrator", env!("CARGO_PKG_VERSION"), || {
        let config = Config::from_env()?;
        tracing::info!(agent = %config.agent_service_url, "calling the agent service");
        Ok::<_, orchestrator::ConfigError>((config.port, app(AppState::new(&config))))
    })
    .await
}
