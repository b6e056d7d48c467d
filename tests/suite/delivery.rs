//! Span delivery: every span reaches the Collector or is counted as lost, by reason, and the
//! count is exact. The receiver is a fake Collector made slow or refusing; loads are bounded.

use std::time::Duration;

use e2e::{FakeOtlp, Service, stack::Stack, tree::SPANS_PER_ASK};
use serde_json::json;

/// `rounds` × `parallel` `/ask` requests, each of which must succeed.
async fn ask_rounds(orchestrator: &Service, rounds: usize, parallel: usize) -> usize {
    let client = reqwest::Client::new();
    for round in 0..rounds {
        let requests = (0..parallel).map(|i| {
            client
                .post(orchestrator.url("/ask"))
                .json(&json!({ "question": format!("Find me a good restaurant #{round}-{i}") }))
                .timeout(Duration::from_secs(20))
                .send()
        });
        for response in futures::future::join_all(requests).await {
            assert_eq!(response.expect("request completes").status(), 200);
        }
    }
    rounds * parallel
}

/// Stops both services and returns their `span delivery` totals summed: (exported, lost, and
/// the lost ones by reason).
async fn stop_and_total(stack: &mut Stack) -> std::collections::HashMap<String, u64> {
    let mut totals = std::collections::HashMap::new();
    for service in [&mut stack.orchestrator, &mut stack.agent] {
        let status = service.stop(Duration::from_secs(20)).await;
        assert!(status.success(), "{status}");
        let output = service.output();
        let report = service
            .delivery_totals()
            .unwrap_or_else(|| panic!("no `span delivery` line at shutdown:\n{output}"));
        for (key, value) in report {
            *totals.entry(key).or_default() += value;
        }
    }
    totals
}

/// One `/ask` whose whole trace arrives; then both services stop, having counted nothing lost.
/// Their delivery totals.
async fn ask_and_lose_nothing(
    stack: &mut Stack,
    otlp: &FakeOtlp,
) -> std::collections::HashMap<String, u64> {
    let (body, spans) = stack
        .ask_traced(otlp, &json!({ "question": "Find me a good restaurant" }))
        .await;
    assert_eq!(spans.len(), SPANS_PER_ASK, "{body}");
    let totals = stop_and_total(stack).await;
    assert_eq!(totals["agent_tracing.spans.lost"], 0, "{totals:?}");
    totals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_loses_spans_and_the_report_counts_exactly_those_that_never_arrived() {
    let otlp = FakeOtlp::start().await;
    // A Collector that takes 300 ms per export against a 16-span queue: it cannot keep up.
    otlp.answer_after(Duration::from_millis(300));
    let mut stack = Stack::start(
        &otlp.base_url(),
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "1"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    let requests = ask_rounds(&stack.orchestrator, 4, 10).await;
    let totals = stop_and_total(&mut stack).await;

    let created = (requests * SPANS_PER_ASK) as u64;
    let arrived = otlp.spans().len() as u64;
    assert!(
        arrived < created,
        "the queue must overflow for this test to mean anything"
    );
    assert_eq!(
        totals["agent_tracing.spans.exported"], arrived,
        "exported = arrived: {totals:?}"
    );
    assert_eq!(
        totals["agent_tracing.spans.lost"],
        created - arrived,
        "lost = never arrived: {totals:?}"
    );
    assert_eq!(
        totals["agent_tracing.spans.queue_full"]
            + totals["agent_tracing.spans.export_failed"]
            + totals["agent_tracing.spans.shutdown"],
        totals["agent_tracing.spans.lost"],
        "{totals:?}"
    );
    assert!(totals["agent_tracing.spans.queue_full"] > 0, "{totals:?}");
    for service in [&stack.orchestrator, &stack.agent] {
        let output = service.output();
        assert_eq!(
            output.matches("spans are being lost").count(),
            1,
            "the first loss is said once, at once:\n{output}"
        );
        assert!(
            !output.contains("BatchSpanProcessor"),
            "the SDK's own drop messages would be a second, uncounted report:\n{output}"
        );
    }
}

/// A 429's `Retry-After` is waited out before the batch goes again (the backoff alone would send
/// it after 0.1-0.2 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_batch_goes_again_after_the_retry_after_it_was_given() {
    let otlp = FakeOtlp::start().await;
    otlp.refuse_next(&[(429, Some("1"))]);
    // One export queue per service, so a service's next request after the refusal is its retry.
    let mut stack = Stack::start(
        &otlp.base_url(),
        &[("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "1")],
    )
    .await;
    ask_and_lose_nothing(&mut stack, &otlp).await;
    let requests = otlp.requests();
    let refused = requests.iter().position(|r| r.status == 429).unwrap();
    // The refused batch's exporter sends nothing else until it goes again: its service's next
    // request is that retry. The other service may export in between.
    let retry = requests[refused + 1..]
        .iter()
        .find(|r| r.service == requests[refused].service)
        .expect("the refused batch was sent again");
    let waited = retry.at - requests[refused].at;
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
}

/// A 4xx other than 429 means the Collector will never take this batch: it is not sent again,
/// and its spans are counted as lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_as_malformed_is_not_sent_again_and_is_counted() {
    let otlp = FakeOtlp::start().await;
    otlp.refuse_next(&[(400, None)]);
    let mut stack = Stack::start(&otlp.base_url(), &[]).await;
    let (status, _) = stack
        .ask(&json!({ "question": "Find me a good restaurant" }), None)
        .await;
    assert_eq!(status, 200);
    let totals = stop_and_total(&mut stack).await;
    let (lost, exported) = (
        totals["agent_tracing.spans.lost"],
        totals["agent_tracing.spans.exported"],
    );
    assert!(lost > 0, "{totals:?}");
    assert_eq!(lost + exported, SPANS_PER_ASK as u64, "{totals:?}");
    let statuses: Vec<u16> = otlp.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_refuses_gets_the_batch_again_and_nothing_is_lost() {
    let otlp = FakeOtlp::start().await;
    // What the Collector's memory_limiter answers under pressure: 503, then 429 with a hint.
    otlp.refuse_next(&[(503, None), (429, Some("1")), (503, None)]);
    let mut stack = Stack::start(&otlp.base_url(), &[]).await;
    let totals = ask_and_lose_nothing(&mut stack, &otlp).await;
    assert_eq!(
        totals["agent_tracing.spans.exported"], SPANS_PER_ASK as u64,
        "{totals:?}"
    );
    let statuses: Vec<u16> = otlp.requests().iter().map(|r| r.status).collect();
    for refused in [503, 429] {
        assert!(statuses.contains(&refused), "{statuses:?}");
    }
}
