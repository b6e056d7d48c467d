//! The conversation of one agent turn, in the shape every chat API shares, and how it is written
//! to spans (the GenAI conventions' message JSON: roles with `text`, `tool_call` and
//! `tool_call_response` parts). Depends on nothing else in the crate.

use serde_json::{Value, json};
use telemetry::genai::{MAX_CONTENT_CHARS, text_part, truncate};

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
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
pub(crate) struct ToolCall {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The arguments object. A model that sends arguments that are not JSON gets them back as
    /// a string, which the tool then rejects as invalid arguments.
    pub(crate) arguments: Value,
}

impl Message {
    /// The message's text, for token counts (empty for a bare tool call).
    pub(crate) fn text(&self) -> &str {
        match self {
            Self::System(text) | Self::User(text) => text,
            Self::Assistant { content, .. } => content.as_deref().unwrap_or_default(),
            Self::Tool { content, .. } => content,
        }
    }
}

/// `gen_ai.input.messages`: the conversation without the system prompt (which has its own
/// attribute).
pub(crate) fn input_messages_json(messages: &[Message]) -> String {
    let messages: Vec<Value> = messages.iter().filter_map(message_json).collect();
    Value::Array(messages).to_string()
}

/// `gen_ai.system_instructions`: the system prompt as a list of parts.
pub(crate) fn system_instructions_json(messages: &[Message]) -> String {
    let parts: Vec<Value> = messages
        .iter()
        .filter_map(|m| match m {
            Message::System(text) => Some(text_part(text)),
            _ => None,
        })
        .collect();
    Value::Array(parts).to_string()
}

/// `gen_ai.output.messages`: the model's reply. The message's `finish_reason` uses the
/// conventions' values (`tool_call`), the span's `gen_ai.response.finish_reasons` the provider's.
pub(crate) fn output_messages_json(
    content: Option<&str>,
    tool_calls: &[ToolCall],
    finish_reason: &str,
) -> String {
    let finish_reason = match finish_reason {
        "tool_calls" => "tool_call",
        other => other,
    };
    json!([{
        "role": "assistant",
        "parts": assistant_parts(content, tool_calls),
        "finish_reason": finish_reason,
    }])
    .to_string()
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
