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
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use e2e::{
    collector::Collector,
    fleet::{Fleet, TailSampling},
    prometheus::sum,
    synthetic::{self, SPANS_PER_TRACE, Shape, Trace},
};

fn seconds() -> u64 {
    std::env::var("FLEET_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

fn seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
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

/// Sends whole traces, 100 per export, from `senders` tasks for `duration`; returns the traces sent.
async fn load(url: &str, first: u64, senders: u64, duration: Duration) -> u64 {
    let next = Arc::new(AtomicU64::new(first));
    let deadline = Instant::now() + duration;
    let seed = seed();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (next, url) = (next.clone(), url.to_owned());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = next.fetch_add(100, Ordering::Relaxed);
                    let spans = (n..n + 100)
                        .flat_map(|i| {
                            let trace = Trace::new(seed, i, Shape::Ok, Duration::ZERO);
                            (0..SPANS_PER_TRACE).map(move |s| trace.span(s))
                        })
                        .collect();
                    synthetic::send(&url, spans).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    next.load(Ordering::Relaxed) - first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark (bench/run --fleet), not a test"]
async fn fleet_capacity() {
    let seconds = seconds();
    println!(
        "fleet capacity ({seconds} s per step; agent tier, one gateway and the load all on this machine)"
    );

    // 1. Throughput: the agent tier in front of one gateway with the default policies.
    let sampling = TailSampling {
        decision_wait: Duration::from_secs(5),
        latency_ms: 5_000,
        percent: 10,
    };
    let fleet = Fleet::start(1, sampling).await;
    let gateway = fleet.gateways[0].collector.as_ref().unwrap();
    let (agent_before, gateway_before) = (
        own(&fleet.agent, "otlp").await,
        own(gateway, "otlp/gateway").await,
    );
    let started = Instant::now();
    let traces = load(&fleet.traces_url(), 0, 4, Duration::from_secs(seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (agent_after, gateway_after) = (
        own(&fleet.agent, "otlp").await,
        own(gateway, "otlp/gateway").await,
    );
    let accepted = gateway_after.accepted - gateway_before.accepted;
    let gateway_cpu = gateway_after.cpu - gateway_before.cpu;
    let agent_cpu = agent_after.cpu - agent_before.cpu;
    println!(
        "  throughput: {:.0} spans/s reached the gateway ({traces} traces of {SPANS_PER_TRACE} spans sent in {elapsed:.1} s); refused: agent {}, gateway {}; dropped too early: {}",
        accepted / elapsed,
        agent_after.refused - agent_before.refused,
        gateway_after.refused - gateway_before.refused,
        gateway_after.dropped_too_early
    );
    println!(
        "  cpu: gateway {:.1} µs per span ({:.0} spans per gateway CPU-second), agent tier {:.1} µs per span; gateway RSS {:.0} MiB",
        gateway_cpu / accepted * 1e6,
        accepted / gateway_cpu,
        agent_cpu / accepted * 1e6,
        gateway_after.rss_mib
    );
    drop(fleet);

    // 2. Memory: traces held waiting for their decision (decision_wait longer than the run).
    let holding = TailSampling {
        decision_wait: Duration::from_secs(600),
        latency_ms: 5_000,
        percent: 10,
    };
    let fleet = Fleet::start(1, holding).await;
    let gateway = fleet.gateways[0].collector.as_ref().unwrap();
    let step = 10_000 * seconds.min(20) / 20;
    let mut held = 0;
    let base = own(gateway, "otlp/gateway").await;
    let mut last = (0.0, base.heap_mib);
    for _ in 0..4 {
        let seed = seed();
        for chunk in (held..held + step).step_by(100) {
            let spans = (chunk..chunk + 100)
                .flat_map(|i| {
                    let trace = Trace::new(seed, i, Shape::Ok, Duration::ZERO);
                    (0..SPANS_PER_TRACE).map(move |s| trace.span(s))
                })
                .collect();
            synthetic::send(&fleet.traces_url(), spans).await;
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
        "  memory: about {per_trace_kib:.1} KiB of heap per held trace of {SPANS_PER_TRACE} spans; num_traces 50000 ≈ {:.0} MiB",
        per_trace_kib * 50_000.0 / 1024.0
    );
}
