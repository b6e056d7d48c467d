//! Run with `cargo run -p orchestrator` (listens on `PORT`, default 8000).

use orchestrator::{AppState, Config, app};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    service_kit::run("orchestrator", env!("CARGO_PKG_VERSION"), || {
        let config = Config::from_env()?;
        tracing::info!(agent = %config.agent_service_url, "calling the agent service");
        Ok::<_, orchestrator::ConfigError>((config.port, app(AppState::new(&config))))
    })
    .await
}
