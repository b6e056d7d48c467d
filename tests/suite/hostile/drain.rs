//! Shutdown with a deadline: SIGTERM with requests in flight ends by the drain deadline, and
//! their spans are still flushed.

use std::time::{Duration, Instant};

use e2e::{FakeOtlp, fake_agent::FakeAgent, requests::orchestrator};
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::ask;

#[tokio::test]
async fn sigterm_with_a_half_sent_request_exits_at_the_drain_deadline_and_flushes() {
    let otlp = FakeOtlp::start().await;
    let agent = FakeAgent::start(200, Duration::ZERO).await;
    let mut orchestrator = orchestrator(
        &otlp,
        &agent.url(),
        &[
            ("SHUTDOWN_TIMEOUT_MS", "1000"),
            ("HTTP_BODY_READ_TIMEOUT_MS", "60000"),
            ("HTTP_HEADER_READ_TIMEOUT_MS", "60000"),
        ],
    )
    .await;
    let (status, done, _) = ask(&orchestrator).await;
    assert_eq!(status, 200, "{done}");
    let mut half = TcpStream::connect(("127.0.0.1", orchestrator.port))
        .await
        .unwrap();
    half.write_all(
        b"POST /ask HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"qu",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let exit = orchestrator.stop(Duration::from_secs(15)).await;
    let took = started.elapsed();
    assert!(exit.success(), "{exit}");
    assert!(took < Duration::from_secs(5), "exit {took:?} after SIGTERM");
    assert!(
        orchestrator
            .printed("drain deadline passed", Duration::from_secs(3))
            .await,
        "{}",
        orchestrator.output()
    );
    // The finished request's spans were flushed, and the cut request's server span too.
    let spans = otlp
        .wait_for(Duration::from_secs(5), |spans| {
            spans.iter().filter(|s| s.name == "POST /ask").count() >= 2
        })
        .await;
    let trace_id = done["trace_id"].as_str().unwrap();
    assert!(spans.iter().filter(|s| s.trace_id == trace_id).count() >= 5);
}

#[tokio::test]
async fn a_hanging_agent_does_not_hold_the_drain() {
    let otlp = FakeOtlp::start().await;
    let agent = FakeAgent::start(200, Duration::from_secs(30)).await;
    let mut orchestrator =
        orchestrator(&otlp, &agent.url(), &[("SHUTDOWN_TIMEOUT_MS", "1000")]).await;
    let url = orchestrator.url("/ask");
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&json!({ "question": "hi" }))
            .timeout(Duration::from_secs(40))
            .send()
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while agent.calls() == 0 {
        assert!(Instant::now() < deadline, "the agent was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let exit = orchestrator.stop(Duration::from_secs(40)).await;
    assert!(exit.success(), "{exit}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drain took {:?} with a 30 s agent",
        started.elapsed()
    );
    assert!(
        in_flight.await.unwrap().is_err(),
        "the cut request got no answer"
    );
    // Its spans ended when it was cut and were flushed before exit.
    otlp.wait_for(Duration::from_secs(5), |spans| {
        spans.iter().any(|s| s.name == "POST /ask") && spans.iter().any(|s| s.name == "POST /agent")
    })
    .await;
}
