//! Attribute and metric names, defined once. Every name the `opentelemetry-semantic-conventions` crate has
//! is its constant, re-exported, so a typo cannot drift from the spec (`session.id` is set beside
//! `gen_ai.conversation.id` so backends that group by either find the conversation); the rest —
//! the operation values, OpenInference's `tool.name`, our graph namespace — are spelled out here.

pub use opentelemetry_semantic_conventions::attribute::{
    DEPLOYMENT_ENVIRONMENT_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE, NETWORK_PROTOCOL_NAME, NETWORK_PROTOCOL_VERSION, SERVER_ADDRESS, SERVER_PORT,
    SERVICE_NAME, SERVICE_VERSION, URL_FULL, URL_PATH, URL_SCHEME, URL_TEMPLATE,
};
pub use opentelemetry_semantic_conventions::metric::{
    HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_REQUEST_DURATION, OTEL_SDK_EXPORTER_SPAN_EXPORTED,
    OTEL_SDK_PROCESSOR_SPAN_PROCESSED, OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY,
    OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
};

/// Our name for a constant of the crate, with its value. The crate marks its GenAI names
/// deprecated because they moved to the separate GenAI conventions repository — the names
/// themselves are unchanged — so they are taken here once, not re-exported, to keep that
/// notice out of every crate that records an attribute.
macro_rules! from_semconv_crate {
    ($module:ident: $($name:ident),* $(,)?) => {$(
        #[allow(deprecated)]
        #[doc = concat!("`opentelemetry_semantic_conventions::", stringify!($module), "::", stringify!($name), "`.")]
        pub const $name: &str = opentelemetry_semantic_conventions::$module::$name;
    )*};
}

// OpenTelemetry GenAI semantic conventions (Development status).
from_semconv_crate!(
    attribute: GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_STREAM,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
    GEN_AI_TOKEN_TYPE,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_WORKFLOW_NAME,
    SESSION_ID,
);
from_semconv_crate!(
    metric: GEN_AI_CLIENT_OPERATION_DURATION,
    GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
    GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    GEN_AI_CLIENT_TOKEN_USAGE,
);

/// Values of `gen_ai.operation.name` (the crate has the key, not its values). Each names the
/// span too: `{operation} {target}`.
pub mod operation {
    /// An inference call to a model: `chat {model}`.
    pub const CHAT: &str = "chat";
    /// A tool run on the model's behalf: `execute_tool {tool}`.
    pub const EXECUTE_TOOL: &str = "execute_tool";
    /// One turn of an agent: `invoke_agent {agent}`.
    pub const INVOKE_AGENT: &str = "invoke_agent";
    /// One run of a workflow (our graph): `invoke_workflow {workflow}`.
    pub const INVOKE_WORKFLOW: &str = "invoke_workflow";
}

/// How a streamed answer ended, on the SERVER span: `completed`, `failed`, `cancelled` (the
/// caller hung up) or `client_too_slow` (service-kit's `sse.rs` records it).
pub const AGENT_TRACING_STREAM_OUTCOME: &str = "agent_tracing.stream.outcome";

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

/// The spec's method rule: known methods as-is, anything else `_OTHER` (keeps span names and
/// attributes low-cardinality whatever a client sends).
pub fn known_method(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::TRACE => "TRACE",
        http::Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// `network.protocol.version` of an HTTP version, as the HTTP conventions spell it.
pub fn http_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
