//! The `/ask` graph: `START → call_agent → format_response → END`, the same shape as the
//! original LangGraph demo. The runner (crates/graph) gives each step its span. A streamed run
//! carries a `relay` in its state — LangGraph's stream writer — that nodes write the answer's
//! text to as it is produced; each node's span lasts as long as its part of the stream.

use graph::{END, Graph, START};
use service_kit::sse::Relay;
use telemetry::genai::{SessionId, record_io};

use crate::{agent_client::AgentClient, error::AgentCallError};

/// The state that flows through the graph.
#[derive(Debug, Clone)]
pub(crate) struct AskState {
    pub(crate) question: String,
    pub(crate) session: SessionId,
    /// Set by `call_agent`.
    pub(crate) agent_answer: Option<String>,
    /// Set by `format_response`.
    pub(crate) answer: Option<String>,
    /// For a streamed run: where the answer's text goes as it is produced.
    pub(crate) relay: Option<Relay>,
}

pub(crate) type AskGraph = Graph<AskState, AgentCallError>;

pub(crate) fn build_graph(agent: AgentClient) -> AskGraph {
    Graph::builder("ask")
        .add_node("call_agent", move |state| call_agent(agent.clone(), state))
        .add_node("format_response", format_response)
        .add_edge(START, "call_agent")
        .add_edge("call_agent", "format_response")
        .add_edge("format_response", END)
        .describe_io(
            |s: &AskState| s.question.clone(),
            |s: &AskState| s.answer.clone().unwrap_or_default(),
        )
        .build()
        .expect("the ask graph is statically valid")
}

async fn call_agent(agent: AgentClient, mut state: AskState) -> Result<AskState, AgentCallError> {
    let answer = match &state.relay {
        Some(relay) => {
            agent
                .ask_stream(&state.question, &state.session, relay)
                .await?
        }
        None => agent.ask(&state.question, &state.session).await?,
    };
    record_io(&tracing::Span::current(), &state.question, &answer);
    state.agent_answer = Some(answer);
    Ok(state)
}

async fn format_response(mut state: AskState) -> Result<AskState, AgentCallError> {
    let raw = state.agent_answer.as_deref().unwrap_or_default().trim();
    let answer = if raw.is_empty() {
        let fallback = "The agent had no answer to that question.";
        // Streamed, the caller has seen nothing yet: the fallback is the text it gets.
        if let Some(relay) = &state.relay {
            relay.text(fallback).await;
        }
        fallback.to_owned()
    } else {
        raw.to_owned()
    };
    record_io(&tracing::Span::current(), raw, &answer);
    state.answer = Some(answer);
    Ok(state)
}
