//! The HTTP server loop, with every edge bounded: `axum::serve` accepts without limit and cannot
//! set hyper's timeouts, so this is its loop (the axum `serve-with-hyper` example's shape) plus
//! the four limits a public-facing service needs:
//!
//! - **header read timeout** (hyper's own): a client that sends part of the headers — or an
//!   idle keep-alive connection that sends nothing — is closed after it;
//! - **body read deadline** (tower-http's `RequestBodyDeadlineLayer`): the whole body must
//!   arrive within it, however slowly it trickles; the JSON extractor answers 408 past it;
//! - **connection limit**: at most this many connections are open; further ones wait in the
//!   kernel's accept backlog instead of exhausting file descriptors;
//! - **stream write timeout**: a streamed answer (`sse.rs`) waits this long for a caller that
//!   stopped reading, then its connection is cut — the one limit hyper cannot see, because it
//!   stops asking for the body while the socket is full;
//! - **drain deadline**: after the shutdown signal, in-flight requests get this long to finish;
//!   then their connections are cut (their spans end as they are dropped) so the flush that
//!   follows still fits in the container's stop grace period.
//!
//! Why not axum-server (0.9.2), which has the header timeout (`http_builder`), the drain deadline
//! (`Handle::graceful_shutdown(Some(..))`) and a connection count: its accept loop accepts first
//! and asks the service to be ready after, so a connection cap there needs a listener adapter
//! (an `Address` + `AddrListener` whose stream holds a permit) about as long as this loop, and
//! still holds one socket more than the cap. Here the slot is taken before `accept`.

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr},
    pin::pin,
    sync::Arc,
    time::Duration,
};

use axum::{Router, body::Body, extract::Request};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use serde::Deserialize;
use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use tower::{Layer, ServiceExt};
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::sse::ConnectionControl;

/// The server's address and limits, from the environment (the same variables for both services).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerLimits {
    /// `BIND_ADDRESS`: the address to listen on. Loopback by default, so a service started on a
    /// laptop is not reachable from the network unless asked; the container image sets
    /// `0.0.0.0`, which it needs inside its own network namespace.
    #[serde(default = "default_bind_address")]
    pub bind_address: IpAddr,
    /// `HTTP_HEADER_READ_TIMEOUT_MS`: the request line and headers must arrive within this; it
    /// is also how long an idle keep-alive connection stays open.
    #[serde(default = "default_header_read_timeout_ms")]
    pub http_header_read_timeout_ms: u64,
    /// `HTTP_BODY_READ_TIMEOUT_MS`: the whole request body must arrive within this (408 after).
    #[serde(default = "default_body_read_timeout_ms")]
    pub http_body_read_timeout_ms: u64,
    /// `HTTP_STREAM_WRITE_TIMEOUT_MS`: how long a streamed answer waits for a caller that has
    /// stopped reading (with [`crate::sse::BUFFERED_EVENTS`] events queued) before its
    /// connection is cut.
    #[serde(default = "default_stream_write_timeout_ms")]
    pub http_stream_write_timeout_ms: u64,
    /// `HTTP_MAX_CONNECTIONS`: open connections at most; keep it below `ulimit -n`.
    #[serde(default = "default_max_connections")]
    pub http_max_connections: usize,
    /// `SHUTDOWN_TIMEOUT_MS`: after SIGTERM, how long in-flight requests may run before they
    /// are cut. The span flush after it takes at most 5 s more (`telemetry`), so the total
    /// stays inside compose's `stop_grace_period` (20 s).
    #[serde(default = "default_shutdown_timeout_ms")]
    pub shutdown_timeout_ms: u64,
}

fn default_bind_address() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn default_header_read_timeout_ms() -> u64 {
    10_000
}
fn default_body_read_timeout_ms() -> u64 {
    10_000
}
fn default_stream_write_timeout_ms() -> u64 {
    crate::sse::DEFAULT_WRITE_TIMEOUT.as_millis() as u64
}
fn default_max_connections() -> usize {
    1024
}
fn default_shutdown_timeout_ms() -> u64 {
    10_000
}

impl crate::config::EnvConfig for ServerLimits {
    type Error = crate::config::ConfigError;

    fn check(self) -> Result<Self, Self::Error> {
        use crate::config::non_zero;
        non_zero(
            "HTTP_HEADER_READ_TIMEOUT_MS",
            self.http_header_read_timeout_ms,
        )?;
        non_zero("HTTP_BODY_READ_TIMEOUT_MS", self.http_body_read_timeout_ms)?;
        non_zero(
            "HTTP_STREAM_WRITE_TIMEOUT_MS",
            self.http_stream_write_timeout_ms,
        )?;
        non_zero("HTTP_MAX_CONNECTIONS", self.http_max_connections as u64)?;
        non_zero("SHUTDOWN_TIMEOUT_MS", self.shutdown_timeout_ms)?;
        Ok(self)
    }
}

impl ServerLimits {
    fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.http_header_read_timeout_ms)
    }
    fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.http_body_read_timeout_ms)
    }
    fn stream_write_timeout(&self) -> Duration {
        Duration::from_millis(self.http_stream_write_timeout_ms)
    }
    fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }
}

/// How the drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight request finished.
    Clean,
    /// The deadline passed and the requests still running were cut.
    Cut,
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains within the deadline.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let service = RequestBodyDeadlineLayer::new(limits.body_read_timeout())
        .layer(app)
        .map_request(|request: Request<_>| request.map(Body::new));
    // HTTP/1.1 only: what every client of these services speaks. (hyper-util's auto builder
    // would add h2c, but it first waits for the client's first bytes with no timeout at all.)
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout());

    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.http_max_connections));
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot first, then a connection: past the limit, new clients wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            // axum's accept: retries on transient errors, sleeps a second on EMFILE.
            (stream, _) = axum::serve::Listener::accept(&mut listener) => stream,
            () = &mut shutdown => break,
        };
        // Each request on the connection can ask for it to be cut (a stream whose caller
        // stopped reading: `sse.rs`).
        let control = ConnectionControl::new(limits.stream_write_timeout());
        let with_control = control.clone();
        let service =
            service
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(with_control.clone());
                    request
                });
        let connection = graceful.watch(
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)),
        );
        connections.spawn(async move {
            tokio::select! {
                // An error here is the client's (reset, timeout, bad framing): nothing to report.
                _ = connection => {}
                // Dropping the connection closes the socket, whatever is still unsent.
                () = control.cut_requested() => {}
            }
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(
        agent_tracing.connections.open = connections.len(),
        "stopped accepting; draining"
    );
    match tokio::time::timeout(limits.shutdown_timeout(), graceful.shutdown()).await {
        Ok(()) => Drained::Clean,
        Err(_) => {
            let cut = connections.len();
            connections.shutdown().await;
            tracing::warn!(
                agent_tracing.connections.cut = cut,
                agent_tracing.drain.deadline_ms = limits.shutdown_timeout_ms,
                "drain deadline passed; in-flight requests were cut"
            );
            Drained::Cut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::EnvConfig, testing::vars};

    #[test]
    fn limits_have_documented_defaults_and_refuse_zero() {
        let limits = ServerLimits::from_vars(vars(&[])).unwrap();
        assert_eq!(limits.bind_address.to_string(), "127.0.0.1");
        assert_eq!(limits.http_header_read_timeout_ms, 10_000);
        assert_eq!(limits.http_body_read_timeout_ms, 10_000);
        assert_eq!(limits.http_max_connections, 1024);
        assert_eq!(limits.http_stream_write_timeout_ms, 10_000);
        assert_eq!(limits.shutdown_timeout_ms, 10_000);
        for name in [
            "HTTP_HEADER_READ_TIMEOUT_MS",
            "HTTP_BODY_READ_TIMEOUT_MS",
            "HTTP_MAX_CONNECTIONS",
            "HTTP_STREAM_WRITE_TIMEOUT_MS",
            "SHUTDOWN_TIMEOUT_MS",
        ] {
            let error = ServerLimits::from_vars(vars(&[(name, "0")]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
