//! What makes a trace readable as an AI workflow:
//!
//! - `span.rs`: [`GenAiSpan`], the span of one GenAI operation (`chat`, `execute_tool`,
//!   `invoke_agent`, `invoke_workflow`), and [`ErrorType`] for the failures it records.
//! - `content.rs`: message content on spans behind the opt-in capture switch
//!   (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), in the conventions' message shape.
//! - `metrics.rs`: [`GenAiMetrics`], the `gen_ai.client.*` duration and token-usage metrics of
//!   one operation.
//! - `session.rs`: the session that groups the traces of one conversation, carried as baggage
//!   and copied onto every span.

mod content;
mod metrics;
mod session;
mod span;

pub(crate) use content::init_capture;
pub use content::{
    ContentCapture, MAX_CONTENT_CHARS, MAX_VALUE_CHARS, output_message, question_and_answer,
    record_content, text_message, text_part, truncate,
};
pub use metrics::GenAiMetrics;
pub use session::{
    MAX_SESSION_ID_CHARS, SESSION_BAGGAGE_KEY, SessionSpanProcessor, caller_session, with_session,
};
pub use span::{ErrorType, GenAiSpan, strings};
