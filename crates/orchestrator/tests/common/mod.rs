//! What the orchestrator's in-process tests share.

use service_kit::{config::EnvConfig, testing::vars};

/// The agent service on 127.0.0.1 (an ephemeral port), configured by `pairs` (its mock model's
/// latency and chunk delay); returns its base URL.
pub(crate) async fn start_agent(pairs: &[(&str, &str)]) -> String {
    let config = agent_service::Config::from_vars(vars(pairs)).unwrap();
    let agent = agent_service::app(agent_service::AppState::new(&config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, agent).await });
    url
}
