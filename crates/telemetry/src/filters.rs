//! What each output lets through, independent of one another: `RUST_LOG` filters the console
//! only; what leaves the process as spans and log records has its own fixed filter, so a console
//! log level can never remove spans from a trace.

use tracing_subscriber::{
    EnvFilter,
    filter::{LevelFilter, Targets},
};

/// Crates whose log lines carry what a provider sent: async-openai logs raw error bodies (WARN)
/// and, on a response it cannot parse, the whole body (ERROR) — prompts and answers included,
/// whatever the content-capture switch says. Off unless `RUST_LOG` names them.
const QUIET_TARGETS: &[&str] = &["async_openai"];

/// Crates that log a WARN line per event we already record better: reqwest-retry logs every
/// connect retry, while each attempt is its own failed CLIENT span and the request's failure is
/// logged once (rate-limited) by `service-kit`. ERROR only unless `RUST_LOG` names them.
const TERSE_TARGETS: &[&str] = &["reqwest_retry"];

/// What leaves the process as spans, span events and log records: INFO and above (crates'
/// DEBUG/TRACE stay out), never the crates that log provider bodies (they would carry content),
/// and never the OpenTelemetry crates' own diagnostics (a failing export would log into the
/// export; the upstream examples filter them for the same reason, opentelemetry-rust#2877).
pub(crate) fn export_filter() -> Targets {
    QUIET_TARGETS.iter().chain(&["opentelemetry"]).fold(
        Targets::new().with_default(LevelFilter::INFO),
        |targets, target| targets.with_target(*target, LevelFilter::OFF),
    )
}

/// `RUST_LOG` (default `info`) for the console, with [`QUIET_TARGETS`] off and
/// [`TERSE_TARGETS`] at ERROR unless named there.
pub(crate) fn console_filter() -> EnvFilter {
    let rust_log = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let defaults = QUIET_TARGETS
        .iter()
        .map(|target| format!("{target}=off"))
        .chain(TERSE_TARGETS.iter().map(|target| format!("{target}=error")));
    defaults
        .filter(|directive| !rust_log.contains(directive.split('=').next().unwrap_or_default()))
        .fold(filter, |filter, directive| {
            filter.add_directive(directive.parse().expect("a static directive"))
        })
}
