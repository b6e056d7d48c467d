//! Slow clients, hostile upstreams and a shutdown with a deadline: every edge of both services
//! is bounded in time and size, and nothing internal leaks out. Each test drives real
//! processes over real sockets (the wire is what is under test), with small limits set through
//! the environment so the bounds show in a second or two. All traffic stays on 127.0.0.1 and
//! every loop is bounded.

use std::time::{Duration, Instant};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::IntoResponse,
    routing,
};
use e2e::{
    CapturedSpan, FakeOtlp, Service,
    fake_agent::FakeAgent,
    free_port,
    openai::{Behaviour, FakeOpenAi},
    process::Background,
    requests::{FAKE_KEY, agent_with_llm, ask_agent, orchestrator, post_json, service_env},
    tree::find,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn ask(orchestrator: &Service) -> (u16, Value, Duration) {
    post_json(&orchestrator.url("/ask"), json!({ "question": "hi" })).await
}

/// Reads from `socket` until the server closes it or answers; returns what was read, or
/// `None` if nothing happened within `limit`.
async fn read_until_closed(socket: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    received.extend_from_slice(&buffer[..n]);
                    if received.windows(4).any(|w| w == b"\r\n\r\n") {
                        return;
                    }
                }
            }
        }
    })
    .await;
    outcome
        .ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

fn dead_agent() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

// === Slow clients ===

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

/// Open sockets of a process, from /proc.
fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
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

// === Shutdown with a deadline ===

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

// === What comes back from upstream ===

/// A stand-in agent whose `/agent` answers with whatever `respond` builds.
async fn agent_answering(respond: fn() -> axum::response::Response) -> Background {
    Background::serve(
        Router::new().route("/agent", routing::post(move || async move { respond() })),
    )
    .await
}

fn endless_body() -> axum::response::Response {
    let chunks = futures::stream::repeat_with(|| {
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 * 1024]))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn an_endless_agent_body_is_a_502_without_growing_memory() {
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(endless_body).await;
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{}", agent.port), &[]).await;
    let (status, body, elapsed) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_response_too_large");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let rss = vm_rss_kib(orchestrator.pid());
    assert!(rss < 100 * 1024, "orchestrator RSS {rss} KiB");
    let spans = otlp
        .wait_for(Duration::from_secs(5), |spans| {
            spans.iter().any(|s| s.name == "call_agent")
        })
        .await;
    let call = find(&spans, "orchestrator", "call_agent");
    assert_eq!(
        call.str_attr("error.type"),
        Some("agent_response_too_large")
    );
}

#[tokio::test]
async fn an_agent_body_that_trickles_past_the_timeout_is_a_504() {
    fn trickle() -> axum::response::Response {
        let chunks = futures::stream::unfold(0, |n| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            (n < 100).then(|| (Ok::<_, std::io::Error>(Bytes::from_static(b" ")), n + 1))
        });
        (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from_stream(chunks),
        )
            .into_response()
    }
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(trickle).await;
    let orchestrator = orchestrator(
        &otlp,
        &format!("http://127.0.0.1:{}", agent.port),
        &[("AGENT_TIMEOUT_MS", "1000")],
    )
    .await;
    let (status, body, elapsed) = ask(&orchestrator).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "agent_timeout");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_redirecting_agent_is_a_502_and_the_redirect_is_not_followed() {
    let elsewhere = FakeAgent::start(200, Duration::ZERO).await;
    let target = format!("{}/agent", elsewhere.url());
    let redirecting = Background::serve(Router::new().route(
        "/agent",
        routing::post(move || {
            let target = target.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }
        }),
    ))
    .await;
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(
        &otlp,
        &format!("http://127.0.0.1:{}", redirecting.port),
        &[],
    )
    .await;
    let (status, body, _) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_error");
    assert_eq!(
        elsewhere.calls(),
        0,
        "the question went to the redirect target"
    );
}

/// What must never be in an error body: where our services live.
fn assert_no_address(body: &Value) {
    let text = body.to_string();
    for leak in ["127.0.0.1", "http://", "localhost", "/agent)"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
}

#[tokio::test]
async fn error_bodies_carry_codes_not_internal_addresses() {
    fn not_json() -> axum::response::Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"answer\": ",
        )
            .into_response()
    }
    let otlp = FakeOtlp::start().await;
    let agent = agent_answering(not_json).await;
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{}", agent.port), &[]).await;
    let (status, body, _) = ask(&orchestrator).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "agent_invalid_response");
    assert_no_address(&body);
    // The detail is the operator's: in the log, not the body.
    assert!(
        orchestrator
            .printed("not an /agent answer", Duration::from_secs(3))
            .await,
        "{}",
        orchestrator.output()
    );

    let down = self::orchestrator(&otlp, &dead_agent(), &[("AGENT_CONNECT_RETRIES", "0")]).await;
    let (status, body, _) = ask(&down).await;
    assert_eq!(status, 502, "{body}");
    assert_no_address(&body);
}

#[tokio::test]
async fn error_messages_never_echo_the_request() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(&otlp, &dead_agent(), &[]).await;
    let agent = Service::start("agent-service", &service_env(&otlp, &[])).await;
    let hostile = "<img src=x onerror=alert(1)>\nX-Forged: yes";
    for (url, bodies) in [
        (
            orchestrator.url("/ask"),
            vec![
                json!({ "question": "hi", hostile: 1 }),
                json!({ "question": hostile.len() }),
                json!([hostile]),
            ],
        ),
        (
            agent.url("/agent"),
            vec![
                json!({ "message": "hi", hostile: 1 }),
                json!({ "message": [hostile] }),
            ],
        ),
    ] {
        for request in bodies {
            let (status, body, _) = post_json(&url, request.clone()).await;
            assert_eq!(status, 422, "{request}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            for echoed in [
                "<img",
                "onerror",
                "X-Forged",
                "\n",
                &hostile.len().to_string(),
            ] {
                assert!(!message.contains(echoed), "{echoed:?} echoed: {message}");
            }
        }
    }
}

#[tokio::test]
async fn an_endless_model_body_is_a_502_without_growing_memory() {
    let otlp = FakeOtlp::start().await;
    let openai = FakeOpenAi::start_with(Behaviour::Endless).await;
    let agent = agent_with_llm(&otlp, &openai, &[]).await;
    let (status, body, elapsed) = ask_agent(&agent).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "llm_response_too_large");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let rss = vm_rss_kib(agent.pid());
    assert!(rss < 100 * 1024, "agent RSS {rss} KiB");
}

/// Everything the agent printed and exported for this run (once its failure line is out).
async fn everything(agent: &Service, otlp: &FakeOtlp) -> String {
    assert!(
        agent
            .printed("request failed", Duration::from_secs(5))
            .await
    );
    let spans = otlp
        .wait_for(Duration::from_secs(5), |spans| {
            spans.iter().any(|s| s.name == "POST /agent")
        })
        .await;
    agent.output() + &spans.iter().map(CapturedSpan::all_text).collect::<String>()
}

#[tokio::test]
async fn provider_text_never_reaches_logs_or_spans_raw() {
    let cases = [
        // A 4xx whose code carries a newline that would forge a log line.
        Behaviour::ProviderText {
            status: 400,
            code: "bad\nERROR forged: provider line".into(),
            message: "PROVIDER-4XX-TEXT".into(),
        },
        // A 5xx whose body async-openai logs raw at WARN (retried twice).
        Behaviour::ProviderText {
            status: 503,
            code: "overloaded".into(),
            message: "PROVIDER-5XX-TEXT quoting the user's prompt".into(),
        },
        // A 200 it cannot parse, which async-openai logs whole at ERROR.
        Behaviour::MalformedWith("PROVIDER-MALFORMED-TEXT".into()),
    ];
    for behaviour in cases {
        let otlp = FakeOtlp::start().await;
        let openai = FakeOpenAi::start_with(behaviour.clone()).await;
        let agent = agent_with_llm(&otlp, &openai, &[]).await; // content capture off: the default
        let (status, body, _) = ask_agent(&agent).await;
        assert_eq!(status, 502, "{behaviour:?}: {body}");
        let seen = everything(&agent, &otlp).await + &body.to_string();
        for leak in ["PROVIDER-", "Find me a good restaurant", FAKE_KEY] {
            assert!(
                !seen.contains(leak),
                "{behaviour:?}: {leak:?} leaked:\n{seen}"
            );
        }
        assert!(
            !agent
                .output()
                .lines()
                .any(|l| l.starts_with("ERROR forged")),
            "a forged log line:\n{}",
            agent.output()
        );
    }
}

#[tokio::test]
async fn repeated_failures_are_logged_at_a_bounded_rate() {
    let otlp = FakeOtlp::start().await;
    let orchestrator = orchestrator(&otlp, &dead_agent(), &[("AGENT_CONNECT_RETRIES", "1")]).await;
    let before = orchestrator.output().lines().count();
    let client = reqwest::Client::new();
    for _ in 0..100 {
        let response = client
            .post(orchestrator.url("/ask"))
            .json(&json!({ "question": "hi" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 502);
    }
    assert!(
        orchestrator
            .printed("agent_unreachable", Duration::from_secs(3))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let output = orchestrator.output();
    let lines = output.lines().count() - before;
    assert!(
        lines <= 5,
        "100 identical failures wrote {lines} lines:\n{output}"
    );
}

// === Smaller ===

#[tokio::test]
async fn connect_retries_ride_out_an_agent_restart() {
    let otlp = FakeOtlp::start().await;
    let port = free_port();
    let orchestrator = orchestrator(&otlp, &format!("http://127.0.0.1:{port}"), &[]).await;
    let url = orchestrator.url("/ask");
    let asked = tokio::spawn(async move { post_json(&url, json!({ "question": "hi" })).await });
    // The agent comes back a second later, as a restarted container would.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut agent_env = service_env(&otlp, &[]);
    agent_env.insert("PORT".into(), port.to_string());
    let _agent = Service::start("agent-service", &agent_env).await;
    let (status, body, elapsed) = asked.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn an_unsampled_request_returns_no_trace_id() {
    let otlp = FakeOtlp::start().await;
    let agent = FakeAgent::start(200, Duration::ZERO).await;
    let orchestrator = orchestrator(&otlp, &agent.url(), &[]).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (flags, expected) in [("00", None), ("01", Some(trace_id))] {
        let response = reqwest::Client::new()
            .post(orchestrator.url("/ask"))
            .header(
                "traceparent",
                format!("00-{trace_id}-00f067aa0ba902b7-{flags}"),
            )
            .json(&json!({ "question": "hi" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["trace_id"].as_str(), expected, "flags {flags}: {body}");
    }
}
