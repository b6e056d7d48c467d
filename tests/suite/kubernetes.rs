//! `deploy/k8s`, offline: rendered with kustomize and validated strictly against the Kubernetes
//! JSON schemas by `deploy/k8s/validate.sh` (no cluster runs here — validated, not applied),
//! then checked for what a schema cannot say: hardened pods, the same Collector configs compose
//! uses, gateways found by DNS and disrupted one at a time, the Galileo key from a Secret.

use std::{
    process::Command,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use e2e::workspace_root;
use serde::Deserialize;
use serde_yaml::Value;

/// Runs `deploy/k8s/validate.sh` with `args`: (success, stdout, stderr).
fn validate(args: &[&str]) -> (bool, String, String) {
    let output = Command::new("bash")
        .arg(workspace_root().join("deploy/k8s/validate.sh"))
        .args(args)
        .output()
        .expect("run deploy/k8s/validate.sh");
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The rendered manifests, once per test run (validated, or the test fails here).
fn rendered() -> &'static str {
    static RENDERED: OnceLock<String> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let (ok, stdout, stderr) = validate(&[]);
        assert!(ok, "deploy/k8s does not validate:\n{stderr}");
        stdout
    })
}

fn manifests() -> Vec<Value> {
    serde_yaml::Deserializer::from_str(rendered())
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect()
}

fn find<'a>(all: &'a [Value], kind: &str, name: &str) -> &'a Value {
    all.iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn containers(deployment: &Value) -> &Vec<Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap()
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"] == name)
}

#[test]
fn every_manifest_validates_and_a_misspelt_field_does_not() {
    let all = manifests();
    let kinds: Vec<(&str, &str)> = all
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap(),
                m["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("Deployment", "agent-service"),
        ("Deployment", "orchestrator"),
        ("Deployment", "otel-collector"),
        ("Deployment", "otel-gateway"),
        ("Service", "otel-gateway"),
        ("PodDisruptionBudget", "otel-gateway"),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} not in {kinds:?}");
    }
    // The validator is strict: the same manifests with one misspelt field are refused.
    static RUN: AtomicU32 = AtomicU32::new(0);
    let broken = std::env::temp_dir().join(format!(
        "k8s-broken-{}-{}.yaml",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(
        &broken,
        rendered().replacen("  replicas: 2\n", "  replicas: 2\n  replicaz: 2\n", 1),
    )
    .unwrap();
    let (ok, _, stderr) = validate(&[broken.to_str().unwrap()]);
    let _ = std::fs::remove_file(&broken);
    assert!(!ok, "a misspelt field passed validation");
    assert!(stderr.contains("'replicaz' was unexpected"), "{stderr}");
}

#[test]
fn every_container_runs_non_root_read_only_bounded_and_probed() {
    let all = manifests();
    for deployment in all.iter().filter(|m| m["kind"] == "Deployment") {
        let name = deployment["metadata"]["name"].as_str().unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        for container in containers(deployment) {
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(security["capabilities"]["drop"][0], "ALL", "{name}");
            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    assert!(
                        container["resources"][bound][resource].is_string(),
                        "{name}: {bound}.{resource}"
                    );
                }
            }
            for probe in ["readinessProbe", "livenessProbe"] {
                assert!(
                    container[probe]["httpGet"]["path"].is_string(),
                    "{name}: {probe}"
                );
            }
            // Pinned images: a tag on every one.
            let image = container["image"].as_str().unwrap();
            assert!(
                image.contains(':') && !image.ends_with(":latest"),
                "{name}: {image}"
            );
        }
    }
}

#[test]
fn the_collector_configs_are_the_files_compose_uses() {
    let all = manifests();
    let configs = all
        .iter()
        .find(|m| m["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    for (key, file) in [
        ("config.yaml", "otel-collector-config.yaml"),
        ("fleet.yaml", "otel-collector-config.fleet.yaml"),
        ("gateway.yaml", "otel-collector-config.gateway.yaml"),
    ] {
        let on_disk = std::fs::read_to_string(workspace_root().join(file)).unwrap();
        assert_eq!(
            configs["data"][key].as_str(),
            Some(on_disk.as_str()),
            "{key}"
        );
    }
    let compose: Value = serde_yaml::from_str(
        &std::fs::read_to_string(workspace_root().join("docker-compose.yml")).unwrap(),
    )
    .unwrap();
    let compose_image = &compose["services"]["otel-collector"]["image"];
    for (deployment, overlay) in [
        ("otel-collector", "fleet.yaml"),
        ("otel-gateway", "gateway.yaml"),
    ] {
        let container = &containers(find(&all, "Deployment", deployment))[0];
        let args: Vec<&str> = container["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--config=/conf/config.yaml",
                &format!("--config=/conf/{overlay}")
            ],
            "{deployment}"
        );
        assert_eq!(&container["image"], compose_image, "{deployment}");
    }
}

#[test]
fn the_agent_tier_finds_the_gateways_by_dns_and_they_leave_one_at_a_time() {
    let all = manifests();
    let gateways = find(&all, "Service", "otel-gateway");
    assert_eq!(gateways["spec"]["clusterIP"], "None", "a headless Service");
    assert_eq!(gateways["spec"]["ports"][0]["port"], 4317);
    let agent = &containers(find(&all, "Deployment", "otel-collector"))[0];
    assert_eq!(
        env(agent, "OTELCOL_GATEWAY_HOST").unwrap()["value"],
        "otel-gateway"
    );
    let budget = find(&all, "PodDisruptionBudget", "otel-gateway");
    assert_eq!(budget["spec"]["maxUnavailable"], 1);
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        find(&all, "Deployment", "otel-gateway")["spec"]["selector"]["matchLabels"]
    );
    // The services export to the agent tier.
    for service in ["agent-service", "orchestrator"] {
        let container = &containers(find(&all, "Deployment", service))[0];
        assert_eq!(
            env(container, "OTEL_EXPORTER_OTLP_ENDPOINT").unwrap()["value"],
            "http://otel-collector:4318"
        );
    }
}

#[test]
fn every_key_comes_from_a_secret_never_a_literal() {
    let all = manifests();
    let gateway = &containers(find(&all, "Deployment", "otel-gateway"))[0];
    let key = env(gateway, "GALILEO_API_KEY").expect("GALILEO_API_KEY");
    assert!(key.get("value").is_none());
    assert_eq!(key["valueFrom"]["secretKeyRef"]["name"], "galileo");
    for deployment in all.iter().filter(|m| m["kind"] == "Deployment") {
        for container in containers(deployment) {
            for variable in container["env"].as_sequence().into_iter().flatten() {
                let name = variable["name"].as_str().unwrap();
                if name.ends_with("_KEY") {
                    assert!(variable.get("value").is_none(), "{name} is a literal");
                }
            }
        }
    }
}
