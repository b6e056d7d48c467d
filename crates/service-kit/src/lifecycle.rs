//! Serve until asked to stop, then lose nothing: stop accepting, let in-flight requests finish
//! (their spans end) within the drain deadline, and only then flush the span pipeline.

use axum::Router;
use tokio::net::TcpListener;

use telemetry::Telemetry;

use crate::serve::{Drained, ServerLimits, serve};

/// Runs the server until SIGTERM or Ctrl-C, drains it (bounded), then flushes telemetry.
async fn serve_then_flush(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    telemetry: Telemetry,
) {
    match serve(listener, app, limits, shutdown_signal()).await {
        Drained::Clean => tracing::info!("server drained; flushing telemetry"),
        Drained::Cut(_) => {
            tracing::info!("server stopped at the drain deadline; flushing telemetry")
        }
    }
    telemetry.shutdown().await;
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM — what `docker stop` sends.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
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
                tracing::warn!(%error, "cannot listen for SIGTERM");
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

/// The whole life of a service process, so each `main.rs` is three lines: start telemetry,
/// build the app from its config (errors are printed and exit 1), listen on `0.0.0.0:port`,
/// serve until a signal, drain, flush.
///
/// With `--healthcheck` as the only argument it instead asks the running service's
/// `GET /health` on the configured port and exits 0 or 1: the container health check, so the
/// runtime image needs no shell or curl.
pub async fn run<E: std::fmt::Display>(
    service_name: &'static str,
    service_version: &'static str,
    build: impl FnOnce() -> Result<(u16, Router), E>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    if std::env::args().nth(1).as_deref() == Some("--healthcheck") {
        return match build() {
            Ok((port, _)) => healthcheck(port).await,
            Err(error) => {
                eprintln!("{service_name}: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let telemetry = match telemetry::init(service_name, service_version) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("{service_name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (port, app) = match build() {
        Ok(built) => built,
        Err(error) => {
            tracing::error!("{service_name}: {error}");
            telemetry.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    let limits = match ServerLimits::from_vars(std::env::vars()) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::error!("{service_name}: {error}");
            telemetry.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(("0.0.0.0", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(port, %error, "{service_name}: cannot listen");
            telemetry.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port, version = service_version, "{service_name} listening");
    serve_then_flush(listener, app, &limits, telemetry).await;
    ExitCode::SUCCESS
}

async fn healthcheck(port: u16) -> std::process::ExitCode {
    let url = format!("http://127.0.0.1:{port}/health");
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => std::process::ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("{url}: HTTP {}", response.status());
            std::process::ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{url}: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
