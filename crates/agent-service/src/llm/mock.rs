//! A deterministic stand-in for a tool-calling model: no keys, no network, the same
//! [`Completion`] shape as the real API. Like a real model it decides from what it is offered:
//! the tools' definitions say when it would call them (`Tool::mock_arguments`).

use std::time::Duration;

use serde_json::Value;

use super::{Completion, LlmError};
use crate::{
    conversation::{Message, ToolCall},
    tools::Tool,
};

/// A deterministic stand-in for a tool-calling model: the first call picks a tool from the
/// words of the user's message, the call after a tool result turns that result into an answer.
#[derive(Debug)]
pub(crate) struct MockLlm {
    latency: Duration,
}

impl MockLlm {
    pub(crate) const MODEL: &'static str = "mock-llm";

    pub(crate) fn new(latency: Duration) -> Self {
        Self { latency }
    }

    pub(super) async fn chat(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<Completion, LlmError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
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
        let llm = MockLlm::new(Duration::ZERO);
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
        assert!(second.input_tokens > first.input_tokens);
    }

    #[tokio::test]
    async fn booking_questions_check_availability_with_parsed_arguments() {
        let llm = MockLlm::new(Duration::ZERO);
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
