//! The model behind the agent, and the `chat {model}` span around every call to it.
//!
//! [`Llm`] is a switch, not a trait object: the mock (`mock.rs`: default, deterministic, no
//! keys) and an OpenAI-compatible API through async-openai (`openai.rs`). Both take the same
//! conversation and tools and return the same [`Completion`], so the agent loop and the span
//! attributes cannot tell them apart — only `gen_ai.provider.name` and the model say which
//! one answered. Either can stream ([`Llm::chat_stream`]): the same call, its text relayed to
//! the caller as it arrives, its span open until the last chunk.

mod mock;
mod openai;
mod stream;

use std::time::Duration;

use futures::StreamExt;
use secrecy::ExposeSecret;
use service_kit::sse::Relay;
use telemetry::{
    genai::{ErrorType, GenAiMetrics, GenAiSpan, strings},
    semconv::{self, operation},
};
use tokio::time::Instant;

use crate::{
    Config,
    conversation::{
        Message, ToolCall, input_messages_json, output_messages_json, system_instructions_json,
    },
    tools::{Tool, definitions_json},
};
use mock::MockLlm;
use openai::OpenAiLlm;
use stream::Assembler;

/// The most text and tool-call arguments one streamed reply may carry (`LLM_MAX_TOKENS` at 1024
/// is about 4 KiB); past it the stream is cut with `llm_response_too_large`. The wire itself is
/// capped at 1 MiB (`openai.rs`), which a chunk-per-token stream reaches first only with far more
/// chunks than any real reply has.
const MAX_STREAMED_REPLY_BYTES: usize = 64 * 1024;

/// How long a streamed call may take: between two chunks, and in all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamDeadlines {
    /// `LLM_STREAM_IDLE_TIMEOUT_MS`: a model that stalls mid-stream is cut after this.
    pub(crate) idle: Duration,
    /// `LLM_TIMEOUT_MS`: the whole call, as for a call that does not stream.
    pub(crate) total: Duration,
}

/// What one chat call returned.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) content: Option<String>,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) finish_reason: String,
    /// `(input, output)` tokens; `None` when the provider did not say.
    pub(crate) usage: Option<(i64, i64)>,
}

/// A failed model call. Messages carry statuses and error codes, never request content or the
/// provider's free text (OpenAI's message for a bad key quotes part of the key).
#[derive(Debug, thiserror::Error)]
pub(crate) enum LlmError {
    #[error("the model API did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the model API is unreachable")]
    Unreachable,
    #[error("the model API rejected our credentials: HTTP {status} ({code})")]
    Unauthorized { status: u16, code: String },
    #[error("the model API is rate limiting us: HTTP 429 ({code}), still after retries")]
    RateLimited { code: String },
    #[error("the model API failed: HTTP {status} ({code})")]
    Api { status: u16, code: String },
    #[error("the model API sent a response we cannot read: {0}")]
    Malformed(String),
    #[error("the model API's response is larger than {} KiB", .0 / 1024)]
    TooLarge(usize),
    #[error("the model API's stream ended before its final chunk")]
    Truncated,
}

impl ErrorType for LlmError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Unreachable => "llm_unreachable",
            Self::Unauthorized { .. } => "llm_unauthorized",
            Self::RateLimited { .. } => "llm_rate_limited",
            Self::Api { status, .. } if *status >= 500 => "llm_server_error",
            Self::Api { .. } => "llm_api_error",
            Self::Malformed(_) => "llm_malformed_response",
            Self::TooLarge(_) => "llm_response_too_large",
            Self::Truncated => "llm_stream_truncated",
        }
    }
}

#[derive(Debug)]
pub(crate) enum Llm {
    Mock(MockLlm),
    OpenAi(Box<OpenAiLlm>),
}

impl Llm {
    pub(crate) fn from_config(config: &Config) -> Self {
        match (&config.openai_api_key, config.use_real_llm) {
            (Some(key), true) => Self::OpenAi(Box::new(OpenAiLlm::new(
                key.expose_secret(),
                &config.openai_base_url,
                &config.openai_model,
                Duration::from_millis(config.llm_timeout_ms),
                config.llm_max_tokens,
            ))),
            _ => Self::Mock(MockLlm::new(
                Duration::from_millis(config.mock_llm_latency_ms),
                Duration::from_millis(config.mock_llm_chunk_delay_ms),
            )),
        }
    }

    /// `gen_ai.provider.name`: the well-known `openai` for the real path, `mock` for the mock.
    pub(crate) fn provider(&self) -> &'static str {
        match self {
            Self::Mock(_) => "mock",
            Self::OpenAi(_) => "openai",
        }
    }

    /// `gen_ai.request.model`.
    pub(crate) fn model(&self) -> &str {
        match self {
            Self::Mock(_) => MockLlm::MODEL,
            Self::OpenAi(llm) => &llm.model,
        }
    }

    /// One chat call, in a `chat {model}` span (CLIENT for a remote API, INTERNAL for the
    /// in-process mock, as the conventions say) carrying the GenAI attributes.
    pub(crate) async fn chat(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<Completion, LlmError> {
        let span = self.chat_span(messages, tools);
        let metrics = GenAiMetrics::start(operation::CHAT, self.provider(), self.model());
        let result = match self {
            Self::Mock(llm) => span.run(llm.chat(messages, tools)).await,
            Self::OpenAi(llm) => span.run(llm.chat(messages, tools)).await,
        };
        let completion = metrics.finish(result, |c| (c.model.as_str(), c.usage))?;
        record_completion(&span, &completion);
        Ok(completion)
    }

    /// The same call, streamed: each piece of text goes to `relay` as it arrives, and the span
    /// stays open until the last chunk, with `gen_ai.request.stream`, the time to the first
    /// chunk, and what the final chunks said (finish reason, usage). A stream cut before its
    /// finish reason — by the model, a deadline, the size cap, or the caller hanging up (this
    /// future dropped mid-`await`) — leaves finish reason `error`.
    pub(crate) async fn chat_stream(
        &self,
        messages: &[Message],
        tools: &[Tool],
        deadlines: StreamDeadlines,
        relay: &Relay,
    ) -> Result<Completion, LlmError> {
        let span = self
            .chat_span(messages, tools)
            .with(semconv::GEN_AI_REQUEST_STREAM, true);
        let stream_end = span.stream_end();
        let mut metrics = GenAiMetrics::start(operation::CHAT, self.provider(), self.model());
        let read = async {
            let started = Instant::now();
            let mut chunks = match self {
                Self::Mock(llm) => llm.chat_stream(messages, tools),
                Self::OpenAi(llm) => llm.chat_stream(messages, tools).await?,
            };
            let mut reply = Assembler::new(MAX_STREAMED_REPLY_BYTES);
            let end = started + deadlines.total;
            loop {
                let idle_end = Instant::now() + deadlines.idle;
                let (due, limit) = if idle_end < end {
                    (idle_end, deadlines.idle)
                } else {
                    (end, deadlines.total)
                };
                let next = tokio::time::timeout_at(due, chunks.next()).await;
                let Some(chunk) = next.map_err(|_| LlmError::Timeout(limit))? else {
                    break;
                };
                let chunk = chunk?;
                if let Some(first) = metrics.chunk() {
                    span.record(
                        semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                        first.as_secs_f64(),
                    );
                }
                if let Some(text) = reply.push(chunk)? {
                    relay.text(&text).await;
                }
            }
            reply.finish()
        };
        let result = span.run(read).await;
        let completion = metrics.finish(result, |c| (c.model.as_str(), c.usage))?;
        record_completion(&span, &completion);
        stream_end.finished();
        Ok(completion)
    }

    /// The `chat {model}` span, with the request's attributes and (behind the capture switch)
    /// its messages.
    fn chat_span(&self, messages: &[Message], tools: &[Tool]) -> GenAiSpan {
        let span = match self {
            Self::Mock(_) => GenAiSpan::internal(operation::CHAT, self.model()),
            Self::OpenAi(llm) => GenAiSpan::client(operation::CHAT, self.model())
                .with(semconv::SERVER_ADDRESS, llm.server_address.clone())
                .with(semconv::SERVER_PORT, llm.server_port)
                .with(
                    semconv::GEN_AI_REQUEST_MAX_TOKENS,
                    i64::from(llm.max_tokens),
                ),
        }
        .with(semconv::GEN_AI_PROVIDER_NAME, self.provider())
        .with(semconv::GEN_AI_REQUEST_MODEL, self.model().to_owned());
        span.content(|| {
            vec![
                (
                    semconv::GEN_AI_INPUT_MESSAGES,
                    input_messages_json(messages),
                ),
                (
                    semconv::GEN_AI_SYSTEM_INSTRUCTIONS,
                    system_instructions_json(messages),
                ),
                (semconv::GEN_AI_TOOL_DEFINITIONS, definitions_json(tools)),
            ]
        });
        span
    }
}

/// What the model answered, on its span — the same for a streamed call (its reassembled reply)
/// as for one that was not.
fn record_completion(span: &GenAiSpan, completion: &Completion) {
    span.record(semconv::GEN_AI_RESPONSE_ID, completion.id.clone());
    span.record(semconv::GEN_AI_RESPONSE_MODEL, completion.model.clone());
    span.record(
        semconv::GEN_AI_RESPONSE_FINISH_REASONS,
        strings([completion.finish_reason.clone()]),
    );
    if let Some((input, output)) = completion.usage {
        span.record(semconv::GEN_AI_USAGE_INPUT_TOKENS, input);
        span.record(semconv::GEN_AI_USAGE_OUTPUT_TOKENS, output);
    }
    span.content(|| {
        vec![(
            semconv::GEN_AI_OUTPUT_MESSAGES,
            output_messages_json(
                completion.content.as_deref(),
                &completion.tool_calls,
                &completion.finish_reason,
            ),
        )]
    });
}
