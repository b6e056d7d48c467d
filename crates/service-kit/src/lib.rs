//! What makes each binary an HTTP service, shared so both services do it the same way:
//!
//! - [`error`]: the one error shape (`{"error": {"code", "message"}}`) and the 4xx type.
//! - [`ApiJson`] (`json.rs`): the JSON body extractor whose rejections use it.
//! - [`api`]: `/health`, `/openapi.json`, JSON 404/405, the body limit.
//! - [`fields`]: the text fields both services validate alike, and their limit.
//! - [`config`]: a typed config struct from environment variables, with errors that name the
//!   variable, and the list of variables it reads.
//! - [`serve`]: the HTTP server loop with its limits (header and body read timeouts, a
//!   connection limit, a drain deadline).
//! - [`sse`]: a streamed answer as server-sent events (`chunk`… then `done` or `error`), its
//!   producer on its own task in the request's span, its caller's hang-up and slowness handled.
//! - [`rate_limit`]: the opt-in request-rate limit in front of the API routes.
//! - [`upstream`]: a size cap on the bodies of responses from services we call.
//! - [`lifecycle`]: the steps each `main.rs` strings together — serve until SIGTERM/Ctrl-C and
//!   drain (bounded) — and the `--healthcheck` mode container health checks call.
//!
//! OpenTelemetry itself stays in the `telemetry` crate.

#![warn(missing_docs)]

pub mod api;
pub mod config;
pub mod error;
pub mod fields;
mod json;
pub mod lifecycle;
mod log_limit;
pub mod rate_limit;
pub mod serve;
pub mod sse;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod upstream;

pub use json::ApiJson;
pub use lifecycle::{exit_with, healthcheck, healthcheck_requested, serve_until_signal};
