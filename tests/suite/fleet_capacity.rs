//! Not a test: the Collector fleet's numbers docs/scaling.md quotes, printed — what one gateway
//! sustains with tail sampling on, and what it holds in memory per trace waiting for its
//! decision. `bench/run --fleet` runs it (`FLEET_BENCH_SECONDS`, default 20; `--smoke` 2):
//!
//!   cargo test -p e2e --release --test suite -- --ignored fleet_capacity --nocapture

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use e2e::{
    collector::Collector,
    fleet::{Fleet, TailSampling},
    prometheus::sum,
    stack::Stack,
    synthetic::{self, SPANS_PER_TRACE, seed, whole_traces},
    tree::SPANS_PER_ASK,
};
use futures::StreamExt;
use serde_json::json;

fn seconds() -> u64 {
    std::env::var("FLEET_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// What a Collector's own metrics say about itself.
struct Own {
    accepted: f64,
    refused: f64,
    cpu: f64,
    heap_mib: f64,
    rss_mib: f64,
    dropped_too_early: f64,
}

async fn own(collector: &Collector, receiver: &str) -> Own {
    let text = collector.own_metrics().await;
    let mib = |name| sum(&text, name, &[]) / (1024.0 * 1024.0);
    Own {
        accepted: sum(
            &text,
            "otelcol_receiver_accepted_spans",
            &[("receiver", receiver)],
        ),
        refused: sum(
            &text,
            "otelcol_receiver_refused_spans",
            &[("receiver", receiver)],
        ),
        cpu: sum(&text, "otelcol_process_cpu_seconds", &[]),
        heap_mib: mib("otelcol_process_runtime_heap_alloc_bytes"),
        rss_mib: mib("otelcol_process_memory_rss"),
        dropped_too_early: sum(
            &text,
            "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early",
            &[],
        ),
    }
}

/// Sends whole traces, 100 per export, from `senders` tasks for `duration` — as fast as they
/// are accepted, or at about `per_second` traces per second. Returns the traces sent.
async fn load(
    url: &str,
    first: u64,
    senders: u64,
    duration: Duration,
    per_second: Option<u64>,
) -> u64 {
    let next = Arc::new(AtomicU64::new(first));
    let deadline = Instant::now() + duration;
    let seed = seed();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (next, url) = (next.clone(), url.to_owned());
            tokio::spawn(async move {
                let mut pace = per_second.map(|rate| {
                    tokio::time::interval(Duration::from_secs_f64(
                        (100 * senders) as f64 / rate as f64,
                    ))
                });
                while Instant::now() < deadline {
                    if let Some(pace) = pace.as_mut() {
                        pace.tick().await;
                    }
                    let n = next.fetch_add(100, Ordering::Relaxed);
                    synthetic::send(&url, whole_traces(seed, n, 100)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    next.load(Ordering::Relaxed) - first
}

/// One load step against a fresh agent tier + one gateway: what the gateway accepted per
/// second, refused and dropped early, and the CPU each Collector spent per span.
async fn step(name: &str, sampling: TailSampling, seconds: u64, per_second: Option<u64>) {
    let fleet = Fleet::start(1, sampling).await;
    let gateway = fleet.gateways[0].collector.as_ref().unwrap();
    let (agent_before, gateway_before) = (
        own(&fleet.agent, "otlp").await,
        own(gateway, "otlp/gateway").await,
    );
    let started = Instant::now();
    let traces = load(
        &fleet.traces_url(),
        0,
        4,
        Duration::from_secs(seconds),
        per_second,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    // What the agent tier still holds reaches the gateway within its batch timeout.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (agent_after, gateway_after) = (
        own(&fleet.agent, "otlp").await,
        own(gateway, "otlp/gateway").await,
    );
    let accepted = gateway_after.accepted - gateway_before.accepted;
    let gateway_cpu = gateway_after.cpu - gateway_before.cpu;
    let agent_cpu = agent_after.cpu - agent_before.cpu;
    println!(
        "  {name}: {:.0} spans/s reached the gateway ({traces} traces of {SPANS_PER_TRACE} spans sent in {elapsed:.1} s); refused: agent tier {}, gateway {}; traces dropped too early (num_traces full): {}",
        accepted / elapsed,
        agent_after.refused - agent_before.refused,
        gateway_after.refused - gateway_before.refused,
        gateway_after.dropped_too_early
    );
    println!(
        "  {name}: gateway {:.1} µs CPU per span ({:.0} spans per gateway CPU-second), agent tier {:.1} µs per span; gateway RSS {:.0} MiB",
        gateway_cpu / accepted * 1e6,
        accepted / gateway_cpu,
        agent_cpu / accepted * 1e6,
        gateway_after.rss_mib
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark (bench/run --fleet), not a test"]
async fn fleet_capacity() {
    let seconds = seconds();
    println!(
        "fleet capacity ({seconds} s per step; agent tier, one gateway and the load all on this machine)"
    );

    // 1. Steady: 5,000 traces/s (15,000 spans/s); a 5 s decision wait holds 25,000 traces.
    let sampling = TailSampling {
        decision_wait: Duration::from_secs(5),
        latency_ms: 5_000,
        percent: 10,
        // Room for what the steady step holds (25,000): this step measures CPU, not memory.
        num_traces: 50_000,
    };
    step("steady 5,000 traces/s", sampling, seconds, Some(5_000)).await;
    // 2. Flat out: four senders as fast as the agent tier accepts.
    step("flat out", sampling, seconds, None).await;

    // 3. Memory: traces held waiting for their decision (decision_wait longer than the run).
    let holding = TailSampling {
        decision_wait: Duration::from_secs(600),
        latency_ms: 5_000,
        percent: 10,
        num_traces: 100_000,
    };
    let fleet = Fleet::start(1, holding).await;
    let gateway = fleet.gateways[0].collector.as_ref().unwrap();
    let step = 10_000 * seconds.min(20) / 20;
    let mut held = 0;
    let base = own(gateway, "otlp/gateway").await;
    let mut last = (0.0, base.heap_mib);
    for _ in 0..4 {
        let seed = seed();
        for first in (held..held + step).step_by(100) {
            synthetic::send(&fleet.traces_url(), whole_traces(seed, first, 100)).await;
        }
        held += step;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = own(gateway, "otlp/gateway").await;
        println!(
            "  holding {held} traces ({} spans): heap {:.0} MiB, RSS {:.0} MiB",
            now.accepted as u64, now.heap_mib, now.rss_mib
        );
        last = (held as f64, now.heap_mib);
    }
    let per_trace_kib = (last.1 - base.heap_mib) * 1024.0 / last.0;
    println!(
        "  memory: about {per_trace_kib:.1} KiB of heap per held synthetic trace of {SPANS_PER_TRACE} spans; the default num_traces, 10000, ≈ {:.0} MiB",
        per_trace_kib * 10_000.0 / 1024.0
    );
    drop(fleet);

    // 4. The same with real /ask traces: ten spans from both services, prompts and answers on
    //    them as compose records them (SPAN_ONLY).
    let fleet = Fleet::start(1, holding).await;
    let gateway = fleet.gateways[0].collector.as_ref().unwrap();
    let stack = Stack::start(
        &format!("http://127.0.0.1:{}", fleet.agent.ports.http),
        &[(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "SPAN_ONLY",
        )],
    )
    .await;
    let base = own(gateway, "otlp/gateway").await;
    let asks = 2_000 * seconds.min(20) / 20;
    let mut held = 0;
    let mut heap = base.heap_mib;
    for _ in 0..2 {
        futures::stream::iter(0..asks)
            .for_each_concurrent(16, |_| async {
                let (status, _) = stack
                    .ask(&json!({ "question": "Find me a good restaurant" }), None)
                    .await;
                assert_eq!(status, 200);
            })
            .await;
        held += asks;
        let expected = (held * SPANS_PER_ASK as u64) as f64;
        for _ in 0..200 {
            if own(gateway, "otlp/gateway").await.accepted >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = own(gateway, "otlp/gateway").await;
        heap = now.heap_mib;
        println!(
            "  holding {held} /ask traces ({} spans): heap {:.0} MiB, RSS {:.0} MiB",
            now.accepted as u64, now.heap_mib, now.rss_mib
        );
    }
    let per_ask_kib = (heap - base.heap_mib) * 1024.0 / held as f64;
    println!(
        "  memory: about {per_ask_kib:.1} KiB of heap per held /ask trace ({SPANS_PER_ASK} spans, content on); the default num_traces, 10000, ≈ {:.0} MiB",
        per_ask_kib * 10_000.0 / 1024.0
    );
}
