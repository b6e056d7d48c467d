//! Safe by default: nothing reachable beyond this machine unless asked, and a model endpoint
//! strangers cannot drain — each bound seen from outside the process, over real sockets on
//! 127.0.0.1.

use std::time::{Duration, Instant};

use e2e::{
    FakeOtlp, Service,
    collector::Collector,
    openai::{Behaviour, FakeOpenAi},
    otlp::{attribute, last_metrics},
    procfs::listening_address,
    requests::{agent_with_llm, ask_agent, service_env},
    stack::Stack,
};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use serde_json::{Value, json};

#[tokio::test]
async fn a_service_listens_on_loopback_unless_bind_address_says_otherwise() {
    let otlp = FakeOtlp::start().await;
    for (extra, expected) in [
        (&[][..], [127, 0, 0, 1]),
        (&[("BIND_ADDRESS", "0.0.0.0")][..], [0, 0, 0, 0]),
    ] {
        let mut agent = Service::start("agent-service", &service_env(&otlp, extra)).await;
        assert_eq!(
            listening_address(agent.pid(), agent.port).map(|a| a.octets()),
            Some(expected),
            "{extra:?}"
        );
        assert!(agent.stop(Duration::from_secs(20)).await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_rate_limit_a_caller_gets_429_with_retry_after_and_the_metric_counts_it() {
    let otlp = FakeOtlp::start().await;
    let mut stack = Stack::start(
        &otlp.base_url(),
        &[
            ("RATE_LIMIT_PER_SECOND", "1"),
            ("RATE_LIMIT_BURST", "3"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
        ],
    )
    .await;
    let ask = || async {
        reqwest::Client::new()
            .post(stack.orchestrator.url("/ask"))
            .json(&json!({ "question": "Find me a good restaurant" }))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .unwrap()
    };
    // The burst passes (each /ask is also one /agent, under the agent's own limit).
    for _ in 0..3 {
        assert_eq!(ask().await.status(), 200);
    }
    let refused = ask().await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    // After the wait it says, a request passes again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(ask().await.status(), 200);

    assert!(
        stack
            .orchestrator
            .stop(Duration::from_secs(20))
            .await
            .success()
    );
    assert!(stack.agent.stop(Duration::from_secs(20)).await.success());
    let metrics = last_metrics(&otlp.metrics(), "orchestrator");
    let Some(Data::Histogram(durations)) = &metrics["http.server.request.duration"].data else {
        panic!("http.server.request.duration is a histogram");
    };
    let refusals: u64 = durations
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, "http.response.status_code").as_deref() == Some("429"))
        .map(|p| p.count)
        .sum();
    assert_eq!(
        refusals, 1,
        "the 429 counted in http.server.request.duration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rate_limit_a_burst_is_never_refused() {
    let otlp = FakeOtlp::start().await;
    let stack = Stack::start(&otlp.base_url(), &[]).await;
    let question = json!({ "question": "hi" });
    let asks = (0..20).map(|_| stack.ask(&question, None));
    for (status, body) in futures::future::join_all(asks).await {
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test]
async fn every_model_request_carries_the_token_cap() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start().await;
    let agent = agent_with_llm(&otlp, &openai, &[("LLM_MAX_TOKENS", "77")]).await;
    let (status, body, _) = ask_agent(&agent).await;
    assert_eq!(status, 200, "{body}");
    let requests = openai.requests();
    assert_eq!(requests.len(), 2, "chat → tool → chat");
    for request in &requests {
        assert_eq!(
            request.body["max_completion_tokens"], 77,
            "{}",
            request.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_calls_past_the_limit_wait_their_turn_and_are_not_refused() {
    let otlp = FakeOtlp::start().await;
    // 300 ms a call, two calls a turn: three turns at once take 0.6 s side by side, 1.8 s one
    // call at a time.
    let openai = FakeOpenAi::start_with(Behaviour::Slow(Duration::from_millis(300))).await;
    let agent = agent_with_llm(&otlp, &openai, &[("LLM_MAX_CONCURRENT_CALLS", "1")]).await;
    let started = Instant::now();
    let turns = (0..3).map(|_| ask_agent(&agent));
    for (status, body, _) in futures::future::join_all(turns).await {
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1_700),
        "calls overlapped: {:?}",
        started.elapsed()
    );
    assert_eq!(openai.requests().len(), 6);
}

#[tokio::test]
async fn an_oversized_otlp_request_is_refused_and_the_collector_stays_up() {
    let galileo = FakeOtlp::galileo("/otel/traces", "key").await;
    let mut collector = Collector::start(&galileo.traces_url(), "key", "p", "l").await;
    let url = format!("http://127.0.0.1:{}/v1/traces", collector.ports.http);
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .timeout(Duration::from_secs(20))
            .send()
    };
    // 16 MiB is the documented bound (otel-collector-config.yaml); one byte more is refused,
    // before it is decoded: 400 with the Collector's "request body too large".
    let refused = post(vec![0u8; 16 * 1024 * 1024 + 1]).await.unwrap();
    assert_eq!(refused.status(), 400);
    let message = refused.text().await.unwrap();
    assert!(message.contains("request body too large"), "{message:?}");
    // Still up: an ordinary (empty) export is accepted, and the health check answers.
    assert_eq!(post(Vec::new()).await.unwrap().status(), 200);
    collector.process.assert_running("the Collector");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_call_waits_at_most_llm_timeout_ms_for_its_turn() {
    let otlp = FakeOtlp::start().await;
    // One call at a time, 600 ms each, 1 s to wait: of three turns started together the one
    // queued last waits ~1.2 s for its first call, past the bound, and fails as a timeout.
    let openai = FakeOpenAi::start_with(Behaviour::Slow(Duration::from_millis(600))).await;
    let agent = agent_with_llm(
        &otlp,
        &openai,
        &[
            ("LLM_MAX_CONCURRENT_CALLS", "1"),
            ("LLM_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    let turns = (0..3).map(|_| ask_agent(&agent));
    let results = futures::future::join_all(turns).await;
    let timed_out: Vec<_> = results
        .iter()
        .filter(|(status, ..)| *status == 504)
        .collect();
    assert!(!timed_out.is_empty(), "{results:?}");
    for (status, body, elapsed) in &results {
        assert!(matches!(status, 200 | 504), "{status} {body}");
        if *status == 504 {
            assert_eq!(body["error"]["code"], "llm_timeout", "{body}");
            assert!(*elapsed < Duration::from_secs(3), "{elapsed:?}: bounded");
        }
    }
}
