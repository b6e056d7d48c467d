//! A streamed chat call, in the shape every OpenAI-compatible API streams: chunks carrying text
//! deltas, tool-call deltas (a call's id and name in its first delta, its arguments split across
//! several), a finish reason, and a last chunk with the usage. Both models produce [`Chunk`]s;
//! [`Assembler`] turns them into the same [`Completion`] a non-streamed call returns, so the span
//! records the same things either way.

use std::collections::BTreeMap;

use futures::stream::BoxStream;
use serde_json::Value;

use super::{Completion, LlmError};
use crate::conversation::ToolCall;

/// The chunks of one streamed call.
pub(crate) type Chunks = BoxStream<'static, Result<Chunk, LlmError>>;

/// One chunk of a streamed response (one SSE event of the OpenAI chunk format).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Chunk {
    pub(crate) id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) tool_calls: Vec<ToolCallDelta>,
    pub(crate) finish_reason: Option<String>,
    /// `(input, output)` tokens: only in the last chunk, and only if the stream got that far.
    pub(crate) usage: Option<(i64, i64)>,
}

/// A piece of a tool call; `index` says which call it belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ToolCallDelta {
    pub(crate) index: u32,
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) arguments: String,
}

/// Builds a [`Completion`] from the chunks as they arrive, refusing to grow past a size cap.
#[derive(Debug)]
pub(crate) struct Assembler {
    max_bytes: usize,
    bytes: usize,
    id: String,
    model: String,
    text: String,
    calls: BTreeMap<u32, ToolCallDelta>,
    finish_reason: Option<String>,
    usage: Option<(i64, i64)>,
}

impl Assembler {
    /// `max_bytes`: the most text and tool-call arguments one reply may carry.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            bytes: 0,
            id: String::new(),
            model: String::new(),
            text: String::new(),
            calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
        }
    }

    /// Takes one chunk; returns its text, to relay to the caller.
    pub(crate) fn push(&mut self, chunk: Chunk) -> Result<Option<String>, LlmError> {
        let grown = chunk.text.as_ref().map_or(0, String::len)
            + chunk
                .tool_calls
                .iter()
                .map(|c| c.arguments.len())
                .sum::<usize>();
        self.bytes += grown;
        if self.bytes > self.max_bytes {
            return Err(LlmError::TooLarge(self.max_bytes));
        }
        if let Some(id) = chunk.id.filter(|_| self.id.is_empty()) {
            self.id = id;
        }
        if let Some(model) = chunk.model.filter(|_| self.model.is_empty()) {
            self.model = model;
        }
        for delta in chunk.tool_calls {
            let call = self.calls.entry(delta.index).or_default();
            call.id = call.id.take().or(delta.id);
            call.name = call.name.take().or(delta.name);
            call.arguments.push_str(&delta.arguments);
        }
        if chunk.finish_reason.is_some() {
            self.finish_reason = chunk.finish_reason;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if let Some(text) = &chunk.text {
            self.text.push_str(text);
        }
        Ok(chunk.text.filter(|text| !text.is_empty()))
    }

    /// The reply, once the stream has ended. A stream that ended before any finish reason was
    /// cut (an upstream close before `[DONE]` ends the stream without an error): that is a
    /// failure, not a short answer. Usage missing (cut after the finish reason) is only unknown.
    pub(crate) fn finish(self) -> Result<Completion, LlmError> {
        let finish_reason = self.finish_reason.ok_or(LlmError::Truncated)?;
        let tool_calls = self
            .calls
            .into_values()
            .map(|call| ToolCall {
                id: call.id.unwrap_or_default(),
                name: call.name.unwrap_or_default(),
                arguments: serde_json::from_str(&call.arguments)
                    .unwrap_or(Value::String(call.arguments)),
            })
            .collect();
        Ok(Completion {
            id: self.id,
            model: self.model,
            content: (!self.text.is_empty()).then_some(self.text),
            tool_calls,
            finish_reason,
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(piece: &str) -> Chunk {
        Chunk {
            text: Some(piece.to_owned()),
            ..Chunk::default()
        }
    }

    #[test]
    fn text_deltas_are_relayed_and_reassembled() {
        let mut assembler = Assembler::new(1024);
        let first = Chunk {
            id: Some("chatcmpl-1".into()),
            model: Some("gpt-x".into()),
            ..text("Hello ")
        };
        assert_eq!(assembler.push(first).unwrap().as_deref(), Some("Hello "));
        assert_eq!(
            assembler.push(text("world")).unwrap().as_deref(),
            Some("world")
        );
        assert_eq!(assembler.push(text("")).unwrap(), None);
        let finish = Chunk {
            finish_reason: Some("stop".into()),
            ..Chunk::default()
        };
        assert_eq!(assembler.push(finish).unwrap(), None);
        let usage = Chunk {
            usage: Some((12, 2)),
            ..Chunk::default()
        };
        assembler.push(usage).unwrap();
        let completion = assembler.finish().unwrap();
        assert_eq!(completion.content.as_deref(), Some("Hello world"));
        assert_eq!(completion.id, "chatcmpl-1");
        assert_eq!(completion.model, "gpt-x");
        assert_eq!(completion.finish_reason, "stop");
        assert_eq!(completion.usage, Some((12, 2)));
    }

    #[test]
    fn tool_calls_are_assembled_from_deltas_split_across_chunks() {
        let mut assembler = Assembler::new(1024);
        let delta = |index, id: Option<&str>, name: Option<&str>, arguments: &str| Chunk {
            tool_calls: vec![ToolCallDelta {
                index,
                id: id.map(str::to_owned),
                name: name.map(str::to_owned),
                arguments: arguments.to_owned(),
            }],
            ..Chunk::default()
        };
        for chunk in [
            delta(0, Some("call_a"), Some("web_search"), ""),
            delta(1, Some("call_b"), Some("check_availability"), r#"{"party_"#),
            delta(0, None, None, r#"{"query":"#),
            delta(0, None, None, r#""sushi"}"#),
            delta(1, None, None, r#"size":4}"#),
        ] {
            assert_eq!(assembler.push(chunk).unwrap(), None);
        }
        assembler
            .push(Chunk {
                finish_reason: Some("tool_calls".into()),
                ..Chunk::default()
            })
            .unwrap();
        let completion = assembler.finish().unwrap();
        assert_eq!(completion.content, None);
        let calls: Vec<_> = completion
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.clone()))
            .collect();
        assert_eq!(
            calls,
            [
                ("call_a", "web_search", json!({"query": "sushi"})),
                ("call_b", "check_availability", json!({"party_size": 4})),
            ]
        );
    }

    #[test]
    fn a_stream_cut_before_its_finish_reason_is_truncated_and_usage_is_optional() {
        let mut cut = Assembler::new(1024);
        cut.push(text("Half an ans")).unwrap();
        assert!(matches!(cut.finish(), Err(LlmError::Truncated)));

        let mut no_usage = Assembler::new(1024);
        no_usage
            .push(Chunk {
                finish_reason: Some("stop".into()),
                ..text("Done.")
            })
            .unwrap();
        let completion = no_usage.finish().unwrap();
        assert_eq!(completion.usage, None, "unknown, not zero");
    }

    #[test]
    fn a_reply_past_the_cap_is_refused() {
        let mut assembler = Assembler::new(8);
        assembler.push(text("12345")).unwrap();
        assert!(matches!(
            assembler.push(text("67890")),
            Err(LlmError::TooLarge(8))
        ));
    }
}
