//! The steps of a service process that every `main.rs` strings together — telemetry first,
//! then [`serve_until_signal`] (serve, then drain within the deadline), then the caller flushes
//! telemetry — plus the `--healthcheck` mode container health checks run.

use std::{
    fmt::Display,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::ExitCode,
    time::Duration,
};

use axum::Router;
use tokio::net::TcpListener;

use crate::{
    config::EnvConfig,
    serve::{Drained, ServerLimits, serve},
};

/// Binds `BIND_ADDRESS:port` (loopback unless asked) and serves `app` until SIGTERM or Ctrl-C,
/// then drains in-flight requests within `SHUTDOWN_TIMEOUT_MS` (the server settings are read
/// from the environment).
/// Returns the process's exit code; the caller flushes telemetry after it, whatever it is.
pub async fn serve_until_signal(port: u16, app: Router) -> ExitCode {
    let limits = match ServerLimits::from_env() {
        Ok(limits) => limits,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind((limits.bind_address, port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(
                server.address = %limits.bind_address,
                server.port = port,
                error.message = %error,
                "cannot listen"
            );
            return ExitCode::FAILURE;
        }
    };
    // The port actually bound (`PORT=0` asks the system for a free one, as the tests do).
    let port = listener.local_addr().map_or(port, |address| address.port());
    tracing::info!(server.address = %limits.bind_address, server.port = port, "listening");
    match serve(listener, app, &limits, shutdown_signal()).await {
        Drained::Clean => tracing::info!("server drained; flushing telemetry"),
        Drained::Cut => {
            tracing::info!("server stopped at the drain deadline; flushing telemetry")
        }
    }
    ExitCode::SUCCESS
}

/// A start-up failure (bad configuration, telemetry that cannot start): printed, exit 1.
pub fn exit_with(service: &str, error: impl Display) -> ExitCode {
    eprintln!("{service}: {error}");
    ExitCode::FAILURE
}

/// Whether the process was started as `service --healthcheck`.
pub fn healthcheck_requested() -> bool {
    std::env::args().nth(1).as_deref() == Some("--healthcheck")
}

/// The container health check: asks the running service's `GET /health` on `port` (at
/// `BIND_ADDRESS`, or loopback when that is every interface) and exits 0 or 1, so the runtime
/// image needs no shell or curl.
pub async fn healthcheck(port: u16) -> ExitCode {
    let address = ServerLimits::from_env()
        .map(|limits| limits.bind_address)
        .ok()
        .filter(|address| !address.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let url = format!("http://{}/health", SocketAddr::new(address, port));
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => exit_with(&url, format!("HTTP {}", response.status())),
        Err(error) => exit_with(&url, error),
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM — what `docker stop` sends.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(error.message = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(error.message = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
