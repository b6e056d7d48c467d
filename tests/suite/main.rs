//! The whole-process suite, one test binary with a module per concern (the zero2prod /
//! reqwest-retry layout): both services as real processes, the real Collector, the official
//! OpenTelemetry Python SDK, and fakes only for what lives outside our control (an OTLP receiver
//! playing the Collector or Galileo, an OpenAI-compatible server). Support code: `tests/support`.
//!
//! `cargo test -p e2e` runs all of it; `cargo test -p e2e hostile::` one module.

mod collector_e2e;
mod compose_check;
mod delivery;
mod failures;
mod fleet;
mod fleet_capacity;
mod genai;
mod hostile;
mod interop;
mod jaeger;
mod kubernetes;
mod logs;
mod metrics;
mod openapi;
mod otel_env;
mod propagation;
mod real_llm;
mod registry;
mod resilience;
mod run_native;
mod safe_defaults;
mod streaming;
mod trace_tree;
