//! Slow clients: a header or a body that never finishes, and more connections than the limit.

use std::time::{Duration, Instant};

use e2e::{FakeOtlp, procfs::open_sockets, requests::orchestrator, sockets::read_until_closed};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{ask, dead_agent};

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(
        &otlp,
        &dead_agent(),
        &[("HTTP_HEADER_READ_TIMEOUT_MS", "500")],
    )
    .await;
    for partial in [&b"POST /ask HTTP/1.1\r\nHost: x\r\n"[..], b""] {
        let started = Instant::now();
        let mut socket = TcpStream::connect(("127.0.0.1", orchestrator.port))
            .await
            .unwrap();
        socket.write_all(partial).await.unwrap();
        let closed = read_until_closed(&mut socket, Duration::from_secs(5)).await;
        assert!(
            closed.is_some(),
            "a connection sending {partial:?} was held open for 5 s"
        );
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
    // The service still answers everyone else.
    let (status, _, _) = ask(&orchestrator).await;
    assert_eq!(status, 502, "the agent is down; the orchestrator is up");
}

/// Sends `head` (a request line and headers announcing a body) and then `body_bytes` one byte
/// every `pace`, and returns the status line the server answered with.
async fn send_slow_body(port: u16, body_bytes: usize, pace: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = "POST /ask HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{";
    socket.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let drip = tokio::spawn(async move {
        for _ in 0..body_bytes {
            tokio::time::sleep(pace).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
        // Then hold the connection without sending the rest.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), async {
        let mut buffer = [0u8; 4096];
        // Until the server closes, or its JSON error body is complete.
        while !answer.ends_with(b"}}") {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    drip.abort();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_body_that_trickles_or_never_arrives_is_a_408() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(
        &otlp,
        &dead_agent(),
        &[("HTTP_BODY_READ_TIMEOUT_MS", "800")],
    )
    .await;
    // Declares 200 bytes, sends 1; and sends one byte every 100 ms, well past the deadline.
    for (bytes, pace) in [(0, Duration::ZERO), (150, Duration::from_millis(100))] {
        let (answer, elapsed) = send_slow_body(orchestrator.port, bytes, pace).await;
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{bytes} bytes at {pace:?}: {answer}"
        );
        assert!(answer.contains("body_timeout"), "{answer}");
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    }
}

#[tokio::test]
async fn connections_past_the_limit_wait_instead_of_taking_file_descriptors() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(
        &otlp,
        &dead_agent(),
        &[
            ("HTTP_MAX_CONNECTIONS", "8"),
            ("HTTP_HEADER_READ_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = open_sockets(orchestrator.pid());
    let mut idle = Vec::new();
    for _ in 0..24 {
        idle.push(
            TcpStream::connect(("127.0.0.1", orchestrator.port))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = open_sockets(orchestrator.pid());
    assert!(
        held <= baseline + 8,
        "24 idle clients took {} sockets (limit 8)",
        held - baseline
    );
    // The idle ones are reaped by the header timeout, 8 at a time; then /health is served.
    let started = Instant::now();
    let health = reqwest::Client::new()
        .get(orchestrator.url("/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served once the idle connections time out");
    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(8));
}
