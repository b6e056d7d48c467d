//! The GenAI client metrics of one operation: `gen_ai.client.operation.duration` and, when it
//! succeeds, `gen_ai.client.token.usage` (input and output), with only the low-cardinality
//! attributes the conventions list — never content, ids or session.
//!
//! ```ignore
//! let metrics = GenAiMetrics::start(operation::CHAT, "openai", "gpt-4o-mini");
//! let completion = metrics.finish(call().await, |c| (c.model.as_str(), c.input_tokens, c.output_tokens))?;
//! ```

use std::time::Instant;

use opentelemetry::KeyValue;

use super::span::ErrorType;
use crate::{metrics::instruments, semconv};

/// Times one operation from [`GenAiMetrics::start`] to [`GenAiMetrics::finish`].
#[derive(Debug)]
#[must_use = "call finish() with the operation's result"]
pub struct GenAiMetrics {
    started: Instant,
    attributes: Vec<KeyValue>,
}

impl GenAiMetrics {
    /// Starts timing `operation` against `provider`'s `request_model`.
    pub fn start(operation: &'static str, provider: &'static str, request_model: &str) -> Self {
        Self {
            started: Instant::now(),
            attributes: vec![
                KeyValue::new(semconv::GEN_AI_OPERATION_NAME, operation),
                KeyValue::new(semconv::GEN_AI_PROVIDER_NAME, provider),
                KeyValue::new(semconv::GEN_AI_REQUEST_MODEL, request_model.to_owned()),
            ],
        }
    }

    /// Records the duration (with `error.type` on failure) and, on success, the token usage
    /// that `usage` reads from the result: `(response model, input tokens, output tokens)`.
    /// Returns `result` unchanged.
    pub fn finish<T, E: ErrorType>(
        mut self,
        result: Result<T, E>,
        usage: impl FnOnce(&T) -> (&str, i64, i64),
    ) -> Result<T, E> {
        let seconds = self.started.elapsed().as_secs_f64();
        let instruments = instruments();
        match &result {
            Ok(value) => {
                let (response_model, input, output) = usage(value);
                self.attributes.push(KeyValue::new(
                    semconv::GEN_AI_RESPONSE_MODEL,
                    response_model.to_owned(),
                ));
                instruments.genai_duration.record(seconds, &self.attributes);
                for (token_type, count) in [("input", input), ("output", output)] {
                    let mut attributes = self.attributes.clone();
                    attributes.push(KeyValue::new(semconv::GEN_AI_TOKEN_TYPE, token_type));
                    instruments
                        .genai_tokens
                        .record(count.max(0) as u64, &attributes);
                }
            }
            Err(error) => {
                self.attributes
                    .push(KeyValue::new(semconv::ERROR_TYPE, error.error_type()));
                instruments.genai_duration.record(seconds, &self.attributes);
            }
        }
        result
    }
}
