//! The GenAI client metrics of one operation: `gen_ai.client.operation.duration` and, when it
//! succeeds, `gen_ai.client.token.usage` (input and output), with only the low-cardinality
//! attributes the conventions list — never content, ids or session.
//!
//! ```ignore
//! let metrics = GenAiMetrics::start(operation::CHAT, "openai", "gpt-4o-mini");
//! let completion = metrics.finish(call().await, |c| (c.model.as_str(), c.usage))?;
//! ```

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;

use super::span::ErrorType;
use crate::{metrics::instruments, semconv};

/// Times one operation from [`GenAiMetrics::start`] to [`GenAiMetrics::finish`].
#[derive(Debug)]
#[must_use = "call finish() with the operation's result"]
pub struct GenAiMetrics {
    started: Instant,
    attributes: Vec<KeyValue>,
    /// When the last chunk of a streamed response arrived.
    last_chunk: Option<Instant>,
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
            last_chunk: None,
        }
    }

    /// A chunk of a streamed response arrived: the first records
    /// `gen_ai.client.operation.time_to_first_chunk` and returns it (for the span's
    /// `gen_ai.response.time_to_first_chunk`), each later one
    /// `gen_ai.client.operation.time_per_output_chunk` (the time since the previous one). Only
    /// streamed calls call it, so only they report these two metrics, as the conventions say.
    pub fn chunk(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let instruments = instruments();
        match self.last_chunk.replace(now) {
            None => {
                let first = now - self.started;
                instruments
                    .genai_time_to_first_chunk
                    .record(first.as_secs_f64(), &self.attributes);
                Some(first)
            }
            Some(previous) => {
                instruments
                    .genai_time_per_output_chunk
                    .record((now - previous).as_secs_f64(), &self.attributes);
                None
            }
        }
    }

    /// Records the duration (with `error.type` on failure) and, on success, the token usage
    /// that `usage` reads from the result: `(response model, Some((input, output)))`, or `None`
    /// when the provider did not say (a stream cut before its usage chunk: no count, not zero).
    /// Returns `result` unchanged.
    pub fn finish<T, E: ErrorType>(
        mut self,
        result: Result<T, E>,
        usage: impl FnOnce(&T) -> (&str, Option<(i64, i64)>),
    ) -> Result<T, E> {
        let seconds = self.started.elapsed().as_secs_f64();
        let instruments = instruments();
        match &result {
            Ok(value) => {
                let (response_model, tokens) = usage(value);
                self.attributes.push(KeyValue::new(
                    semconv::GEN_AI_RESPONSE_MODEL,
                    response_model.to_owned(),
                ));
                instruments.genai_duration.record(seconds, &self.attributes);
                let Some((input, output)) = tokens else {
                    return result;
                };
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
