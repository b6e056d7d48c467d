//! The agent's tools. Execution is always mocked — canned results that depend on the
//! arguments — but the contract is real: JSON-schema definitions the model sees, JSON arguments
//! in, JSON result out, one `execute_tool {name}` span per call.

use serde::Deserialize;
use serde_json::{Value, json};
use telemetry::{OpenTelemetrySpanExt, genai::record_content, semconv};
use tracing::Instrument;

use crate::llm::ToolCall;

/// A tool as the model sees it.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

pub fn definitions() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "web_search",
            description: "Search the web for restaurants, reviews and other information.",
            parameters: json!({
                "type": "object",
                "properties": { "query": { "type": "string", "description": "What to search for" } },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "check_availability",
            description: "Check whether a restaurant has a table for a party on a date.",
            parameters: json!({
                "type": "object",
                "properties": {
                    "restaurant": { "type": "string" },
                    "date": { "type": "string", "description": "e.g. 2026-11-21 or tonight" },
                    "party_size": { "type": "integer", "minimum": 1 }
                },
                "required": ["restaurant", "date", "party_size"],
                "additionalProperties": false
            }),
        },
    ]
}

/// `gen_ai.tool.definitions`: the tools as the model is offered them.
pub fn definitions_json(tools: &[ToolSpec]) -> String {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({ "type": "function", "name": t.name, "description": t.description, "parameters": t.parameters }))
        .collect();
    Value::Array(tools).to_string()
}

/// A failed tool call. `Display` names only the tool and the kind of failure — it ends up in
/// span status messages, which must not carry arguments; `detail` (for the model) may.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("unknown tool")]
    UnknownTool(String),
    #[error("invalid arguments for `{tool}`")]
    InvalidArguments { tool: &'static str, reason: String },
}

impl ToolError {
    /// What the model is told, so it can correct its call.
    fn detail(&self) -> String {
        match self {
            Self::UnknownTool(name) => format!("unknown tool `{name}`"),
            Self::InvalidArguments { tool, reason } => {
                format!("invalid arguments for `{tool}`: {reason}")
            }
        }
    }
}

impl ToolError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::UnknownTool(_) => "unknown_tool",
            Self::InvalidArguments { .. } => "invalid_arguments",
        }
    }
}

/// Runs one tool call in its own span. A failed call is not fatal to the turn: its error goes
/// back to the model as the tool's result (as real agent frameworks do), and the span is marked.
pub async fn execute(call: &ToolCall) -> Value {
    let span = tracing::info_span!(
        "execute_tool",
        otel.name = %format!("execute_tool {}", call.name),
        otel.kind = "internal",
    );
    span.set_attribute(semconv::GEN_AI_OPERATION_NAME, "execute_tool");
    span.set_attribute(semconv::GEN_AI_TOOL_NAME, call.name.clone());
    span.set_attribute(semconv::TOOL_NAME, call.name.clone());
    span.set_attribute(semconv::GEN_AI_TOOL_CALL_ID, call.id.clone());
    span.set_attribute(semconv::GEN_AI_TOOL_TYPE, "function");
    let result = async {
        match run(&call.name, &call.arguments) {
            Ok(result) => result,
            Err(error) => {
                telemetry::record_error(&tracing::Span::current(), error.error_type(), &error);
                json!({ "error": error.detail() })
            }
        }
    }
    .instrument(span.clone())
    .await;
    record_content(&span, || {
        vec![
            (
                semconv::GEN_AI_TOOL_CALL_ARGUMENTS,
                call.arguments.to_string(),
            ),
            (semconv::GEN_AI_TOOL_CALL_RESULT, result.to_string()),
        ]
    });
    result
}

fn run(name: &str, arguments: &Value) -> Result<Value, ToolError> {
    match name {
        "web_search" => {
            let args: WebSearchArgs = parse_args("web_search", arguments)?;
            Ok(web_search(&args.query))
        }
        "check_availability" => {
            let args: AvailabilityArgs = parse_args("check_availability", arguments)?;
            Ok(check_availability(&args))
        }
        other => Err(ToolError::UnknownTool(other.chars().take(64).collect())),
    }
}

fn parse_args<T: for<'de> Deserialize<'de>>(
    tool: &'static str,
    arguments: &Value,
) -> Result<T, ToolError> {
    T::deserialize(arguments).map_err(|e| ToolError::InvalidArguments {
        tool,
        reason: e.to_string(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSearchArgs {
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AvailabilityArgs {
    restaurant: String,
    date: String,
    party_size: u32,
}

/// Canned search results, chosen by what the query mentions.
fn web_search(query: &str) -> Value {
    let q = query.to_lowercase();
    let results = if q.contains("sushi") || q.contains("japanese") {
        vec![
            ("Sushi Kaito", 4.8, "Omakase counter, 12 seats, book ahead."),
            ("Tsukiji Corner", 4.5, "Fresh nigiri and a quick lunch set."),
        ]
    } else if q.contains("pizza") || q.contains("italian") {
        vec![
            (
                "Trattoria Roma",
                4.7,
                "Hand-made pasta and a wood-fired oven.",
            ),
            ("Pizzeria Napoli", 4.6, "Neapolitan pizza, open late."),
        ]
    } else {
        vec![
            (
                "Trattoria Roma",
                4.7,
                "Hand-made pasta and a wood-fired oven.",
            ),
            ("The Green Table", 4.6, "Seasonal vegetarian tasting menu."),
            ("Sushi Kaito", 4.8, "Omakase counter, 12 seats, book ahead."),
        ]
    };
    json!({
        "query": query,
        "results": results
            .into_iter()
            .map(|(name, rating, snippet)| json!({ "name": name, "rating": rating, "snippet": snippet }))
            .collect::<Vec<_>>()
    })
}

/// Canned availability: small parties get a table, large ones get a waitlist.
fn check_availability(args: &AvailabilityArgs) -> Value {
    let available = (1..=6).contains(&args.party_size);
    json!({
        "restaurant": args.restaurant,
        "date": args.date,
        "party_size": args.party_size,
        "available": available,
        "times": if available { json!(["18:30", "20:45"]) } else { json!([]) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_results_depend_on_the_query() {
        let sushi = run("web_search", &json!({"query": "best sushi"})).unwrap();
        let pizza = run("web_search", &json!({"query": "pizza near me"})).unwrap();
        assert_eq!(sushi["results"][0]["name"], "Sushi Kaito");
        assert_eq!(pizza["results"][0]["name"], "Trattoria Roma");
        assert_ne!(sushi, pizza);
    }

    #[test]
    fn availability_depends_on_party_size() {
        let small = run(
            "check_availability",
            &json!({"restaurant": "Trattoria Roma", "date": "tonight", "party_size": 2}),
        )
        .unwrap();
        let large = run(
            "check_availability",
            &json!({"restaurant": "Trattoria Roma", "date": "tonight", "party_size": 12}),
        )
        .unwrap();
        assert_eq!(small["available"], true);
        assert_eq!(large["available"], false);
    }

    #[test]
    fn bad_calls_are_errors_not_panics() {
        assert!(matches!(
            run("rm_rf", &json!({})),
            Err(ToolError::UnknownTool(_))
        ));
        assert!(matches!(
            run("check_availability", &json!({"restaurant": "x"})),
            Err(ToolError::InvalidArguments { .. })
        ));
        assert!(matches!(
            run("web_search", &json!("not an object")),
            Err(ToolError::InvalidArguments { .. })
        ));
    }
}
