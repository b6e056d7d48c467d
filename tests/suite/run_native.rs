//! `scripts/run-native`, run as a user runs it (with free ports instead of the defaults): it must
//! say what went wrong — a port taken while it was building, a service that died at start, what
//! Galileo answered — instead of failing later with a misleading symptom.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use e2e::{
    FakeOtlp, free_port,
    process::{Background, free_port_block},
    workspace_root,
};

struct Ports {
    orchestrator: u16,
    agent: u16,
    grpc: u16,
    http: u16,
    health: u16,
    metrics: u16,
    prometheus: u16,
    jaeger: u16,
    jaeger_otlp: u16,
}

impl Ports {
    fn free() -> Self {
        Self {
            orchestrator: free_port(),
            agent: free_port(),
            grpc: free_port(),
            http: free_port(),
            health: free_port(),
            metrics: free_port(),
            prometheus: free_port(),
            jaeger: free_port(),
            jaeger_otlp: free_port(),
        }
    }
}

/// Runs `scripts/run-native --once` with `ports` and `env`; calls `on_line` with each stdout
/// line as it comes. Returns (exit success, stdout + stderr).
fn run_native(
    ports: &Ports,
    logs: &PathBuf,
    env: &[(&str, String)],
    on_line: impl FnMut(&str),
) -> (bool, String) {
    run_native_with(&[], ports, logs, env, on_line)
}

/// [`run_native`] with more options (`--jaeger`).
fn run_native_with(
    options: &[&str],
    ports: &Ports,
    logs: &PathBuf,
    env: &[(&str, String)],
    mut on_line: impl FnMut(&str),
) -> (bool, String) {
    let mut child = Command::new(workspace_root().join("scripts/run-native"))
        .arg("--once")
        .args(options)
        .current_dir(workspace_root())
        .env("ORCHESTRATOR_PORT", ports.orchestrator.to_string())
        .env("AGENT_PORT", ports.agent.to_string())
        .env("OTLP_GRPC_PORT", ports.grpc.to_string())
        .env("OTLP_HTTP_PORT", ports.http.to_string())
        .env("OTELCOL_HEALTH_PORT", ports.health.to_string())
        .env("OTELCOL_METRICS_PORT", ports.metrics.to_string())
        .env("OTELCOL_PROMETHEUS_PORT", ports.prometheus.to_string())
        .env("JAEGER_PORT", ports.jaeger.to_string())
        .env("JAEGER_OTLP_PORT", ports.jaeger_otlp.to_string())
        .env("OTELCOL_BATCH_TIMEOUT", "200ms")
        .env("RUN_NATIVE_LOGS", logs)
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/run-native");
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let stderr = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = stderr.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        })
    };
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        on_line(&line);
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let all = stdout + &stderr.lock().unwrap();
    (status.success(), all)
}

fn logs_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-run-native").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_taken_while_it_builds_stops_the_run_with_the_port_named() {
    let ports = Ports::free();
    let logs = logs_dir("port-race");
    let agent_port = ports.agent;
    // Another process takes the agent's port once the Collector starts: mid-way, after any
    // check at the top of the script, and it even answers /health like an agent would.
    let squatter: Arc<Mutex<Option<std::net::TcpListener>>> = Arc::default();
    let held = squatter.clone();
    let (ok, output) = tokio::task::spawn_blocking(move || {
        run_native(&ports, &logs, &[], |line| {
            if line.contains("starting the Collector") {
                *held.lock().unwrap() =
                    Some(std::net::TcpListener::bind(("127.0.0.1", agent_port)).unwrap());
            }
        })
    })
    .await
    .unwrap();
    assert!(squatter.lock().unwrap().is_some(), "{output}");
    assert!(
        !ok,
        "the run went on with a port it does not own:\n{output}"
    );
    assert!(
        output.contains(&format!(
            "port {agent_port}, needed by agent-service, is already in use"
        )),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_dies_at_start_is_reported_with_its_log_and_logs_are_kept() {
    let ports = Ports::free();
    let logs = logs_dir("dies");
    let health = ports.health;
    let bad = [("MOCK_LLM_LATENCY_MS", "soon".to_owned())];
    let first_logs = logs.clone();
    let (ok, output) =
        tokio::task::spawn_blocking(move || run_native(&ports, &first_logs, &bad, |_| {}))
            .await
            .unwrap();
    assert!(!ok, "{output}");
    assert!(
        output.contains("agent-service exited during start-up"),
        "{output}"
    );
    // The tail of its own log says why.
    assert!(output.contains("MOCK_LLM_LATENCY_MS"), "{output}");
    // Everything it started was stopped.
    assert!(!answers(health), "the Collector was left running");

    // A second run keeps the first run's logs beside its own.
    let ports = Ports::free();
    let again = logs.clone();
    let bad = [("MOCK_LLM_LATENCY_MS", "later".to_owned())];
    tokio::task::spawn_blocking(move || run_native(&ports, &again, &bad, |_| {}))
        .await
        .unwrap();
    let previous = std::fs::read_to_string(logs.join("previous/agent-service.log")).unwrap();
    assert!(previous.contains("soon"), "{previous}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_galileo_answered_is_reported_not_assumed() {
    let refusing = FakeOtlp::galileo("/otel/traces", "the-right-key").await;
    let missing = Background::serve(axum::Router::new()).await; // 404 for every path
    for (endpoint, key, expected) in [
        (
            format!("http://127.0.0.1:{}/otel/traces", refusing.port),
            "a-wrong-key",
            "refused the batch with HTTP 401",
        ),
        (
            format!("http://127.0.0.1:{}/otel/traces", refusing.port),
            "the-right-key",
            "no export error logged — accepted",
        ),
        (
            format!("http://127.0.0.1:{}/otel/traces", missing.port),
            "any",
            "HTTP 404",
        ),
        (
            format!("http://127.0.0.1:{}/otel/traces", free_port()),
            "any",
            "cannot connect",
        ),
    ] {
        let ports = Ports::free();
        let logs = logs_dir("galileo");
        let env = [
            ("GALILEO_OTLP_ENDPOINT", endpoint.clone()),
            ("GALILEO_API_KEY", key.to_owned()),
        ];
        let started = Instant::now();
        let (ok, output) =
            tokio::task::spawn_blocking(move || run_native(&ports, &logs, &env, |_| {}))
                .await
                .unwrap();
        assert!(ok, "{endpoint}: {output}");
        let said = output
            .lines()
            .find(|l| l.contains("Galileo:"))
            .unwrap_or_default();
        assert!(
            said.contains(expected),
            "{endpoint} {key}: {said}\n{output}"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    assert!(!refusing.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_jaeger_the_native_run_shows_the_trace_in_jaegers_api() {
    let ports = Ports::free();
    let logs = logs_dir("jaeger");
    let (ok, output) = tokio::task::spawn_blocking(move || {
        run_native_with(&["--jaeger"], &ports, &logs, &[], |_| {})
    })
    .await
    .unwrap();
    assert!(ok, "{output}");
    assert!(output.contains("Jaeger: 10 spans"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_gateways_the_trace_goes_through_the_agent_tier_to_the_gateway_that_keeps_it() {
    let galileo = FakeOtlp::galileo("/otel/traces", "fleet-key").await;
    for (percent, expected) in [
        ("100", "which kept it"),
        ("0", "Galileo: not sent — the gateways dropped the trace"),
    ] {
        let ports = Ports::free();
        let logs = logs_dir("gateways");
        let env = [
            ("GALILEO_OTLP_ENDPOINT", galileo.traces_url()),
            ("GALILEO_API_KEY", "fleet-key".to_owned()),
            // Gateway i uses base + 10·(i−1) … + 3: a block no other test can take meanwhile.
            ("GATEWAY_PORT_BASE", free_port_block(14).to_string()),
            ("OTELCOL_TAIL_SAMPLING_PERCENT", percent.to_owned()),
            ("OTELCOL_TAIL_DECISION_WAIT", "2s".to_owned()),
        ];
        let (ok, output) = tokio::task::spawn_blocking(move || {
            run_native_with(&["--gateways", "2"], &ports, &logs, &env, |_| {})
        })
        .await
        .unwrap();
        assert!(ok, "{output}");
        assert!(output.contains(expected), "{output}");
        let trace_id = output
            .split("\"trace_id\":\"")
            .nth(1)
            .map(|rest| rest[..32].to_owned())
            .expect("a trace_id");
        let at_galileo = galileo
            .spans()
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .count();
        if percent == "100" {
            assert!(
                output.contains("no export error logged — accepted"),
                "{output}"
            );
            let at_galileo = galileo
                .wait_for_trace(&trace_id, e2e::tree::SPANS_PER_ASK)
                .await
                .len();
            assert_eq!(at_galileo, e2e::tree::SPANS_PER_ASK);
        } else {
            assert_eq!(at_galileo, 0, "a dropped trace reached Galileo");
        }
    }
}
