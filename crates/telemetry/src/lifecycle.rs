//! Serve until asked to stop, then lose nothing: stop accepting, let in-flight requests finish
//! (their spans end), and only then flush the span pipeline.

use axum::Router;
use tokio::net::TcpListener;

use crate::Telemetry;

/// Runs the server until SIGTERM or Ctrl-C, drains it, then flushes telemetry.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    telemetry: Telemetry,
) -> std::io::Result<()> {
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    tracing::info!("server drained; flushing telemetry");
    telemetry.shutdown().await;
    served
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM — what `docker stop` sends.
pub async fn shutdown_signal() {
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
