//! A deterministic stand-in for a tool-calling model: no keys, no network, the same
//! [`Completion`] shape as the real API. Like a real model it decides from what it is offered:
//! the tools' definitions say when it would call them (`Tool::mock_arguments`). Streamed, it
//! sends the same reply in the real API's chunk shape: the first chunk after the latency, then
//! a word (or half a tool call's arguments) every chunk delay.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::{
    Completion, LlmError,
    stream::{Chunk, Chunks, ToolCallDelta},
};
use crate::{
    conversation::{Message, ToolCall},
    tools::Tool,
};

/// A deterministic stand-in for a tool-calling model: the first call picks a tool from the
/// words of the user's message, the call after a tool result turns that result into an answer.
#[derive(Debug)]
pub(crate) struct MockLlm {
    latency: Duration,
    chunk_delay: Duration,
}

impl MockLlm {
    pub(crate) const MODEL: &'static str = "mock-llm";

    pub(crate) fn new(latency: Duration, chunk_delay: Duration) -> Self {
        Self {
            latency,
            chunk_delay,
        }
    }

    pub(super) async fn chat(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<Completion, LlmError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok(reply(messages, tools))
    }

    /// The same reply as [`MockLlm::chat`], as the chunks a streaming API sends: each piece of
    /// text or tool-call arguments after its delay, then the finish reason, then the usage.
    pub(super) fn chat_stream(&self, messages: &[Message], tools: &[Tool]) -> Chunks {
        let completion = reply(messages, tools);
        let mut pieces: Vec<Chunk> = Vec::new();
        if let Some(text) = &completion.content {
            pieces.extend(text.split_inclusive(' ').map(|word| Chunk {
                text: Some(word.to_owned()),
                ..Chunk::default()
            }));
        }
        for (index, call) in completion.tool_calls.iter().enumerate() {
            // The arguments in two deltas, the first with the id and name, as the real API
            // splits them.
            let arguments = call.arguments.to_string();
            let half = arguments.floor_char_boundary(arguments.len() / 2);
            let (head, tail) = arguments.split_at(half);
            for (first, part) in [(true, head), (false, tail)] {
                pieces.push(Chunk {
                    tool_calls: vec![ToolCallDelta {
                        index: index as u32,
                        id: first.then(|| call.id.clone()),
                        name: first.then(|| call.name.clone()),
                        arguments: part.to_owned(),
                    }],
                    ..Chunk::default()
                });
            }
        }
        if let Some(first) = pieces.first_mut() {
            first.id = Some(completion.id.clone());
            first.model = Some(completion.model.clone());
        }
        let delays = std::iter::once(self.latency).chain(std::iter::repeat(self.chunk_delay));
        let timed: Vec<(Duration, Chunk)> = delays.zip(pieces).collect();
        let ending = [
            Chunk {
                finish_reason: Some(completion.finish_reason.clone()),
                ..Chunk::default()
            },
            Chunk {
                usage: completion.usage,
                ..Chunk::default()
            },
        ];
        futures::stream::iter(timed)
            .then(|(delay, chunk)| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(chunk)
            })
            .chain(futures::stream::iter(ending.map(Ok)))
            .boxed()
    }
}

/// The mock's reply to `messages`: a tool call for a question, an answer from tool results.
fn reply(messages: &[Message], tools: &[Tool]) -> Completion {
    let input_tokens = messages.iter().map(|m| word_count(m.text())).sum::<usize>() as i64;
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
            (None, vec![choose_tool(tools, question, messages.len())])
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
    Completion {
        id: format!("chatcmpl-mock-{}", messages.len()),
        model: MockLlm::MODEL.to_owned(),
        content,
        tool_calls,
        finish_reason: finish_reason.to_owned(),
        usage: Some((input_tokens, output_tokens)),
    }
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The tool to call for `question`: the last offered tool that would take it (the catch-all
/// search is offered first, more specific tools after it), with the arguments it gives.
fn choose_tool(tools: &[Tool], question: &str, position: usize) -> ToolCall {
    let (name, arguments) = tools
        .iter()
        .rev()
        .find_map(|tool| (tool.mock_arguments)(question).map(|args| (tool.name, args)))
        .unwrap_or(("none", Value::Null));
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn mock_calls_a_tool_then_answers_from_its_result() {
        let llm = MockLlm::new(Duration::ZERO, Duration::ZERO);
        let tools = crate::tools::all();
        let mut messages = vec![Message::User("Find me a good restaurant".into())];
        let first = llm.chat(&messages, &tools).await.unwrap();
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
        let second = llm.chat(&messages, &tools).await.unwrap();
        assert_eq!(second.finish_reason, "stop");
        assert!(second.content.unwrap().contains("Trattoria Roma"));
        assert!(second.usage.unwrap().0 > first.usage.unwrap().0);
    }

    #[tokio::test]
    async fn booking_questions_check_availability_with_parsed_arguments() {
        let llm = MockLlm::new(Duration::ZERO, Duration::ZERO);
        let messages = vec![Message::User(
            "Can you book a table for 4 tomorrow at the sushi place?".into(),
        )];
        let call = &llm
            .chat(&messages, &crate::tools::all())
            .await
            .unwrap()
            .tool_calls[0];
        assert_eq!(call.name, "check_availability");
        assert_eq!(
            call.arguments,
            serde_json::json!({"restaurant": "Sushi Kaito", "date": "tomorrow", "party_size": 4})
        );
    }
}
