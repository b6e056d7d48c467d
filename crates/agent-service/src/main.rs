//! Run with `cargo run -p agent-service` (listens on `PORT`, default 3000).

use agent_service::{AppState, Config, app};

/// mimalloc: span data is many small, short-lived allocations across threads, where glibc's
/// malloc spends much of its time (profile in the README, "Benchmark").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    service_kit::run("agent-service", env!("CARGO_PKG_VERSION"), || {
        let config = Config::from_env()?;
        let model = if config.use_real_llm {
            config.openai_model.as_str()
        } else {
            "mock-llm"
        };
        tracing::info!(real_llm = config.use_real_llm, model, "agent model");
        Ok::<_, agent_service::ConfigError>((config.port, app(AppState::new(&config))))
    })
    .await
}
