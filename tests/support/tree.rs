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
/// `POST /agent` (server) → `invoke_agent` → `chat`, `execute_tool`, `chat`; and
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
    let tool = find(trace, "agent-service", "execute_tool web_search");
    let chats: Vec<&CapturedSpan> = trace.iter().filter(|s| s.name == "chat mock-llm").collect();
    assert_eq!(chats.len(), 2, "two chat spans: {:#?}", names(trace));

    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(client.kind, SpanKind::Client);
    assert_eq!(agent_server.kind, SpanKind::Server);
    assert_eq!(invoke.kind, SpanKind::Internal);
    assert!(chats.iter().all(|c| c.kind == SpanKind::Client));

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
