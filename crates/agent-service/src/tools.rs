//! The agent's tools. Execution is always mocked — canned results that depend on the
//! arguments — but the contract is real: JSON-schema definitions the model sees, JSON arguments
//! in, JSON result out, one `execute_tool {name}` span per call.
//!
//! A tool is one entry of [`all`]: its definition, its handler, and how the mock model would
//! call it. Adding a tool is adding an entry (and its handler) here, nothing else.

use serde::Deserialize;
use serde_json::{Value, json};
use telemetry::{
    genai::{ErrorType, GenAiSpan},
    semconv::{self, operation},
};

use crate::conversation::ToolCall;

/// A tool: what the model is told about it, what runs when it is called, and when the mock
/// model would call it.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    /// JSON Schema of the arguments object.
    pub(crate) parameters: Value,
    /// Runs a call with these arguments.
    handler: fn(&Value) -> Result<Value, ToolError>,
    /// The arguments the mock model calls this tool with for a user message, or `None` if it
    /// would not call it for that message.
    pub(crate) mock_arguments: fn(&str) -> Option<Value>,
}

/// Every tool the agent offers the model, in the order it offers them.
pub(crate) fn all() -> Vec<Tool> {
    vec![
        Tool {
            name: "web_search",
            description: "Search the web for restaurants, reviews and other information.",
            parameters: json!({
                "type": "object",
                "properties": { "query": { "type": "string", "description": "What to search for" } },
                "required": ["query"],
                "additionalProperties": false
            }),
            handler: |arguments| {
                Ok(web_search(
                    &parse_args::<WebSearchArgs>("web_search", arguments)?.query,
                ))
            },
            // The catch-all: any message can be searched for.
            mock_arguments: |message| Some(json!({ "query": message })),
        },
        Tool {
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
            handler: |arguments| {
                Ok(check_availability(&parse_args(
                    "check_availability",
                    arguments,
                )?))
            },
            mock_arguments: booking_arguments,
        },
    ]
}

/// `gen_ai.tool.definitions`: the tools as the model is offered them.
pub(crate) fn definitions_json(tools: &[Tool]) -> String {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({ "type": "function", "name": t.name, "description": t.description, "parameters": t.parameters }))
        .collect();
    Value::Array(tools).to_string()
}

/// A failed tool call. `Display` names only the tool and the kind of failure — it ends up in
/// span status messages, which must not carry arguments; `detail` (for the model) may.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
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

impl ErrorType for ToolError {
    fn error_type(&self) -> &'static str {
        match self {
            Self::UnknownTool(_) => "unknown_tool",
            Self::InvalidArguments { .. } => "invalid_arguments",
        }
    }
}

/// Runs one tool call in its own span. A failed call is not fatal to the turn: its error goes
/// back to the model as the tool's result (as real agent frameworks do), and the span is marked.
pub(crate) async fn execute(tools: &[Tool], call: &ToolCall) -> Value {
    let span = GenAiSpan::internal(operation::EXECUTE_TOOL, &call.name)
        .with(semconv::GEN_AI_TOOL_NAME, call.name.clone())
        .with(semconv::TOOL_NAME, call.name.clone())
        .with(semconv::GEN_AI_TOOL_CALL_ID, call.id.clone())
        .with(semconv::GEN_AI_TOOL_TYPE, "function");
    let result = span
        .run(async { run(tools, &call.name, &call.arguments) })
        .await
        .unwrap_or_else(|error| json!({ "error": error.detail() }));
    span.content(|| {
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

fn run(tools: &[Tool], name: &str, arguments: &Value) -> Result<Value, ToolError> {
    match tools.iter().find(|tool| tool.name == name) {
        Some(tool) => (tool.handler)(arguments),
        None => Err(ToolError::UnknownTool(name.chars().take(64).collect())),
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
struct AvailabilityArgs {
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

/// The mock model books when the message asks to: a restaurant, a day and a party size taken
/// from its words.
fn booking_arguments(message: &str) -> Option<Value> {
    let lower = message.to_lowercase();
    let booking = ["book", "reserve", "reservation", "availab", "table for"]
        .iter()
        .any(|word| lower.contains(word));
    if !booking {
        return None;
    }
    let party_size = lower
        .split(|c: char| !c.is_ascii_digit())
        .find_map(|digits| digits.parse::<u32>().ok())
        .unwrap_or(2);
    let date = ["tomorrow", "tonight", "today"]
        .into_iter()
        .find(|day| lower.contains(day))
        .unwrap_or("tonight");
    let restaurant = if lower.contains("sushi") {
        "Sushi Kaito"
    } else {
        "Trattoria Roma"
    };
    Some(json!({ "restaurant": restaurant, "date": date, "party_size": party_size }))
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
        let sushi = run(&all(), "web_search", &json!({"query": "best sushi"})).unwrap();
        let pizza = run(&all(), "web_search", &json!({"query": "pizza near me"})).unwrap();
        assert_eq!(sushi["results"][0]["name"], "Sushi Kaito");
        assert_eq!(pizza["results"][0]["name"], "Trattoria Roma");
        assert_ne!(sushi, pizza);
    }

    #[test]
    fn availability_depends_on_party_size() {
        let small = run(
            &all(),
            "check_availability",
            &json!({"restaurant": "Trattoria Roma", "date": "tonight", "party_size": 2}),
        )
        .unwrap();
        let large = run(
            &all(),
            "check_availability",
            &json!({"restaurant": "Trattoria Roma", "date": "tonight", "party_size": 12}),
        )
        .unwrap();
        assert_eq!(small["available"], true);
        assert_eq!(large["available"], false);
    }

    #[test]
    fn booking_messages_get_availability_arguments_parsed_from_their_words() {
        assert_eq!(
            booking_arguments("Can you book a table for 4 tomorrow at the sushi place?"),
            Some(json!({"restaurant": "Sushi Kaito", "date": "tomorrow", "party_size": 4}))
        );
        assert_eq!(booking_arguments("Find me a good restaurant"), None);
    }

    #[test]
    fn bad_calls_are_errors_not_panics() {
        assert!(matches!(
            run(&all(), "rm_rf", &json!({})),
            Err(ToolError::UnknownTool(_))
        ));
        assert!(matches!(
            run(&all(), "check_availability", &json!({"restaurant": "x"})),
            Err(ToolError::InvalidArguments { .. })
        ));
        assert!(matches!(
            run(&all(), "web_search", &json!("not an object")),
            Err(ToolError::InvalidArguments { .. })
        ));
    }
}
