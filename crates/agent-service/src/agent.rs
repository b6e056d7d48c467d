//! One agent turn: ask the model, run the tools it asks for, feed the results back, and repeat
//! until it answers — all inside one `invoke_agent {name}` span.

use serde_json::json;
use telemetry::{
    OpenTelemetrySpanExt,
    genai::{output_message, record_content, text_message, text_part},
    semconv,
};
use tracing::Instrument;

use crate::{
    llm::{LlmError, Message},
    tools::{self, ToolSpec},
};

/// `gen_ai.agent.name`.
pub const AGENT_NAME: &str = "restaurant-assistant";

const SYSTEM_PROMPT: &str = "You are a helpful restaurant assistant. Use web_search to find \
places and check_availability before promising a table. Answer in one or two sentences.";

/// `gen_ai.system_instructions`: the system prompt as a list of parts.
pub(crate) fn system_instructions() -> String {
    json!([text_part(SYSTEM_PROMPT)]).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the model kept asking for tools after {0} rounds")]
    TooManyToolRounds(usize),
}

impl AgentError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Llm(error) => error.error_type(),
            Self::TooManyToolRounds(_) => "agent_tool_round_limit",
        }
    }
}

#[derive(Debug)]
pub struct Agent {
    llm: crate::llm::Llm,
    tools: Vec<ToolSpec>,
    max_tool_rounds: usize,
}

impl Agent {
    pub fn new(llm: crate::llm::Llm, max_tool_rounds: usize) -> Self {
        Self {
            llm,
            tools: tools::definitions(),
            max_tool_rounds,
        }
    }

    /// Runs one turn and returns the model's final answer.
    pub async fn run(&self, message: &str) -> Result<String, AgentError> {
        let span = tracing::info_span!(
            "invoke_agent",
            otel.name = %format!("invoke_agent {AGENT_NAME}"),
            otel.kind = "internal",
        );
        span.set_attribute(semconv::GEN_AI_OPERATION_NAME, "invoke_agent");
        span.set_attribute(semconv::GEN_AI_PROVIDER_NAME, self.llm.provider());
        span.set_attribute(semconv::GEN_AI_AGENT_NAME, AGENT_NAME);
        span.set_attribute(semconv::GEN_AI_REQUEST_MODEL, self.llm.model().to_owned());
        record_content(&span, || {
            vec![
                (
                    semconv::GEN_AI_INPUT_MESSAGES,
                    json!([text_message("user", message)]).to_string(),
                ),
                (semconv::GEN_AI_SYSTEM_INSTRUCTIONS, system_instructions()),
                (
                    semconv::GEN_AI_TOOL_DEFINITIONS,
                    tools::definitions_json(&self.tools),
                ),
            ]
        });
        let result = self.turn(message).instrument(span.clone()).await;
        match &result {
            Ok(answer) => record_content(&span, || {
                vec![(
                    semconv::GEN_AI_OUTPUT_MESSAGES,
                    json!([output_message(answer, "stop")]).to_string(),
                )]
            }),
            Err(error) => telemetry::record_error(&span, error.error_type(), error),
        }
        result
    }

    async fn turn(&self, message: &str) -> Result<String, AgentError> {
        let mut messages = vec![
            Message::System(SYSTEM_PROMPT.to_owned()),
            Message::User(message.to_owned()),
        ];
        for round in 0..=self.max_tool_rounds {
            let completion = self.llm.chat(&messages, &self.tools).await?;
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
                let result = tools::execute(&call).await;
                messages.push(Message::Tool {
                    call_id: call.id,
                    content: result.to_string(),
                });
            }
        }
        Err(AgentError::TooManyToolRounds(self.max_tool_rounds))
    }
}
