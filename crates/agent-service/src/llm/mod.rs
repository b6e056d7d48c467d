//! The model behind the agent, and the `chat {model}` span around every call to it.
//!
//! [`Llm`] is a switch, not a trait object: the mock (`mock.rs`: default, deterministic, no
//! keys) and an OpenAI-compatible API through async-openai (`openai.rs`). Both take the same
//! conversation and tools and return the same [`Completion`], so the agent loop and the span
//! attributes cannot tell them apart — only `gen_ai.provider.name` and the model say which
//! one answered.

mod mock;
mod openai;

use std::time::Duration;

use secrecy::ExposeSecret;
use telemetry::{
    genai::{ErrorType, GenAiMetrics, GenAiSpan, strings},
    semconv::{self, operation},
};

use crate::{
    Config,
    conversation::{
        Message, ToolCall, input_messages_json, output_messages_json, system_instructions_json,
    },
    tools::{Tool, definitions_json},
};
use mock::MockLlm;
use openai::OpenAiLlm;

/// What one chat call returned.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) content: Option<String>,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) finish_reason: String,
    pub(crate) input_tokens: i64,
    pub(crate) output_tokens: i64,
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
            _ => Self::Mock(MockLlm::new(Duration::from_millis(
                config.mock_llm_latency_ms,
            ))),
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
        let metrics = GenAiMetrics::start(operation::CHAT, self.provider(), self.model());
        let result = match self {
            Self::Mock(llm) => span.run(llm.chat(messages, tools)).await,
            Self::OpenAi(llm) => span.run(llm.chat(messages, tools)).await,
        };
        let completion = metrics.finish(result, |c| {
            (c.model.as_str(), c.input_tokens, c.output_tokens)
        })?;
        span.record(semconv::GEN_AI_RESPONSE_ID, completion.id.clone());
        span.record(semconv::GEN_AI_RESPONSE_MODEL, completion.model.clone());
        span.record(
            semconv::GEN_AI_RESPONSE_FINISH_REASONS,
            strings([completion.finish_reason.clone()]),
        );
        span.record(semconv::GEN_AI_USAGE_INPUT_TOKENS, completion.input_tokens);
        span.record(
            semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
            completion.output_tokens,
        );
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
        Ok(completion)
    }
}
