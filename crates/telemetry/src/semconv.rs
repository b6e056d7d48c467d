//! Attribute names, defined once. Where the `opentelemetry-semantic-conventions` crate has the
//! name we re-export its constant, so a typo cannot drift from the spec; the rest (GenAI names
//! newer than the crate, our graph namespace) are spelled out here with the spec they follow.

pub use opentelemetry_semantic_conventions::attribute::{
    DEPLOYMENT_ENVIRONMENT_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE, SERVER_ADDRESS, SERVER_PORT, SERVICE_NAME, SERVICE_VERSION, URL_FULL, URL_PATH,
    URL_SCHEME, URL_TEMPLATE,
};

// OpenTelemetry GenAI semantic conventions (v1.41, Development status).
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
pub const GEN_AI_WORKFLOW_NAME: &str = "gen_ai.workflow.name";
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";

/// `session.id` from the general session conventions, set beside `gen_ai.conversation.id` so
/// backends that group by either find the conversation.
pub const SESSION_ID: &str = "session.id";

/// OpenInference's tool name key: Galileo's minimum-valid tool span table names it.
pub const TOOL_NAME: &str = "tool.name";

// The graph runner's own namespace (the analogue of LangGraph's `langgraph_*` metadata).
/// Name of the node this step ran.
pub const GRAPH_NODE: &str = "graph.node";
/// 1-based step number within the run.
pub const GRAPH_STEP: &str = "graph.step";
/// The nodes run so far in this run, in order, this one last (e.g. `["call_agent"]`).
pub const GRAPH_PATH: &str = "graph.path";
/// What made this node run: `start` or the node that led here.
pub const GRAPH_TRIGGERS: &str = "graph.triggers";
