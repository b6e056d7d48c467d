//! Both services as real processes, exporting to a fake OTLP receiver: one `/ask` must give
//! one trace, across both service names, in the expected tree.

use std::time::Duration;

use e2e::{
    FakeOtlp,
    stack::Stack,
    tree::{SPANS_PER_ASK, assert_ask_tree, find, of_trace},
};
use serde_json::json;

#[tokio::test]
async fn one_ask_is_one_trace_across_both_services() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;

    let (status, body) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["answer"].as_str().unwrap().contains("Trattoria Roma"),
        "{body}"
    );
    let trace_id = body["trace_id"].as_str().expect("trace_id").to_owned();
    assert_eq!(trace_id.len(), 32);
    assert!(
        trace_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );

    let spans = otlp
        .wait_for(Duration::from_secs(10), |s| {
            of_trace(s, &trace_id).len() >= SPANS_PER_ASK
        })
        .await;
    let trace = of_trace(&spans, &trace_id);
    let root = assert_ask_tree(&trace);
    assert_eq!(
        root.parent_span_id, "",
        "without a caller context the server span is the root"
    );

    let services: std::collections::BTreeSet<&str> =
        trace.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        ["agent-service", "orchestrator"]
    );
    drop(stack);
}

#[tokio::test]
async fn http_spans_follow_the_http_semantic_conventions() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;
    let (_, trace) = stack
        .ask_traced(&otlp, &json!({ "question": "Find me a good restaurant" }))
        .await;

    let server = find(&trace, "orchestrator", "POST /ask");
    assert_eq!(server.str_attr("http.request.method"), Some("POST"));
    assert_eq!(server.str_attr("http.route"), Some("/ask"));
    assert_eq!(server.str_attr("url.path"), Some("/ask"));
    assert_eq!(server.str_attr("url.scheme"), Some("http"));
    assert_eq!(server.int_attr("http.response.status_code"), Some(200));
    assert_eq!(server.str_attr("server.address"), Some("127.0.0.1"));
    assert_eq!(
        server.int_attr("server.port"),
        Some(i64::from(stack.orchestrator.port))
    );

    // `{method} {url.template}` only with `url.template` set (HTTP conventions, span name).
    let client = find(&trace, "orchestrator", "POST /agent");
    assert_eq!(client.str_attr("url.template"), Some("/agent"));
    assert_eq!(client.str_attr("http.request.method"), Some("POST"));
    assert_eq!(client.str_attr("server.address"), Some("127.0.0.1"));
    assert_eq!(
        client.int_attr("server.port"),
        Some(i64::from(stack.agent.port))
    );
    assert_eq!(
        client.str_attr("url.full"),
        Some(stack.agent.url("/agent").as_str())
    );
    assert_eq!(client.int_attr("http.response.status_code"), Some(200));

    for span in &trace {
        for deprecated in [
            "http.method",
            "http.status_code",
            "http.url",
            "http.target",
            "net.peer.name",
            "gen_ai.system",
        ] {
            assert!(
                span.attr(deprecated).is_none(),
                "{} carries deprecated {deprecated}",
                span.name
            );
        }
        for noise in ["code.file.path", "thread.id", "busy_ns"] {
            assert!(span.attr(noise).is_none(), "{} carries {noise}", span.name);
        }
    }

    let resource = &server.resource;
    assert_eq!(
        resource.get("service.version").and_then(|v| v.as_str()),
        Some("0.1.0")
    );
    assert!(resource.get("deployment.environment.name").is_some());
}

#[tokio::test]
async fn agent_spans_carry_genai_attributes() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;
    let (body, trace) = stack
        .ask_traced(
            &otlp,
            &json!({ "question": "Find me a good restaurant", "session_id": "s-42" }),
        )
        .await;
    assert_eq!(body["session_id"], "s-42");

    let invoke = find(&trace, "agent-service", "invoke_agent restaurant-assistant");
    assert_eq!(
        invoke.str_attr("gen_ai.operation.name"),
        Some("invoke_agent")
    );
    assert_eq!(
        invoke.str_attr("gen_ai.agent.name"),
        Some("restaurant-assistant")
    );
    assert_eq!(invoke.str_attr("gen_ai.provider.name"), Some("mock"));
    assert_eq!(invoke.str_attr("gen_ai.conversation.id"), Some("s-42"));

    for chat in trace.iter().filter(|s| s.name == "chat mock-llm") {
        assert_eq!(
            chat.kind,
            e2e::SpanKind::Internal,
            "the mock model is in-process"
        );
        assert_eq!(chat.str_attr("gen_ai.operation.name"), Some("chat"));
        assert_eq!(chat.str_attr("gen_ai.provider.name"), Some("mock"));
        assert_eq!(chat.str_attr("gen_ai.request.model"), Some("mock-llm"));
        assert_eq!(chat.str_attr("gen_ai.response.model"), Some("mock-llm"));
        assert!(
            chat.int_attr("gen_ai.usage.input_tokens")
                .is_some_and(|n| n > 0)
        );
        assert!(
            chat.int_attr("gen_ai.usage.output_tokens")
                .is_some_and(|n| n > 0)
        );
        assert!(matches!(
            chat.attr("gen_ai.response.finish_reasons"),
            Some(e2e::otlp::AttrValue::Array(_))
        ));
    }

    let tool = find(&trace, "agent-service", "execute_tool web_search");
    assert_eq!(tool.str_attr("gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(tool.str_attr("gen_ai.tool.name"), Some("web_search"));
    assert!(tool.str_attr("gen_ai.tool.call.id").is_some());

    let step = find(&trace, "orchestrator", "call_agent");
    assert_eq!(step.str_attr("graph.node"), Some("call_agent"));
    assert_eq!(step.int_attr("graph.step"), Some(1));
    assert_eq!(step.str_attr("graph.triggers"), Some("start"));
    let step = find(&trace, "orchestrator", "format_response");
    assert_eq!(step.int_attr("graph.step"), Some(2));
    assert_eq!(step.str_attr("graph.triggers"), Some("call_agent"));
    drop(stack);
}

#[tokio::test]
async fn a_callers_traceparent_becomes_the_parent_of_the_server_span() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent_id = "b7ad6b7169203331";
    let (status, body) = stack
        .ask(
            &json!({ "question": "Find me a good restaurant" }),
            Some(&format!("00-{trace_id}-{parent_id}-01")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["trace_id"], trace_id,
        "the response names the caller's trace"
    );

    let spans = otlp
        .wait_for(Duration::from_secs(10), |s| {
            of_trace(s, trace_id).len() >= SPANS_PER_ASK
        })
        .await;
    let root = assert_ask_tree(&of_trace(&spans, trace_id));
    assert_eq!(root.parent_span_id, parent_id);
}

#[tokio::test]
async fn sigterm_flushes_every_span_and_exits_zero() {
    let otlp = FakeOtlp::start().await;
    // A ten-minute batch delay: only the shutdown flush can deliver these spans.
    let mut stack = Stack::start(&otlp.base_url(), &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    let (status, body) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200);
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        of_trace(&otlp.spans(), &trace_id).is_empty(),
        "nothing exported before shutdown"
    );

    let orchestrator_exit = stack.orchestrator.stop(Duration::from_secs(15)).await;
    let agent_exit = stack.agent.stop(Duration::from_secs(15)).await;
    assert!(
        orchestrator_exit.success(),
        "orchestrator: {orchestrator_exit}"
    );
    assert!(agent_exit.success(), "agent: {agent_exit}");

    let trace = of_trace(&otlp.spans(), &trace_id);
    assert_ask_tree(&trace);
}

#[tokio::test]
async fn probes_make_no_spans_but_refused_requests_keep_theirs() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;
    let client = reqwest::Client::new();
    for service in [&stack.orchestrator, &stack.agent] {
        for path in ["/health", "/openapi.json", "/health", "/health"] {
            let response = client.get(service.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
        // The container health check: the binary's own probe of /health.
        let status = std::process::Command::new(e2e::binary(if service.port == stack.agent.port {
            "agent-service"
        } else {
            "orchestrator"
        }))
        .arg("--healthcheck")
        .env("PORT", service.port.to_string())
        .status()
        .unwrap();
        assert!(status.success());
    }
    // A refused request (422) and an unknown path (404) are real traffic: traced.
    let (status, _) = stack.ask(&json!({ "question": "  " }), None).await;
    assert_eq!(status, 422);
    let response = client
        .get(stack.orchestrator.url("/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // And one whole /ask, whose spans arriving means everything before them was exported.
    stack
        .ask_traced(&otlp, &json!({ "question": "Find me a good restaurant" }))
        .await;
    let spans = otlp
        .wait_for(Duration::from_secs(10), |spans| {
            spans.iter().any(|s| {
                s.name == "POST /ask" && s.int_attr("http.response.status_code") == Some(422)
            }) && spans.iter().any(|s| s.name == "GET")
        })
        .await;
    for span in &spans {
        let route = span.str_attr("http.route").unwrap_or_default();
        assert!(
            !matches!(route, "/health" | "/openapi.json") && !span.name.contains("/health"),
            "a probe made a span: {} {}",
            span.service,
            span.name
        );
    }
    let not_found = spans.iter().find(|s| s.name == "GET").unwrap();
    assert_eq!(not_found.int_attr("http.response.status_code"), Some(404));
}
