//! What a person sees when they open the trace: GenAI conventions, inputs and outputs behind
//! the content-capture switch, and sessions that group traces into a conversation.

use e2e::{
    CapturedSpan, FakeOtlp,
    stack::Stack,
    tree::{assert_galileo_minimums, find},
};
use serde_json::{Value, json};

/// A question no canned text contains, so any copy of it in telemetry is a leak.
const QUESTION: &str = "Find me a good restaurant near the zanzibar-7781 pier";

async fn start(otlp: &FakeOtlp, capture: Option<&str>) -> Stack {
    let mut extra = vec![("RUST_LOG", "debug")];
    if let Some(capture) = capture {
        extra.push((
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            capture,
        ));
    }
    Stack::start(&otlp.base_url(), &extra).await
}

fn text_of(message: &Value) -> &str {
    message["parts"][0]["content"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn with_capture_on_every_step_shows_its_input_and_output() {
    let otlp = FakeOtlp::start().await;
    let stack = start(&otlp, Some("SPAN_ONLY")).await;
    let (body, trace) = stack
        .ask_traced(&otlp, &json!({ "question": QUESTION }))
        .await;
    let answer = body["answer"].as_str().unwrap();
    assert_galileo_minimums(&trace);

    // The top of the trace reads question in, answer out.
    for (service, name) in [
        ("orchestrator", "POST /ask"),
        ("orchestrator", "invoke_workflow ask"),
    ] {
        let span = find(&trace, service, name);
        let input = span.json_attr("gen_ai.input.messages").unwrap();
        let output = span.json_attr("gen_ai.output.messages").unwrap();
        assert_eq!(
            input,
            json!([{ "role": "user", "parts": [{ "type": "text", "content": QUESTION }] }]),
            "{name}"
        );
        assert_eq!(output[0]["role"], "assistant");
        assert_eq!(text_of(&output[0]), answer, "{name}");
    }
    let format = find(&trace, "orchestrator", "format_response");
    assert_eq!(
        text_of(&format.json_attr("gen_ai.output.messages").unwrap()[0]),
        answer
    );

    let agent = find(&trace, "agent-service", "invoke_agent restaurant-assistant");
    assert_eq!(
        text_of(&agent.json_attr("gen_ai.input.messages").unwrap()[0]),
        QUESTION
    );
    assert_eq!(
        text_of(&agent.json_attr("gen_ai.output.messages").unwrap()[0]),
        answer
    );
    let instructions = agent.json_attr("gen_ai.system_instructions").unwrap();
    assert_eq!(instructions[0]["type"], "text");
    let tools = agent.json_attr("gen_ai.tool.definitions").unwrap();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web_search", "check_availability"]);

    // First chat: the question in, a tool call out. Second: the tool's result in, the answer out.
    let mut chats: Vec<&CapturedSpan> =
        trace.iter().filter(|s| s.name == "chat mock-llm").collect();
    chats.sort_by_key(|c| {
        c.json_attr("gen_ai.input.messages")
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    });
    let first_out = chats[0].json_attr("gen_ai.output.messages").unwrap();
    assert_eq!(first_out[0]["finish_reason"], "tool_call");
    assert_eq!(first_out[0]["parts"][0]["type"], "tool_call");
    assert_eq!(first_out[0]["parts"][0]["name"], "web_search");
    let second_in = chats[1].json_attr("gen_ai.input.messages").unwrap();
    let roles: Vec<&str> = second_in
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool"]);
    assert_eq!(second_in[2]["parts"][0]["type"], "tool_call_response");
    assert_eq!(
        second_in[2]["parts"][0]["id"],
        first_out[0]["parts"][0]["id"]
    );
    let second_out = chats[1].json_attr("gen_ai.output.messages").unwrap();
    assert_eq!(second_out[0]["finish_reason"], "stop");
    assert_eq!(text_of(&second_out[0]), answer);

    let tool = find(&trace, "agent-service", "execute_tool web_search");
    assert_eq!(
        tool.json_attr("gen_ai.tool.call.arguments").unwrap(),
        json!({ "query": QUESTION })
    );
    assert_eq!(
        tool.json_attr("gen_ai.tool.call.result").unwrap()["results"][0]["name"],
        "Trattoria Roma"
    );
    assert!(
        trace.iter().all(|s| s.events.is_empty()),
        "SPAN_ONLY puts nothing in events"
    );
}

#[tokio::test]
async fn with_capture_off_no_content_appears_in_spans_events_or_logs() {
    let otlp = FakeOtlp::start().await;
    let stack = start(&otlp, None).await;
    let (body, trace) = stack
        .ask_traced(&otlp, &json!({ "question": QUESTION }))
        .await;
    let answer = body["answer"].as_str().unwrap().to_owned();

    let secrets = [
        "zanzibar-7781",
        "Hand-made pasta",
        "restaurant assistant",
        answer.as_str(),
    ];
    for span in otlp.spans() {
        let text = span.all_text();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked into span {}: {text}",
                span.name
            );
        }
    }
    for span in &trace {
        for key in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
            "gen_ai.system_instructions",
        ] {
            assert!(
                span.attr(key).is_none(),
                "{} has {key} with capture off",
                span.name
            );
        }
    }
    // Sizes and counts are fine, and still there.
    assert!(
        trace
            .iter()
            .any(|s| s.int_attr("gen_ai.usage.input_tokens").is_some())
    );
    // Even at debug level the services' logs carry no content.
    let logs = stack.agent.output() + &stack.orchestrator.output();
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn event_only_moves_content_from_attributes_to_an_event() {
    let otlp = FakeOtlp::start().await;
    let stack = start(&otlp, Some("EVENT_ONLY")).await;
    let (_, trace) = stack
        .ask_traced(&otlp, &json!({ "question": QUESTION }))
        .await;
    let agent = find(&trace, "agent-service", "invoke_agent restaurant-assistant");
    assert!(agent.attr("gen_ai.input.messages").is_none());
    let events: Vec<_> = agent
        .events
        .iter()
        .filter(|(name, _)| name == "gen_ai.client.inference.operation.details")
        .collect();
    assert!(!events.is_empty(), "no content event: {:?}", agent.events);
    let carried: String = events.iter().map(|(_, a)| format!("{a:?}")).collect();
    assert!(carried.contains("zanzibar-7781"), "{carried}");
}

#[tokio::test]
async fn one_session_id_groups_two_traces_into_one_conversation() {
    let otlp = FakeOtlp::start().await;
    let stack = start(&otlp, None).await;
    let (first, first_trace) = stack
        .ask_traced(
            &otlp,
            &json!({ "question": QUESTION, "session_id": "conv-77" }),
        )
        .await;
    let (second, second_trace) = stack
        .ask_traced(
            &otlp,
            &json!({ "question": "Book a table for 2 tonight", "session_id": "conv-77" }),
        )
        .await;
    assert_ne!(
        first["trace_id"], second["trace_id"],
        "two requests, two traces"
    );
    for span in first_trace.iter().chain(&second_trace) {
        assert_eq!(
            span.str_attr("gen_ai.conversation.id"),
            Some("conv-77"),
            "{}: {}",
            span.service,
            span.name
        );
        assert_eq!(
            span.str_attr("session.id"),
            Some("conv-77"),
            "{}: {}",
            span.service,
            span.name
        );
    }

    // Without one, a fresh id is made, returned, and still on every span.
    let (third, third_trace) = stack
        .ask_traced(&otlp, &json!({ "question": QUESTION }))
        .await;
    let generated = third["session_id"].as_str().unwrap();
    assert_ne!(generated, "conv-77");
    assert!(
        third_trace
            .iter()
            .all(|s| s.str_attr("gen_ai.conversation.id") == Some(generated))
    );
}

#[tokio::test]
async fn no_span_carries_an_attribute_key_twice() {
    for capture in ["NO_CONTENT", "SPAN_ONLY", "SPAN_AND_EVENT"] {
        let otlp = FakeOtlp::start().await;
        let stack = start(&otlp, Some(capture)).await;
        for body in [
            json!({ "question": QUESTION }),
            json!({ "question": QUESTION, "session_id": "conv-dup" }),
        ] {
            let (_, trace) = stack.ask_traced(&otlp, &body).await;
            for span in &trace {
                assert!(
                    span.duplicate_keys.is_empty(),
                    "{capture}: {} {} repeats {:?}",
                    span.service,
                    span.name,
                    span.duplicate_keys
                );
            }
        }
    }
}
