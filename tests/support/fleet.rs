//! The two-tier Collector fleet as processes on 127.0.0.1: an agent tier
//! (`otel-collector-config.fleet.yaml` with the static list of `collector/static-gateways.yaml`,
//! as `scripts/run-native --gateways N` runs it) in front of gateways
//! (`otel-collector-config.gateway.yaml`), each gateway exporting to a Galileo stand-in of its
//! own — so a test sees which gateway sent what.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use crate::{
    CapturedSpan, FakeOtlp,
    collector::{Collector, Ports},
    workspace_root,
};

/// The gateways' tail-sampling settings (`OTELCOL_TAIL_*`).
#[derive(Clone, Copy, Debug)]
pub struct TailSampling {
    pub decision_wait: Duration,
    pub latency_ms: u64,
    pub percent: u32,
    pub num_traces: u32,
}

impl TailSampling {
    /// Keeps every trace: for tests that follow traces, not the sampling.
    pub fn keep_all(decision_wait: Duration) -> Self {
        Self {
            decision_wait,
            latency_ms: 60_000,
            percent: 100,
            num_traces: 10_000,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "OTELCOL_TAIL_DECISION_WAIT",
                format!("{}ms", self.decision_wait.as_millis()),
            ),
            ("OTELCOL_TAIL_LATENCY_MS", self.latency_ms.to_string()),
            ("OTELCOL_TAIL_SAMPLING_PERCENT", self.percent.to_string()),
            ("OTELCOL_TAIL_NUM_TRACES", self.num_traces.to_string()),
            ("OTELCOL_SPAN_METRICS_FLUSH_INTERVAL", "1s".to_owned()),
        ]
    }
}

pub struct Gateway {
    pub collector: Option<Collector>,
    pub ports: Ports,
    /// What this gateway sent on to Galileo.
    pub galileo: FakeOtlp,
}

pub struct Fleet {
    pub agent: Collector,
    pub gateways: Vec<Gateway>,
    sampling: TailSampling,
    /// The agent tier's list of gateways, rewritten by [`Fleet::route_to`].
    members: PathBuf,
}

const KEY: &str = "fleet-test-key";

fn config(name: &str) -> PathBuf {
    workspace_root().join(name)
}

impl Fleet {
    /// `gateways` gateways, then the agent tier routing to all of them.
    pub async fn start(gateways: usize, sampling: TailSampling) -> Self {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let members = std::env::temp_dir().join(format!(
            "fleet-members-{}-{}.yaml",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        ));
        let mut started = Vec::new();
        for _ in 0..gateways {
            started.push(Self::gateway(Ports::free(), sampling).await);
        }
        // The list twice: in OTELCOL_GATEWAYS, as collector/static-gateways.yaml (the native
        // run's file) reads it, and in an overlay file after it that `route_to` can rewrite.
        let list = hostnames(&started, &(0..gateways).collect::<Vec<_>>());
        write_members(&members, &list);
        let agent = Collector::start_on(
            Ports::free(),
            &[
                config("otel-collector-config.fleet.yaml"),
                config("collector/static-gateways.yaml"),
                members.clone(),
            ],
            &[("OTELCOL_GATEWAYS", list)],
        )
        .await;
        Self {
            agent,
            gateways: started,
            sampling,
            members,
        }
    }

    async fn gateway(ports: Ports, sampling: TailSampling) -> Gateway {
        let galileo = FakeOtlp::galileo("/otel/traces", KEY).await;
        let collector = Self::start_gateway(ports, &galileo, sampling).await;
        Gateway {
            collector: Some(collector),
            ports,
            galileo,
        }
    }

    async fn start_gateway(ports: Ports, galileo: &FakeOtlp, sampling: TailSampling) -> Collector {
        let env: Vec<(&str, String)> = [
            ("GALILEO_OTLP_ENDPOINT", galileo.traces_url()),
            ("GALILEO_API_KEY", KEY.to_owned()),
            // Only counts: the tests read what reached Galileo, not the debug output.
            ("OTELCOL_DEBUG_VERBOSITY", "basic".to_owned()),
        ]
        .into_iter()
        .chain(sampling.env())
        .collect();
        Collector::start_on(ports, &[config("otel-collector-config.gateway.yaml")], &env).await
    }

    /// Where the services (or a test) send OTLP/HTTP traces: the agent tier.
    pub fn traces_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.agent.ports.http)
    }

    /// Starts one more gateway, not yet in the agent tier's list; returns its index.
    pub async fn add_gateway(&mut self) -> usize {
        self.gateways
            .push(Self::gateway(Ports::free(), self.sampling).await);
        self.gateways.len() - 1
    }

    /// Makes the agent tier route to exactly `members` (indexes into `gateways`): the list is
    /// rewritten and the agent reloads its configuration (SIGHUP), as an operator changing a
    /// static list does. Returns once the reloaded pipelines run.
    pub async fn route_to(&self, members: &[usize]) {
        const READY: &str = "Everything is ready";
        let before = self.agent.output().matches(READY).count();
        write_members(&self.members, &hostnames(&self.gateways, members));
        self.agent.process.signal("HUP");
        for _ in 0..300 {
            if self.agent.output().matches(READY).count() > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the agent tier did not reload:\n{}", self.agent.output());
    }

    /// SIGKILL: the gateway loses whatever it held.
    pub fn kill_gateway(&mut self, index: usize) {
        if let Some(mut collector) = self.gateways[index].collector.take() {
            collector.process.kill();
        }
    }

    /// Starts a killed gateway again on its ports.
    pub async fn restart_gateway(&mut self, index: usize) {
        let gateway = &self.gateways[index];
        let collector = Self::start_gateway(gateway.ports, &gateway.galileo, self.sampling).await;
        self.gateways[index].collector = Some(collector);
    }

    /// Every span each gateway sent to Galileo, by gateway.
    pub fn delivered(&self) -> Vec<Vec<CapturedSpan>> {
        self.gateways.iter().map(|g| g.galileo.spans()).collect()
    }

    /// The sum of `name` over every running gateway's span metrics (its Prometheus exporter).
    pub async fn span_metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut total = 0.0;
        for collector in self.gateways.iter().filter_map(|g| g.collector.as_ref()) {
            total += crate::prometheus::sum(&collector.exported_metrics().await, name, labels);
        }
        total
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.members);
    }
}

fn hostnames(gateways: &[Gateway], members: &[usize]) -> String {
    let list: Vec<String> = members
        .iter()
        .map(|&i| format!("127.0.0.1:{}", gateways[i].ports.grpc))
        .collect();
    format!("[{}]", list.join(", "))
}

fn write_members(path: &PathBuf, list: &str) {
    let yaml = format!(
        "exporters:\n  load_balancing:\n    resolver:\n      static:\n        hostnames: {list}\n"
    );
    std::fs::write(path, yaml).expect("write the gateway list");
}
