//! The stack under stress it must shrug off: no Collector, a Collector that hangs, a SIGTERM in
//! the middle of traffic, and fake secrets that must never surface. Every load here is bounded
//! in count and time and stays on 127.0.0.1.

use std::time::{Duration, Instant};

use e2e::{
    FakeOtlp, Service,
    collector::Collector,
    free_port,
    openai::FakeOpenAi,
    procfs::open_sockets,
    stack::Stack,
    tree::{SPANS_PER_ASK, of_trace},
};
use serde_json::{Value, json};

async fn stack(otlp_endpoint: &str, extra: &[(&str, &str)]) -> (Service, Service) {
    let stack = Stack::start(otlp_endpoint, extra).await;
    (stack.agent, stack.orchestrator)
}

/// Sends `n` concurrent `/ask` requests and returns their bodies; each must succeed.
async fn ask_many(orchestrator: &Service, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let request = client
                .post(orchestrator.url("/ask"))
                .json(&json!({ "question": format!("Find me a good restaurant #{i}") }))
                .timeout(Duration::from_secs(20));
            tokio::spawn(async move {
                let response = request.send().await.expect("request completes");
                assert_eq!(response.status(), 200);
                response.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap());
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_collector_leaves_requests_unaffected_and_logs_once_per_interval() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (agent, orchestrator) = stack(&dead, &[("OTEL_BSP_SCHEDULE_DELAY", "50")]).await;
    // 40 requests over about two seconds: dozens of failed exports.
    for _ in 0..8 {
        ask_many(&orchestrator, 5).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for service in [&agent, &orchestrator] {
        // The first failed export is said once (after the exporter's retries, about 1 s);
        // then a summary at most every 30 s.
        assert!(
            service
                .printed("spans are being lost", Duration::from_secs(10))
                .await
        );
        let output = service.output();
        let reports = output.matches("spans are being lost").count();
        assert_eq!(
            reports, 1,
            "one report per 30 s interval, not one per batch:\n{output}"
        );
        assert!(output.contains("error.type=\"export_failed\""), "{output}");
        assert!(
            !output.contains("BatchSpanProcessor.ExportError"),
            "per-batch errors leak:\n{output}"
        );
    }
}

/// Accepts connections and never answers: a Collector that hangs.
async fn black_hole() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_collector_bounds_memory_and_every_span_is_counted_as_lost() {
    let (port, _hole) = black_hole().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let (mut agent, mut orchestrator) = stack(
        &endpoint,
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "32"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    )
    .await;
    // 30 requests = 300 spans against 32-span queues that cannot drain.
    for _ in 0..3 {
        ask_many(&orchestrator, 10).await;
    }
    let mut lost = 0;
    for service in [&mut orchestrator, &mut agent] {
        let status = service.stop(Duration::from_secs(20)).await;
        assert!(status.success(), "{status}");
        let output = service.output();
        let totals = service
            .delivery_totals()
            .unwrap_or_else(|| panic!("delivery totals at shutdown:\n{output}"));
        assert_eq!(totals["agent_tracing.spans.exported"], 0, "{output}");
        assert!(totals["agent_tracing.spans.queue_full"] > 0, "{output}");
        lost += totals["agent_tracing.spans.lost"];
    }
    assert_eq!(
        lost as usize,
        30 * SPANS_PER_ASK,
        "every span, counted once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_requests_and_loses_no_span() {
    let otlp = FakeOtlp::start().await;
    // 300 ms per chat call: requests are in flight when the signal lands.
    let (mut agent, mut orchestrator) = stack(
        &otlp.base_url(),
        &[
            ("MOCK_LLM_LATENCY_MS", "300"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    )
    .await;
    let url = orchestrator.url("/ask");
    let agent_sockets = open_sockets(agent.pid());
    let in_flight: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .json(&json!({ "question": format!("Find me a good restaurant #{i}") }))
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await
                    .expect("in-flight request completes");
                assert_eq!(response.status(), 200);
                response.json::<Value>().await.unwrap()["trace_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    // In flight means the orchestrator has read each request and is calling the agent: wait
    // (bounded) until the agent holds a connection for each, however busy the machine is.
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_sockets(agent.pid()) < agent_sockets + 12 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    orchestrator.terminate();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // No new request is accepted once shutdown began...
    let refused = reqwest::Client::new()
        .post(&url)
        .json(&json!({ "question": "too late" }))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection after SIGTERM must be refused"
    );

    // ...every in-flight one completes...
    let mut trace_ids = Vec::new();
    for request in in_flight {
        trace_ids.push(request.await.unwrap());
    }
    assert!(orchestrator.stop(Duration::from_secs(20)).await.success());
    assert!(agent.stop(Duration::from_secs(20)).await.success());

    // ...and every span of every completed request reached the receiver.
    let spans = otlp.spans();
    for trace_id in &trace_ids {
        assert_eq!(
            of_trace(&spans, trace_id).len(),
            SPANS_PER_ASK,
            "trace {trace_id}"
        );
    }
    let request_spans = spans.iter().filter(|s| s.name != "GET /health").count();
    assert_eq!(
        request_spans,
        trace_ids.len() * SPANS_PER_ASK,
        "no stray or partial trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_keys_never_appear_in_logs_spans_errors_or_the_collector_output() {
    const OPENAI_KEY: &str = "sk-test-secret-openai-7c1e9d2b5a";
    const GALILEO_KEY: &str = "gsk-test-secret-galileo-3f8a6b0d";
    let galileo = FakeOtlp::galileo("/otel/traces", GALILEO_KEY).await;
    let collector = Collector::start(&galileo.traces_url(), GALILEO_KEY, "p", "l").await;
    let openai = FakeOpenAi::start().await;
    let endpoint = format!("http://127.0.0.1:{}", collector.ports.http);
    let base_url = openai.base_url();
    let (agent, orchestrator) = stack(
        &endpoint,
        &[
            ("USE_REAL_LLM", "true"),
            ("OPENAI_API_KEY", OPENAI_KEY),
            ("OPENAI_BASE_URL", &base_url),
            (
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                "SPAN_AND_EVENT",
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let ok: Value = client
        .post(orchestrator.url("/ask"))
        .json(&json!({ "question": "Find me a good restaurant" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trace_id = ok["trace_id"].as_str().unwrap().to_owned();
    let errors = [
        client
            .post(orchestrator.url("/ask"))
            .body("{")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap(),
        client
            .post(agent.url("/agent"))
            .json(&json!({ "message": "" }))
            .send()
            .await
            .unwrap(),
    ];
    let mut everything = ok.to_string();
    for response in errors {
        everything += &response.text().await.unwrap();
    }
    let spans = galileo
        .wait_for(Duration::from_secs(20), |s| {
            of_trace(s, &trace_id).len() >= SPANS_PER_ASK
        })
        .await;
    assert!(
        of_trace(&spans, &trace_id).len() >= SPANS_PER_ASK,
        "the trace went through"
    );
    for span in &spans {
        everything += &span.all_text();
        everything += &format!("{:?}", span.resource);
    }
    everything += &agent.output();
    everything += &orchestrator.output();
    everything += &collector.output();
    assert!(
        openai
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {OPENAI_KEY}")))
    );
    for secret in [OPENAI_KEY, GALILEO_KEY, "secret-openai", "secret-galileo"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}
