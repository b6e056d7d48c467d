//! Slow clients, hostile upstreams and a shutdown with a deadline: every edge of both services
//! is bounded in time and size, and nothing internal leaks out. Each test drives real
//! processes over real sockets (the wire is what is under test), with small limits set through
//! the environment so the bounds show in a second or two. All traffic stays on 127.0.0.1 and
//! every loop is bounded. A module per concern:
//!
//! - `slow_clients`: header and body read timeouts, the connection limit;
//! - `drain`: SIGTERM with requests in flight, the drain deadline;
//! - `upstream_bounds`: what comes back from the agent or the model — size caps, trickles,
//!   redirects;
//! - `leaks`: what never reaches a caller, a log line or a span — addresses, echoed input,
//!   provider text — and the bounded rate of failure logs;
//! - `recovery`: connect retries across an agent restart, an unsampled caller.

use std::time::Duration;

use axum::{Router, routing};
use e2e::{Service, free_port, process::Background, requests::post_json};
use serde_json::{Value, json};

mod drain;
mod leaks;
mod recovery;
mod slow_clients;
mod upstream_bounds;

async fn ask(orchestrator: &Service) -> (u16, Value, Duration) {
    post_json(&orchestrator.url("/ask"), json!({ "question": "hi" })).await
}

fn dead_agent() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// A stand-in agent whose `/agent` answers with whatever `respond` builds.
pub(super) async fn agent_answering(respond: fn() -> axum::response::Response) -> Background {
    Background::serve(
        Router::new().route("/agent", routing::post(move || async move { respond() })),
    )
    .await
}
