//! `bench-tools flood SECONDS`: one process doing nothing but make spans, through the services'
//! own pipeline (`telemetry::init`: the tracing bridge, the session processor, the batch
//! queues, the OTLP exporter to `OTEL_EXPORTER_OTLP_ENDPOINT`). One thread creates spans shaped
//! like a `chat` span as fast as it can; the export threads send what they can.
//!
//! Printed (one `FLOOD_JSON` line): CPU per span on the creating thread and on the export
//! threads, from each thread's own CPU clock (`/proc/self/task`), so the answer does not depend
//! on how many cores the box has: one export thread keeps up with span creation on
//! `create_cpu / export_cpu` cores' worth of threads doing nothing but spans.

use std::{
    fs,
    time::{Duration, Instant},
};

use telemetry::genai::GenAiSpan;

/// utime + stime, in seconds, from a `/proc/.../stat` file (0 if it cannot be read).
fn cpu_seconds(stat: &std::path::Path) -> f64 {
    let stat = fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / 100.0 // USER_HZ on Linux
}

/// CPU seconds of this process's threads whose name starts with one of `prefixes`.
fn threads_cpu(prefixes: &[&str]) -> f64 {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter(|task| {
            let comm = fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            prefixes.iter().any(|p| comm.starts_with(p))
        })
        .map(|task| cpu_seconds(&task.path().join("stat")))
        .sum()
}

/// The calling thread's CPU seconds.
fn this_thread_cpu() -> f64 {
    cpu_seconds("/proc/thread-self/stat".as_ref())
}

/// The export side of the pipeline: the batch processors' threads and the blocking HTTP
/// client's runtime threads under them.
const EXPORT_THREADS: &[&str] = &["OpenTelemetry.T", "reqwest-interna"];

pub(crate) async fn run(seconds: u64) {
    let telemetry = telemetry::init("flood", env!("CARGO_PKG_VERSION")).expect("telemetry");
    let stats = telemetry.delivery().expect("the SDK is on");
    let (created, create_cpu, wall) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let cpu = this_thread_cpu();
        let mut created: u64 = 0;
        while started.elapsed() < Duration::from_secs(seconds) {
            for _ in 0..1000 {
                let span = GenAiSpan::client("chat", "mock-model")
                    .with("gen_ai.provider.name", "mock")
                    .with("gen_ai.request.model", "mock-model")
                    .with("gen_ai.response.model", "mock-model")
                    .with("gen_ai.usage.input_tokens", 42_i64)
                    .with("gen_ai.usage.output_tokens", 7_i64);
                drop(span);
            }
            created += 1000;
        }
        (created, this_thread_cpu() - cpu, started.elapsed())
    })
    .await
    .expect("flood thread");
    // Let the queues drain before reading the export threads' clocks.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.snapshot().queued > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let export_cpu = threads_cpu(EXPORT_THREADS);
    let delivery = stats.snapshot();
    telemetry.shutdown().await;
    let create_us = create_cpu * 1e6 / created as f64;
    let export_us = export_cpu * 1e6 / delivery.exported.max(1) as f64;
    println!(
        "FLOOD_JSON {}",
        serde_json::json!({
            "seconds": wall.as_secs_f64(),
            "created": created,
            "created_per_s": created as f64 / wall.as_secs_f64(),
            "exported": delivery.exported,
            "lost": delivery.lost_total(),
            "create_cpu_us_per_span": create_us,
            "export_cpu_us_per_span": export_us,
            "export_threads_cpu_s": export_cpu,
            "cores_one_export_queue_keeps_up_with": create_us / export_us,
        })
    );
}
