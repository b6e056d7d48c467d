//! What makes a trace readable as an AI workflow:
//!
//! - `span.rs`: [`GenAiSpan`], the span of one GenAI operation (`chat`, `execute_tool`,
//!   `invoke_agent`, `invoke_workflow`), and [`ErrorType`] for the failures it records.
//! - `content.rs`: message content on spans behind the opt-in capture switch
//!   (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), in the conventions' message shape,
//!   and [`record_io`], each step's input and output.
//! - `metrics.rs`: [`GenAiMetrics`], the `gen_ai.client.*` duration and token-usage metrics of
//!   one operation.
//! - `session.rs`: [`SessionId`], the one rule for a session id, carried as baggage and copied
//!   onto every span.

mod content;
mod metrics;
mod session;
mod span;

pub(crate) use content::init_capture;
pub use content::{
    ContentCapture, MAX_CONTENT_CHARS, MAX_VALUE_CHARS, output_message, record_content, record_io,
    text_message, text_part, truncate,
};
pub use metrics::GenAiMetrics;
pub use session::{
    InvalidSessionId, MAX_SESSION_ID_CHARS, SESSION_BAGGAGE_KEY, SessionId, session_attributes,
    with_session,
};
pub use span::{ErrorType, GenAiSpan, StreamEnd, strings};
