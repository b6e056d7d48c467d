//! Test support for whole-process tests: the stand-ins for what lives outside our control
//! (an OTLP receiver playing Collector or Galileo, an OpenAI-compatible server), the real
//! Collector binary, and helpers to build, start and stop the real service binaries.
//!
//! Everything listens on 127.0.0.1 with an ephemeral port, so tests run in parallel.

pub mod collector;
pub mod compose;
pub mod fake_agent;
pub mod fleet;
pub mod openai;
pub mod otlp;
pub mod process;
pub mod procfs;
pub mod prometheus;
pub mod requests;
pub mod sockets;
pub mod stack;
pub mod synthetic;
pub mod tree;

pub use otlp::{CapturedSpan, FakeOtlp, SpanKind};
pub use process::{Service, binary, free_port, free_ports, run_to_exit, workspace_root};
