//! The model behind the agent, and the `chat {model}` span around every call to it.
//!
//! [`Llm`] is a switch, not a trait object: the mock (default, deterministic, no keys) and an
//! OpenAI-compatible API through async-openai. Both take the same conversation and tool
//! definitions and return the same [`Completion`], so the agent loop and the span attributes
//! cannot tell them apart — only `gen_ai.provider.name` and the model say which one answered.

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
        ChatCompletionRequestUserMessageContent, ChatCompletionTool, ChatCompletionTools,
        CreateChatCompletionRequest, CreateChatCompletionResponse, FunctionCall, FunctionObject,
    },
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use telemetry::{
    OpenTelemetrySpanExt,
    genai::{MAX_CONTENT_CHARS, record_content, text_part, truncate},
    semconv,
};
use tower::Layer;
use tracing::Instrument;

use crate::{Config, tools::ToolSpec};

/// One message of the conversation, in the shape every chat API shares.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    System(String),
    User(String),
    Assistant {
        content: Option<String>,
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        call_id: String,
        content: String,
    },
}

/// The model asking for a tool to be run.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments object. A model that sends arguments that are not JSON gets them back as
    /// a string, which the tool then rejects as invalid arguments.
    pub arguments: Value,
}

/// What one chat call returned.
#[derive(Debug, Clone)]
pub struct Completion {
    pub id: String,
    pub model: String,
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

/// A failed model call. Messages carry statuses and error codes, never request content or the
/// provider's free text (OpenAI's message for a bad key quotes part of the key).
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
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

impl LlmError {
    pub fn error_type(&self) -> &'static str {
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
pub enum Llm {
    Mock(MockLlm),
    OpenAi(Box<OpenAiLlm>),
}

impl Llm {
    pub fn from_config(config: &Config) -> Self {
        match (&config.openai_api_key, config.use_real_llm) {
            (Some(key), true) => Self::OpenAi(Box::new(OpenAiLlm::new(
                key.expose_secret(),
                &config.openai_base_url,
                &config.openai_model,
                Duration::from_millis(config.llm_timeout_ms),
            ))),
            _ => Self::Mock(MockLlm::new(Duration::from_millis(
                config.mock_llm_latency_ms,
            ))),
        }
    }

    /// `gen_ai.provider.name`: the well-known `openai` for the real path, `mock` for the mock.
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Mock(_) => "mock",
            Self::OpenAi(_) => "openai",
        }
    }

    /// `gen_ai.request.model`.
    pub fn model(&self) -> &str {
        match self {
            Self::Mock(_) => MockLlm::MODEL,
            Self::OpenAi(llm) => &llm.model,
        }
    }

    /// One chat call, in a `chat {model}` span (CLIENT for a remote API, INTERNAL for the
    /// in-process mock) carrying the GenAI attributes.
    pub async fn chat(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
    ) -> Result<Completion, LlmError> {
        // The mock runs in-process: INTERNAL, as the conventions say; a remote API is CLIENT.
        let name = format!("chat {}", self.model());
        let span = match self {
            Self::Mock(_) => tracing::info_span!("chat", otel.name = %name, otel.kind = "internal"),
            Self::OpenAi(_) => tracing::info_span!("chat", otel.name = %name, otel.kind = "client"),
        };
        span.set_attribute(semconv::GEN_AI_OPERATION_NAME, "chat");
        span.set_attribute(semconv::GEN_AI_PROVIDER_NAME, self.provider());
        span.set_attribute(semconv::GEN_AI_REQUEST_MODEL, self.model().to_owned());
        if let Self::OpenAi(llm) = self {
            span.set_attribute(semconv::SERVER_ADDRESS, llm.server_address.clone());
            span.set_attribute(semconv::SERVER_PORT, llm.server_port);
        }
        record_content(&span, || {
            vec![
                (
                    semconv::GEN_AI_INPUT_MESSAGES,
                    input_messages_json(messages),
                ),
                (
                    semconv::GEN_AI_SYSTEM_INSTRUCTIONS,
                    crate::agent::system_instructions(),
                ),
                (
                    semconv::GEN_AI_TOOL_DEFINITIONS,
                    crate::tools::definitions_json(tools),
                ),
            ]
        });
        let result = match self {
            Self::Mock(llm) => llm.chat(messages).instrument(span.clone()).await,
            Self::OpenAi(llm) => llm.chat(messages, tools).instrument(span.clone()).await,
        };
        match &result {
            Ok(completion) => {
                span.set_attribute(semconv::GEN_AI_RESPONSE_ID, completion.id.clone());
                span.set_attribute(semconv::GEN_AI_RESPONSE_MODEL, completion.model.clone());
                span.set_attribute(
                    semconv::GEN_AI_RESPONSE_FINISH_REASONS,
                    telemetry::Value::Array(
                        vec![telemetry::StringValue::from(
                            completion.finish_reason.clone(),
                        )]
                        .into(),
                    ),
                );
                span.set_attribute(semconv::GEN_AI_USAGE_INPUT_TOKENS, completion.input_tokens);
                span.set_attribute(
                    semconv::GEN_AI_USAGE_OUTPUT_TOKENS,
                    completion.output_tokens,
                );
                record_content(&span, || {
                    vec![(
                        semconv::GEN_AI_OUTPUT_MESSAGES,
                        output_messages_json(completion),
                    )]
                });
            }
            Err(error) => telemetry::record_error(&span, error.error_type(), error),
        }
        result
    }
}

/// The conversation (without the system prompt, which has its own attribute) in the GenAI
/// conventions' message shape: roles with `text`, `tool_call` and `tool_call_response` parts.
fn input_messages_json(messages: &[Message]) -> String {
    let messages: Vec<Value> = messages.iter().filter_map(message_json).collect();
    Value::Array(messages).to_string()
}

fn message_json(message: &Message) -> Option<Value> {
    Some(match message {
        Message::System(_) => return None,
        Message::User(text) => json!({ "role": "user", "parts": [text_part(text)] }),
        Message::Assistant {
            content,
            tool_calls,
        } => {
            json!({ "role": "assistant", "parts": assistant_parts(content.as_deref(), tool_calls) })
        }
        Message::Tool { call_id, content } => json!({
            "role": "tool",
            "parts": [{ "type": "tool_call_response", "id": call_id, "response": truncate(content, MAX_CONTENT_CHARS) }]
        }),
    })
}

fn assistant_parts(content: Option<&str>, tool_calls: &[ToolCall]) -> Vec<Value> {
    content
        .filter(|text| !text.is_empty())
        .map(text_part)
        .into_iter()
        .chain(tool_calls.iter().map(|call| {
            json!({ "type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments })
        }))
        .collect()
}

/// The model's reply as `gen_ai.output.messages`. The message's `finish_reason` uses the
/// conventions' values (`tool_call`), the span's `gen_ai.response.finish_reasons` the provider's.
fn output_messages_json(completion: &Completion) -> String {
    let finish_reason = match completion.finish_reason.as_str() {
        "tool_calls" => "tool_call",
        other => other,
    };
    json!([{
        "role": "assistant",
        "parts": assistant_parts(completion.content.as_deref(), &completion.tool_calls),
        "finish_reason": finish_reason,
    }])
    .to_string()
}

/// A deterministic stand-in for a tool-calling model: the first call picks a tool from the
/// words of the user's message, the call after a tool result turns that result into an answer.
#[derive(Debug)]
pub struct MockLlm {
    latency: Duration,
}

impl MockLlm {
    pub const MODEL: &'static str = "mock-llm";

    pub fn new(latency: Duration) -> Self {
        Self { latency }
    }

    async fn chat(&self, messages: &[Message]) -> Result<Completion, LlmError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let input_tokens = messages
            .iter()
            .map(|m| word_count(message_text(m)))
            .sum::<usize>() as i64;
        let (content, tool_calls) = match messages.last() {
            Some(Message::Tool { .. }) => (Some(summarise_tool_results(messages)), vec![]),
            _ => {
                let question = messages
                    .iter()
                    .rev()
                    .find_map(|m| match m {
                        Message::User(text) => Some(text.as_str()),
                        _ => None,
                    })
                    .unwrap_or_default();
                (None, vec![choose_tool(question, messages.len())])
            }
        };
        let output_tokens = match (&content, tool_calls.first()) {
            (Some(text), _) => word_count(text),
            (None, Some(call)) => word_count(&call.arguments.to_string()),
            (None, None) => 0,
        } as i64;
        let finish_reason = if tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        Ok(Completion {
            id: format!("chatcmpl-mock-{}", messages.len()),
            model: Self::MODEL.to_owned(),
            content,
            tool_calls,
            finish_reason: finish_reason.to_owned(),
            input_tokens,
            output_tokens,
        })
    }
}

fn message_text(message: &Message) -> &str {
    match message {
        Message::System(text) | Message::User(text) => text,
        Message::Assistant { content, .. } => content.as_deref().unwrap_or_default(),
        Message::Tool { content, .. } => content,
    }
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Booking words → `check_availability`; anything else → `web_search`.
fn choose_tool(question: &str, position: usize) -> ToolCall {
    let lower = question.to_lowercase();
    let booking = ["book", "reserve", "reservation", "availab", "table for"]
        .iter()
        .any(|word| lower.contains(word));
    let (name, arguments) = if booking {
        let party_size = lower
            .split(|c: char| !c.is_ascii_digit())
            .find_map(|digits| digits.parse::<u32>().ok())
            .unwrap_or(2);
        let date = ["tomorrow", "tonight", "today"]
            .into_iter()
            .find(|day| lower.contains(day))
            .unwrap_or("tonight");
        let restaurant = if lower.contains("sushi") {
            "Sushi Kaito"
        } else {
            "Trattoria Roma"
        };
        (
            "check_availability",
            json!({ "restaurant": restaurant, "date": date, "party_size": party_size }),
        )
    } else {
        ("web_search", json!({ "query": question }))
    };
    ToolCall {
        id: format!("call_mock_{position}"),
        name: name.to_owned(),
        arguments,
    }
}

fn summarise_tool_results(messages: &[Message]) -> String {
    let mut lines = Vec::new();
    for message in messages {
        let Message::Tool { content, .. } = message else {
            continue;
        };
        let result: Value = serde_json::from_str(content).unwrap_or(Value::Null);
        if let Some(results) = result["results"].as_array() {
            let picks: Vec<String> = results
                .iter()
                .filter_map(|r| {
                    Some(format!(
                        "{} ({}★): {}",
                        r["name"].as_str()?,
                        r["rating"],
                        r["snippet"].as_str()?
                    ))
                })
                .collect();
            lines.push(format!("Here are some good options. {}", picks.join(" ")));
        } else if let Some(available) = result["available"].as_bool() {
            let place = result["restaurant"].as_str().unwrap_or("the restaurant");
            let party = &result["party_size"];
            let date = result["date"].as_str().unwrap_or("that date");
            lines.push(if available {
                let times: Vec<&str> = result["times"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!(
                    "{place} has a table for {party} {date} at {}.",
                    times.join(" or ")
                )
            } else {
                format!(
                    "{place} has no table for {party} {date}; try a smaller party or another day."
                )
            });
        } else if let Some(error) = result["error"].as_str() {
            lines.push(format!("I could not complete that: {error}."));
        }
    }
    if lines.is_empty() {
        "I could not find anything useful for that.".to_owned()
    } else {
        lines.join(" ")
    }
}

/// An OpenAI-compatible chat completions API through async-openai.
pub struct OpenAiLlm {
    client: async_openai::Client<OpenAIConfig>,
    timeout: Duration,
    model: String,
    server_address: String,
    server_port: i64,
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
pub const MAX_LLM_RESPONSE_BYTES: usize = 1024 * 1024;

/// Retries after a 429 (waiting out `Retry-After`), a 5xx or a refused connection, done by
/// async-openai's own retry layer; the whole call, waits included, is bounded by the timeout.
const LLM_RETRIES: usize = 2;

impl OpenAiLlm {
    pub fn new(api_key: &str, base_url: &str, model: &str, timeout: Duration) -> Self {
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

    async fn chat(&self, messages: &[Message], tools: &[ToolSpec]) -> Result<Completion, LlmError> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages.iter().map(to_openai_message).collect(),
            tools: Some(tools.iter().map(to_openai_tool).collect()),
            ..Default::default()
        };
        let response = tokio::time::timeout(self.timeout, self.client.chat().create(request))
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(|e| from_openai_error(e, self.timeout))?;
        from_openai_response(response)
    }
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

fn to_openai_tool(tool: &ToolSpec) -> ChatCompletionTools {
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
        .and_then(|reason| serde_json::to_value(reason).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let usage = response.usage.unwrap_or_default();
    Ok(Completion {
        id: response.id,
        model: response.model,
        content: choice.message.content,
        tool_calls,
        finish_reason,
        input_tokens: i64::from(usage.prompt_tokens),
        output_tokens: i64::from(usage.completion_tokens),
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
            let code = provider_code(api.api_error.code.or(api.api_error.r#type));
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
        // Other variants may format request details: keep the kind only.
        OpenAIError::StreamError(_) => LlmError::Malformed("stream error".to_owned()),
        OpenAIError::InvalidArgument(_) => {
            LlmError::Malformed("invalid request argument".to_owned())
        }
        _ => LlmError::Malformed("unexpected client error".to_owned()),
    }
}

/// The provider's error code, kept only if it looks like one (`invalid_api_key`,
/// `rate_limit_exceeded`): it is the provider's text, and it reaches our logs and error bodies,
/// where a newline or markup in it could forge a line.
fn provider_code(code: Option<String>) -> String {
    match code {
        Some(code)
            if !code.is_empty()
                && code.len() <= 64
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) =>
        {
            code
        }
        Some(_) => "unrecognised_code".to_owned(),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_codes_are_kept_only_when_they_look_like_codes() {
        assert_eq!(
            provider_code(Some("invalid_api_key".into())),
            "invalid_api_key"
        );
        assert_eq!(provider_code(None), "unknown");
        for forged in ["x\nERROR forged line", "<b>", "", &"a".repeat(65)] {
            assert_eq!(provider_code(Some(forged.to_owned())), "unrecognised_code");
        }
    }

    #[tokio::test]
    async fn mock_calls_a_tool_then_answers_from_its_result() {
        let llm = MockLlm::new(Duration::ZERO);
        let mut messages = vec![Message::User("Find me a good restaurant".into())];
        let first = llm.chat(&messages).await.unwrap();
        assert_eq!(first.finish_reason, "tool_calls");
        assert_eq!(first.tool_calls[0].name, "web_search");

        messages.push(Message::Assistant {
            content: None,
            tool_calls: first.tool_calls.clone(),
        });
        messages.push(Message::Tool {
            call_id: first.tool_calls[0].id.clone(),
            content:
                json!({"results": [{"name": "Trattoria Roma", "rating": 4.7, "snippet": "pasta"}]})
                    .to_string(),
        });
        let second = llm.chat(&messages).await.unwrap();
        assert_eq!(second.finish_reason, "stop");
        assert!(second.content.unwrap().contains("Trattoria Roma"));
        assert!(second.input_tokens > first.input_tokens);
    }

    #[test]
    fn booking_questions_check_availability_with_parsed_arguments() {
        let call = choose_tool("Can you book a table for 4 tomorrow at the sushi place?", 1);
        assert_eq!(call.name, "check_availability");
        assert_eq!(
            call.arguments,
            json!({"restaurant": "Sushi Kaito", "date": "tomorrow", "party_size": 4})
        );
    }
}
