//! An OpenAI-compatible chat completions API through async-openai: our conversation and tools
//! in, a [`Completion`] out. Provider text stays out of everything we log or return: errors
//! keep statuses and codes only.

use std::time::Duration;

use async_openai::{
    config::OpenAIConfig,
    middleware::{ReqwestService, retry::OpenAIRetryLayer},
    types::chat::{
        ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
        ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
        ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
        ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
        ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
        ChatCompletionRequestUserMessageContent, ChatCompletionStreamOptions, ChatCompletionTool,
        ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionResponse,
        CreateChatCompletionStreamResponse, FunctionCall, FunctionObject,
    },
};
use futures::StreamExt;
use serde_json::Value;
use service_kit::error::upstream_code;
use tower::Layer;

use super::{
    Completion, LlmError,
    stream::{Chunk, Chunks, ToolCallDelta},
};
use crate::{
    conversation::{Message, ToolCall},
    tools::Tool,
};

/// An OpenAI-compatible chat completions API through async-openai.
pub(crate) struct OpenAiLlm {
    client: async_openai::Client<OpenAIConfig>,
    timeout: Duration,
    /// `max_completion_tokens` of every request (`LLM_MAX_TOKENS`).
    pub(super) max_tokens: u32,
    pub(super) model: String,
    pub(super) server_address: String,
    pub(super) server_port: i64,
}

impl std::fmt::Debug for OpenAiLlm {
    // Hand-written so the client's config (which holds the key) is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiLlm")
            .field("model", &self.model)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}

/// Model responses above this are refused (502 `llm_response_too_large`): a long completion is
/// tens of KiB, and a huge or endless body must not grow the agent's memory or reach the caller.
pub(crate) const MAX_LLM_RESPONSE_BYTES: usize = 1024 * 1024;

/// Retries after a 429 (waiting out `Retry-After`), a 5xx or a refused connection, done by
/// async-openai's own retry layer; the whole call, waits included, is bounded by the timeout.
const LLM_RETRIES: usize = 2;

impl OpenAiLlm {
    pub(crate) fn new(
        api_key: &str,
        base_url: &str,
        model: &str,
        timeout: Duration,
        max_tokens: u32,
    ) -> Self {
        let config = OpenAIConfig::new()
            .with_api_key(api_key)
            .with_api_base(base_url);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A redirect would re-send the key and the conversation elsewhere: an error instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a default reqwest client builds");
        let service = OpenAIRetryLayer::new(LLM_RETRIES).layer(
            tower::ServiceBuilder::new()
                .map_response(|response| {
                    service_kit::upstream::limit_body(response, MAX_LLM_RESPONSE_BYTES)
                })
                .service(ReqwestService::new(http)),
        );
        let url = reqwest::Url::parse(base_url).ok();
        Self {
            client: async_openai::Client::with_config(config).with_http_service(service),
            timeout,
            max_tokens,
            model: model.to_owned(),
            server_address: url
                .as_ref()
                .and_then(|u| u.host_str())
                .unwrap_or_default()
                .to_owned(),
            server_port: url
                .and_then(|u| u.port_or_known_default())
                .map_or(0, i64::from),
        }
    }

    fn request(&self, messages: &[Message], tools: &[Tool]) -> CreateChatCompletionRequest {
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages.iter().map(to_openai_message).collect(),
            tools: Some(tools.iter().map(to_openai_tool).collect()),
            // One call can never cost more than this many output tokens.
            max_completion_tokens: Some(self.max_tokens),
            ..Default::default()
        }
    }

    pub(super) async fn chat(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<Completion, LlmError> {
        let request = self.request(messages, tools);
        let response = tokio::time::timeout(self.timeout, self.client.chat().create(request))
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(|e| from_openai_error(e, self.timeout))?;
        from_openai_response(response)
    }
}

impl OpenAiLlm {
    /// The streamed call: the response's headers within the timeout, then its chunks (the
    /// caller bounds the time between them and in all). `include_usage` asks for the final
    /// usage chunk, which a stream cut early never delivers.
    pub(super) async fn chat_stream(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<Chunks, LlmError> {
        let request = CreateChatCompletionRequest {
            stream_options: Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            }),
            ..self.request(messages, tools)
        };
        let stream = tokio::time::timeout(self.timeout, self.client.chat().create_stream(request))
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(|e| from_openai_error(e, self.timeout))?;
        let timeout = self.timeout;
        Ok(stream
            .map(move |chunk| {
                chunk
                    .map(from_openai_chunk)
                    .map_err(|e| from_openai_error(e, timeout))
            })
            .boxed())
    }
}

fn from_openai_chunk(chunk: CreateChatCompletionStreamResponse) -> Chunk {
    let choice = chunk.choices.into_iter().next();
    let (text, tool_calls, finish_reason) = match choice {
        None => (None, vec![], None),
        Some(choice) => (
            choice.delta.content,
            choice
                .delta
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .map(|call| {
                    let function = call.function.unwrap_or_default();
                    ToolCallDelta {
                        index: call.index,
                        id: call.id,
                        name: function.name,
                        arguments: function.arguments.unwrap_or_default(),
                    }
                })
                .collect(),
            choice.finish_reason.map(finish_reason_str),
        ),
    };
    Chunk {
        id: Some(chunk.id),
        model: Some(chunk.model),
        text,
        tool_calls,
        finish_reason,
        usage: chunk.usage.map(|usage| {
            (
                i64::from(usage.prompt_tokens),
                i64::from(usage.completion_tokens),
            )
        }),
    }
}

/// The provider's finish reason as it spells it (`stop`, `tool_calls`, `length`, …).
fn finish_reason_str(reason: async_openai::types::chat::FinishReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn to_openai_message(message: &Message) -> ChatCompletionRequestMessage {
    match message {
        Message::System(text) => {
            ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(text.clone()),
                name: None,
            })
        }
        Message::User(text) => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(text.clone()),
                name: None,
            })
        }
        Message::Assistant {
            content,
            tool_calls,
        } => ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
            content: content
                .clone()
                .map(ChatCompletionRequestAssistantMessageContent::Text),
            tool_calls: (!tool_calls.is_empty()).then(|| {
                tool_calls
                    .iter()
                    .map(|call| {
                        ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                            id: call.id.clone(),
                            function: FunctionCall {
                                name: call.name.clone(),
                                arguments: call.arguments.to_string(),
                            },
                        })
                    })
                    .collect()
            }),
            ..Default::default()
        }),
        Message::Tool { call_id, content } => {
            ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
                tool_call_id: call_id.clone(),
            })
        }
    }
}

fn to_openai_tool(tool: &Tool) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: tool.name.to_owned(),
            description: Some(tool.description.to_owned()),
            parameters: Some(tool.parameters.clone()),
            strict: None,
        },
    })
}

fn from_openai_response(response: CreateChatCompletionResponse) -> Result<Completion, LlmError> {
    let choice = response
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::Malformed("no choices".to_owned()))?;
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .filter_map(|call| match call {
            ChatCompletionMessageToolCalls::Function(call) => Some(ToolCall {
                id: call.id,
                name: call.function.name,
                arguments: serde_json::from_str(&call.function.arguments)
                    .unwrap_or(Value::String(call.function.arguments)),
            }),
            ChatCompletionMessageToolCalls::Custom(_) => None,
        })
        .collect();
    let finish_reason = choice
        .finish_reason
        .map_or_else(|| "unknown".to_owned(), finish_reason_str);
    Ok(Completion {
        id: response.id,
        model: response.model,
        content: choice.message.content,
        tool_calls,
        finish_reason,
        usage: response.usage.map(|usage| {
            (
                i64::from(usage.prompt_tokens),
                i64::from(usage.completion_tokens),
            )
        }),
    })
}

/// Maps async-openai's error to ours. An API error keeps only its status and machine-readable
/// code: OpenAI's free-text message for a bad key quotes part of the key back.
fn from_openai_error(error: async_openai::error::OpenAIError, timeout: Duration) -> LlmError {
    use async_openai::error::OpenAIError;
    match error {
        OpenAIError::Reqwest(e) if service_kit::upstream::is_too_large(&e) => {
            LlmError::TooLarge(MAX_LLM_RESPONSE_BYTES)
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => LlmError::Timeout(timeout),
        OpenAIError::Reqwest(e) => match e.status() {
            Some(status) => LlmError::Api {
                status: status.as_u16(),
                code: "http_error".to_owned(),
            },
            None => LlmError::Unreachable,
        },
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let code = upstream_code(api.api_error.code.or(api.api_error.r#type));
            match status {
                401 | 403 => LlmError::Unauthorized { status, code },
                429 => LlmError::RateLimited { code },
                _ => LlmError::Api { status, code },
            }
        }
        // serde's message can quote the offending value; keep only where the body broke.
        OpenAIError::JSONDeserialize(e, _) => LlmError::Malformed(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        )),
        // The stream broke off (the connection closed mid-event, or the wire-size cap cut it).
        OpenAIError::StreamError(_) => LlmError::Truncated,
        OpenAIError::InvalidArgument(_) => {
            LlmError::Malformed("invalid request argument".to_owned())
        }
        _ => LlmError::Malformed("unexpected client error".to_owned()),
    }
}
