//! Assertions over captured spans: the shape of the trace one mock `/ask` produces.

use crate::{CapturedSpan, SpanKind};

/// Spans one mock `/ask` produces: 5 in the orchestrator, 5 in the agent.
pub const SPANS_PER_ASK: usize = 10;

pub fn of_trace(spans: &[CapturedSpan], trace_id: &str) -> Vec<CapturedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect()
}

pub fn find<'a>(spans: &'a [CapturedSpan], service: &str, name: &str) -> &'a CapturedSpan {
    spans
        .iter()
        .find(|s| s.service == service && s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} from {service}; got {:#?}", names(spans)))
}

pub fn names(spans: &[CapturedSpan]) -> Vec<String> {
    spans
        .iter()
        .map(|s| format!("{}: {}", s.service, s.name))
        .collect()
}

pub fn assert_child(child: &CapturedSpan, parent: &CapturedSpan) {
    assert_eq!(
        child.parent_span_id, parent.span_id,
        "{:?} should be a child of {:?}",
        child.name, parent.name
    );
}

/// Asserts the whole tree of one mock `/ask` and returns its root (the orchestrator's server
/// span): `POST /ask` → `invoke_workflow ask` → `call_agent` → `POST /agent` (client) →
/// `POST /agent` (server) → `invoke_agent` → `chat`, `execute_tool {any tool}`, `chat`; and
/// `format_response` under the workflow. No orphans.
pub fn assert_ask_tree(trace: &[CapturedSpan]) -> CapturedSpan {
    assert_eq!(
        trace.len(),
        SPANS_PER_ASK,
        "spans of the trace: {:#?}",
        names(trace)
    );
    let server = find(trace, "orchestrator", "POST /ask");
    let workflow = find(trace, "orchestrator", "invoke_workflow ask");
    let call_agent = find(trace, "orchestrator", "call_agent");
    let format_response = find(trace, "orchestrator", "format_response");
    let client = find(trace, "orchestrator", "POST /agent");
    let agent_server = find(trace, "agent-service", "POST /agent");
    let invoke = find(trace, "agent-service", "invoke_agent restaurant-assistant");
    let tool = trace
        .iter()
        .find(|s| s.service == "agent-service" && s.name.starts_with("execute_tool "))
        .unwrap_or_else(|| panic!("no execute_tool span: {:#?}", names(trace)));
    let chats: Vec<&CapturedSpan> = trace.iter().filter(|s| s.name == "chat mock-llm").collect();
    assert_eq!(chats.len(), 2, "two chat spans: {:#?}", names(trace));

    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(agent_server.kind, SpanKind::Server);
    assert_eq!(invoke.kind, SpanKind::Internal);
    // The mock model runs in-process: INTERNAL (a remote model's chat span is CLIENT).
    assert!(chats.iter().all(|c| c.kind == SpanKind::Internal));

    assert_child(workflow, server);
    assert_child(call_agent, workflow);
    assert_child(format_response, workflow);
    assert_child(client, call_agent);
    // Only the `traceparent` header the orchestrator injected can give the agent's server span
    // the orchestrator's client span as its parent.
    assert_child(agent_server, client);
    assert_child(invoke, agent_server);
    assert_child(tool, invoke);
    for chat in &chats {
        assert_child(chat, invoke);
    }

    let ids: Vec<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    for span in trace {
        if span.span_id != server.span_id {
            assert!(
                ids.contains(&span.parent_span_id.as_str()),
                "orphan span {:?}",
                span.name
            );
        }
    }
    server.clone()
}

/// Galileo's "minimum requirements for valid spans" (its OpenTelemetry integration page), per
/// span type, checked on every agent, LLM and tool span of `trace`. Needs content capture on.
pub fn assert_galileo_minimums(trace: &[CapturedSpan]) {
    let mut seen = (0, 0, 0);
    for span in trace {
        match span.str_attr("gen_ai.operation.name") {
            Some("invoke_agent") => {
                seen.0 += 1;
                let agent = span
                    .str_attr("gen_ai.agent.name")
                    .expect("gen_ai.agent.name");
                assert_eq!(span.name, format!("invoke_agent {agent}"));
                assert!(matches!(span.kind, SpanKind::Internal | SpanKind::Client));
                assert!(
                    span.str_attr("gen_ai.provider.name").is_some(),
                    "{}: provider",
                    span.name
                );
                assert_messages(span, "gen_ai.input.messages");
                assert_messages(span, "gen_ai.output.messages");
            }
            Some("chat") => {
                seen.1 += 1;
                assert!(
                    span.str_attr("gen_ai.provider.name").is_some(),
                    "{}: provider",
                    span.name
                );
                let model = span
                    .str_attr("gen_ai.request.model")
                    .expect("gen_ai.request.model");
                assert_eq!(span.name, format!("chat {model}"));
                assert_messages(span, "gen_ai.input.messages");
                assert_messages(span, "gen_ai.output.messages");
            }
            Some("execute_tool") => {
                seen.2 += 1;
                let tool = span.str_attr("gen_ai.tool.name").expect("gen_ai.tool.name");
                assert_eq!(
                    span.str_attr("tool.name"),
                    Some(tool),
                    "OpenInference tool.name"
                );
                assert_eq!(span.name, format!("execute_tool {tool}"));
                assert!(
                    span.json_attr("gen_ai.tool.call.arguments").is_some(),
                    "{}: arguments",
                    span.name
                );
                assert!(
                    span.json_attr("gen_ai.tool.call.result").is_some(),
                    "{}: result",
                    span.name
                );
            }
            _ => {}
        }
        if span.is_error {
            assert!(
                span.str_attr("error.type").is_some(),
                "{}: ERROR without error.type",
                span.name
            );
        }
    }
    assert!(
        seen.0 >= 1 && seen.1 >= 1 && seen.2 >= 1,
        "agent/llm/tool spans seen: {seen:?}"
    );
}

/// A non-empty JSON array of `{role, parts: [{type, ...}]}` messages.
pub fn assert_messages(span: &CapturedSpan, key: &str) {
    let messages = span
        .json_attr(key)
        .unwrap_or_else(|| panic!("{}: no {key}", span.name));
    let messages = messages
        .as_array()
        .unwrap_or_else(|| panic!("{}: {key} is not an array", span.name));
    assert!(!messages.is_empty(), "{}: {key} is empty", span.name);
    for message in messages {
        assert!(
            message["role"].is_string(),
            "{}: {key}: no role in {message}",
            span.name
        );
        let parts = message["parts"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: {key}: no parts in {message}", span.name));
        assert!(
            parts.iter().all(|p| p["type"].is_string()),
            "{}: {key}: part without type",
            span.name
        );
    }
}
