//! The real-LLM path (`USE_REAL_LLM=true`) through async-openai, against a local
//! OpenAI-compatible server that returns a tool call and then a final answer.

use std::{collections::HashMap, time::Duration};

use e2e::{FakeOtlp, Service, openai::FakeOpenAi, run_to_exit};
use serde_json::json;

const FAKE_KEY: &str = "sk-test-e2e-secret-4f9a0c1d2b3e";

fn env(otlp: &FakeOtlp, openai: &FakeOpenAi) -> HashMap<String, String> {
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.base_url()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("USE_REAL_LLM", "true".into()),
        ("OPENAI_API_KEY", FAKE_KEY.into()),
        ("OPENAI_BASE_URL", openai.base_url()),
        ("OPENAI_MODEL", "gpt-test".into()),
        ("RUST_LOG", "debug".into()),
        (
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "true".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test]
async fn the_agent_loop_runs_against_an_openai_compatible_server() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start().await;
    let agent = Service::start("agent-service", &env(&otlp, &openai)).await;

    let response = reqwest::Client::new()
        .post(agent.url("/agent"))
        .json(&json!({ "message": "Find me a good restaurant", "sessionId": "sess-1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["answer"], "Real model says: try Trattoria Roma.");
    assert_eq!(body["sessionId"], "sess-1");

    // Two chat calls: the first offers the tools, the second carries the tool's result.
    let requests = openai.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {FAKE_KEY}").as_str())
        );
        assert_eq!(request.body["model"], "gpt-test");
        let tools: Vec<&str> = request.body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(tools, ["web_search", "check_availability"]);
    }
    let second = requests[1].body["messages"].as_array().unwrap();
    let tool_message = second.last().unwrap();
    assert_eq!(tool_message["role"], "tool");
    assert_eq!(tool_message["tool_call_id"], "call_fake_1");
    assert!(
        tool_message["content"]
            .as_str()
            .unwrap()
            .contains("Trattoria Roma")
    );
    assert_eq!(
        second[second.len() - 2]["tool_calls"][0]["id"],
        "call_fake_1"
    );

    let spans = otlp
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().filter(|s| s.name == "chat gpt-test").count() >= 2
        })
        .await;
    let mut chats: Vec<_> = spans.iter().filter(|s| s.name == "chat gpt-test").collect();
    chats.sort_by_key(|s| s.str_attr("gen_ai.response.id").map(str::to_owned));
    assert_eq!(chats.len(), 2);
    for (n, chat) in chats.iter().enumerate() {
        let n = n as i64 + 1;
        assert_eq!(chat.str_attr("gen_ai.provider.name"), Some("openai"));
        assert_eq!(chat.str_attr("gen_ai.request.model"), Some("gpt-test"));
        assert_eq!(
            chat.str_attr("gen_ai.response.model"),
            Some(e2e::openai::RESPONSE_MODEL)
        );
        assert_eq!(
            chat.str_attr("gen_ai.response.id"),
            Some(format!("chatcmpl-fake-{n}").as_str())
        );
        assert_eq!(chat.int_attr("gen_ai.usage.input_tokens"), Some(40 + n));
        assert_eq!(chat.int_attr("gen_ai.usage.output_tokens"), Some(7 * n));
        assert_eq!(chat.str_attr("server.address"), Some("127.0.0.1"));
        assert_eq!(chat.int_attr("server.port"), Some(i64::from(openai.port())));
    }
    let finish: Vec<_> = chats
        .iter()
        .map(|c| c.attr("gen_ai.response.finish_reasons").cloned())
        .collect();
    use e2e::otlp::AttrValue::{Array, Str};
    assert_eq!(
        finish,
        [
            Some(Array(vec![Str("tool_calls".into())])),
            Some(Array(vec![Str("stop".into())]))
        ]
    );
    let tool = spans
        .iter()
        .find(|s| s.name == "execute_tool web_search")
        .expect("tool span");
    assert_eq!(tool.str_attr("gen_ai.tool.call.id"), Some("call_fake_1"));

    // The key reached the server and nowhere else.
    assert!(!agent.output().contains(FAKE_KEY), "key in logs");
    for span in &spans {
        for value in span.attributes.values() {
            assert!(
                !format!("{value:?}").contains(FAKE_KEY),
                "key in span {}",
                span.name
            );
        }
    }
}

#[tokio::test]
async fn real_llm_without_a_key_fails_at_start() {
    let env: HashMap<String, String> = [("USE_REAL_LLM", "true"), ("OTEL_SDK_DISABLED", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let (status, output) = run_to_exit("agent-service", &env, Duration::from_secs(20));
    assert!(!status.success());
    assert!(output.contains("OPENAI_API_KEY"), "{output}");
}
