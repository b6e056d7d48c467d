//! One agent turn: ask the model, run the tools it asks for, feed the results back, and repeat
//! until it answers — all inside one `invoke_agent {name}` span.

use serde_json::json;
use service_kit::sse::Relay;
use telemetry::{
    genai::{ErrorType, GenAiSpan, output_message, text_message},
    semconv::{self, operation},
};
use tokio::sync::Semaphore;

use crate::{
    conversation::{Message, system_instructions_json},
    llm::{Completion, Llm, LlmError, StreamDeadlines},
    tools::{self, Tool},
};

/// `gen_ai.agent.name`.
const AGENT_NAME: &str = "restaurant-assistant";

const SYSTEM_PROMPT: &str = "You are a helpful restaurant assistant. Use web_search to find \
places and check_availability before promising a table. Answer in one or two sentences.";

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the model kept asking for tools after {0} rounds")]
    TooManyToolRounds(usize),
}

impl ErrorType for AgentError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::Llm(error) => error.error_type(),
            Self::TooManyToolRounds(_) => "agent_tool_round_limit",
        }
    }
}

/// The agent: a model, the tools it may call, how many rounds of tool calls one turn may take
/// before it fails, and how many model calls may be in flight in this process at once.
#[derive(Debug)]
pub(crate) struct Agent {
    llm: Llm,
    tools: Vec<Tool>,
    max_tool_rounds: usize,
    model_calls: Semaphore,
    /// A streamed call's deadlines; `total` (`LLM_TIMEOUT_MS`) is also the longest a call waits
    /// for its turn: then it fails as a timeout.
    deadlines: StreamDeadlines,
}

impl Agent {
    pub(crate) fn new(
        llm: Llm,
        max_tool_rounds: usize,
        max_concurrent_calls: usize,
        deadlines: StreamDeadlines,
    ) -> Self {
        Self {
            llm,
            tools: tools::all(),
            max_tool_rounds,
            model_calls: Semaphore::new(max_concurrent_calls),
            deadlines,
        }
    }

    /// One model call, once a slot is free: callers past the limit wait (bounded), so a flood
    /// of requests queues here instead of multiplying the bill. A free slot is taken at once,
    /// with no timer: the common case costs next to nothing. With a `relay` the call streams,
    /// its text going to the caller as it comes.
    async fn chat(
        &self,
        messages: &[Message],
        relay: Option<&Relay>,
    ) -> Result<Completion, LlmError> {
        let wait = self.deadlines.total;
        let _slot = match self.model_calls.try_acquire() {
            Ok(slot) => slot,
            Err(_) => tokio::time::timeout(wait, self.model_calls.acquire())
                .await
                .map_err(|_| LlmError::Timeout(wait))?
                .expect("the semaphore is never closed"),
        };
        match relay {
            None => self.llm.chat(messages, &self.tools).await,
            Some(relay) => {
                self.llm
                    .chat_stream(messages, &self.tools, self.deadlines, relay)
                    .await
            }
        }
    }

    /// Runs one turn and returns the model's final answer; with a `relay`, every model call
    /// streams and its text is relayed as it is produced. The session (its `session.id` and
    /// `gen_ai.conversation.id`) comes from the caller's `with_session`, through baggage.
    pub(crate) async fn run(
        &self,
        message: &str,
        relay: Option<&Relay>,
    ) -> Result<String, AgentError> {
        let span = GenAiSpan::internal(operation::INVOKE_AGENT, AGENT_NAME)
            .with(semconv::GEN_AI_PROVIDER_NAME, self.llm.provider())
            .with(semconv::GEN_AI_AGENT_NAME, AGENT_NAME)
            .with(semconv::GEN_AI_REQUEST_MODEL, self.llm.model().to_owned());
        let conversation = vec![
            Message::System(SYSTEM_PROMPT.to_owned()),
            Message::User(message.to_owned()),
        ];
        span.content(|| {
            vec![
                (
                    semconv::GEN_AI_INPUT_MESSAGES,
                    json!([text_message("user", message)]).to_string(),
                ),
                (
                    semconv::GEN_AI_SYSTEM_INSTRUCTIONS,
                    system_instructions_json(&conversation),
                ),
                (
                    semconv::GEN_AI_TOOL_DEFINITIONS,
                    tools::definitions_json(&self.tools),
                ),
            ]
        });
        let answer = span.run(self.turn(conversation, relay)).await?;
        span.content(|| {
            vec![(
                semconv::GEN_AI_OUTPUT_MESSAGES,
                json!([output_message(&answer, "stop")]).to_string(),
            )]
        });
        Ok(answer)
    }

    async fn turn(
        &self,
        mut messages: Vec<Message>,
        relay: Option<&Relay>,
    ) -> Result<String, AgentError> {
        for round in 0..=self.max_tool_rounds {
            let completion = self.chat(&messages, relay).await?;
            if completion.tool_calls.is_empty() {
                return Ok(completion.content.unwrap_or_default());
            }
            if round == self.max_tool_rounds {
                break;
            }
            let calls = completion.tool_calls;
            messages.push(Message::Assistant {
                content: completion.content,
                tool_calls: calls.clone(),
            });
            for call in calls {
                let result = tools::execute(&self.tools, &call).await;
                messages.push(Message::Tool {
                    call_id: call.id,
                    content: result.to_string(),
                });
            }
        }
        Err(AgentError::TooManyToolRounds(self.max_tool_rounds))
    }
}
