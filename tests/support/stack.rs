//! Both services as processes, wired to each other and to an OTLP endpoint: the fixture most
//! whole-process tests start from (zero2prod's `spawn_app`, one level up).

use std::{collections::HashMap, time::Duration};

use serde_json::Value;

use crate::{CapturedSpan, FakeOtlp, Service, tree};

pub struct Stack {
    pub agent: Service,
    pub orchestrator: Service,
}

impl Stack {
    /// Starts the agent, then the orchestrator pointed at it, both exporting to
    /// `otlp_endpoint` with a 100 ms batch delay and a 0 ms mock model; `extra` overrides.
    pub async fn start(otlp_endpoint: &str, extra: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("MOCK_LLM_LATENCY_MS", "0"),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let agent = Service::start("agent-service", &env).await;
        env.insert("AGENT_SERVICE_URL".into(), agent.url(""));
        let orchestrator = Service::start("orchestrator", &env).await;
        Self {
            agent,
            orchestrator,
        }
    }

    /// `POST /ask` with `body` (and a caller `traceparent`, if given): status and JSON body.
    pub async fn ask(&self, body: &Value, traceparent: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(self.orchestrator.url("/ask"))
            .json(body)
            .timeout(Duration::from_secs(20));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = request.send().await.expect("POST /ask");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `POST /ask` that must succeed, then the spans of its trace once all of them arrived
    /// at `otlp` (asserting the tree).
    pub async fn ask_traced(&self, otlp: &FakeOtlp, body: &Value) -> (Value, Vec<CapturedSpan>) {
        let (status, body) = self.ask(body, None).await;
        assert_eq!(status, 200, "{body}");
        let trace_id = body["trace_id"].as_str().expect("trace_id").to_owned();
        let trace = otlp.wait_for_trace(&trace_id, tree::SPANS_PER_ASK).await;
        tree::assert_ask_tree(&trace);
        (body, trace)
    }
}
