//! docker-compose.yml, the Dockerfile, .env.example and the Collector config checked against
//! what the binaries actually read — Docker cannot run here, so these files are kept correct
//! by construction and by these tests.

use std::collections::{BTreeSet, HashMap};

use e2e::{
    collector::config_path,
    compose::{Compose, referenced_variables},
    workspace_root,
};

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The variables each of our services reads: its own config struct plus the telemetry crate's.
fn variables_read_by(service: &str) -> BTreeSet<String> {
    let own = match service {
        "orchestrator" => service_kit::config::env_vars::<orchestrator::Config>(),
        "agent-service" => service_kit::config::env_vars::<agent_service::Config>(),
        other => panic!("unknown service {other}"),
    };
    own.into_iter()
        .chain(service_kit::config::env_vars::<
            service_kit::serve::ServerLimits,
        >())
        .chain(telemetry::ENV_VARS.iter().map(|v| v.to_string()))
        .collect()
}

#[test]
fn the_stop_grace_period_outlasts_the_drain_deadline_and_the_flush() {
    let compose = Compose::load();
    for service in OUR_SERVICES {
        let grace = compose.service(service)["stop_grace_period"]
            .as_str()
            .and_then(|v| v.strip_suffix('s'))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{service}: stop_grace_period in whole seconds"));
        let drain_ms: u64 = compose.environment(service, &HashMap::new())["SHUTDOWN_TIMEOUT_MS"]
            .parse()
            .unwrap();
        let flush_ms = telemetry::SHUTDOWN_FLUSH_TIMEOUT.as_millis() as u64;
        assert!(
            grace * 1000 > drain_ms + flush_ms,
            "{service}: {grace} s grace < {drain_ms} ms drain + {flush_ms} ms flush"
        );
    }
}

const OUR_SERVICES: [&str; 2] = ["orchestrator", "agent-service"];

#[test]
fn every_variable_compose_sets_is_one_the_service_reads() {
    let compose = Compose::load();
    for service in OUR_SERVICES {
        let read = variables_read_by(service);
        for name in compose.environment(service, &HashMap::new()).keys() {
            assert!(
                read.contains(name),
                "compose sets {name} on {service}, which never reads it"
            );
        }
    }
}

#[test]
fn the_collector_config_reads_every_variable_compose_gives_the_collector() {
    let compose = Compose::load();
    for (service, overlay) in [
        ("otel-collector", "otel-collector-config.fleet.yaml"),
        ("otel-gateway", "otel-collector-config.gateway.yaml"),
    ] {
        let mut used = referenced_variables(&read("otel-collector-config.yaml"));
        used.extend(referenced_variables(&read(overlay)));
        for name in compose.environment(service, &HashMap::new()).keys() {
            if name == "GOMEMLIMIT" {
                continue; // read by the Go runtime itself
            }
            assert!(
                used.contains(name),
                "compose sets {name} on {service}, its config never reads it"
            );
        }
    }
    // The gateways run the same release as the single Collector and the agent tier.
    assert_eq!(
        compose.service("otel-gateway")["image"],
        compose.service("otel-collector")["image"]
    );
}

#[test]
fn urls_and_ports_line_up() {
    let compose = Compose::load();
    let services = compose.service_names();
    for service in OUR_SERVICES {
        let env = compose.environment(service, &HashMap::new());
        // PORT, the build arg, the published port and the health check agree.
        let port: u16 = env["PORT"].parse().unwrap();
        // The Dockerfile stage compose builds is named after the service and sets its PORT.
        let build = &compose.service(service)["build"];
        assert_eq!(
            build["target"].as_str(),
            Some(service),
            "{service}: build target"
        );
        let dockerfile = read("Dockerfile");
        let stage = dockerfile
            .split("\nFROM ")
            .find(|stage| stage.starts_with(&format!("runtime AS {service}\n")))
            .unwrap_or_else(|| panic!("Dockerfile has no `FROM runtime AS {service}` stage"));
        assert!(
            stage.contains(&format!("ENV PORT={port}")),
            "{service}: the image's PORT is not {port}"
        );
        assert!(
            stage.contains(&format!(
                "/app/target/release/{service} /usr/local/bin/service"
            )),
            "{service}: the stage does not copy its binary"
        );
        assert!(
            compose.ports(service).contains(&(port, port)),
            "{service}: port {port} is not published"
        );
        let health: Vec<&str> = compose.service(service)["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            health,
            ["CMD", "/usr/local/bin/service", "--healthcheck"],
            "{service}"
        );
        // Every URL names a compose service, on a port that service listens on.
        for (name, value) in &env {
            let Ok(url) = reqwest::Url::parse(value) else {
                continue;
            };
            if url.scheme() != "http" {
                continue;
            }
            let host = url.host_str().unwrap();
            assert!(
                services.iter().any(|s| s == host),
                "{service}.{name}: {host} is not a compose service"
            );
            let target_port = url.port().expect("explicit port");
            let listening = listening_ports(&compose, host);
            assert!(
                listening.contains(&target_port),
                "{service}.{name}: {host} does not listen on {target_port}"
            );
        }
    }
    // The orchestrator calls the agent; both export to the Collector's OTLP/HTTP port.
    let orchestrator = compose.environment("orchestrator", &HashMap::new());
    assert_eq!(
        orchestrator["AGENT_SERVICE_URL"],
        "http://agent-service:3000"
    );
    for service in OUR_SERVICES {
        assert_eq!(
            compose.environment(service, &HashMap::new())["OTEL_EXPORTER_OTLP_ENDPOINT"],
            "http://otel-collector:4318"
        );
    }
}

/// Ports a compose service listens on inside the network.
fn listening_ports(compose: &Compose, service: &str) -> Vec<u16> {
    if service == "otel-collector" {
        // The receiver endpoints compose gives the Collector (its config reads them).
        let env = compose.environment(service, &HashMap::new());
        return ["OTELCOL_OTLP_GRPC_ENDPOINT", "OTELCOL_OTLP_HTTP_ENDPOINT"]
            .iter()
            .map(|name| {
                let endpoint = &env[*name];
                assert!(endpoint.starts_with("0.0.0.0:"), "{name}={endpoint}");
                endpoint.rsplit(':').next().unwrap().parse().unwrap()
            })
            .collect();
    }
    vec![
        compose.environment(service, &HashMap::new())["PORT"]
            .parse()
            .unwrap(),
    ]
}

/// Jaeger tags its v2 releases with v1 numbers for the Go module too: 2.N.x is v1.(N+63).x.
#[test]
fn the_jaeger_image_is_the_release_the_tests_build() {
    let compose = Compose::load();
    let image = compose.service("jaeger")["image"].as_str().unwrap();
    let (name, tag) = image.rsplit_once(':').expect("image has a tag");
    assert_eq!(name, "jaegertracing/jaeger");
    let v2: Vec<u32> = tag.split('.').map(|n| n.parse().unwrap()).collect();
    let module = read("jaeger/build.sh")
        .lines()
        .find_map(|l| l.strip_prefix("JAEGER_MODULE_VERSION=v"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .expect("JAEGER_MODULE_VERSION in jaeger/build.sh");
    assert_eq!(
        module,
        format!("1.{}.{}", v2[1] + 63, v2[2]),
        "compose's {image} vs jaeger/build.sh's module version"
    );
}

#[test]
fn images_are_pinned_to_the_collector_release_the_tests_build() {
    let compose = Compose::load();
    let image = compose.service("otel-collector")["image"].as_str().unwrap();
    let (name, tag) = image.rsplit_once(':').expect("image has a tag");
    assert_eq!(name, "otel/opentelemetry-collector-contrib");
    let manifest: serde_yaml::Value =
        serde_yaml::from_str(&read("collector/builder-config.yaml")).unwrap();
    assert_eq!(
        Some(tag),
        manifest["dist"]["version"].as_str(),
        "compose image vs ocb manifest"
    );
    assert!(
        read("collector/build.sh").contains(&format!("OTELCOL_VERSION={tag}")),
        "build.sh pins another version"
    );
    for line in read("collector/builder-config.yaml")
        .lines()
        .filter(|l| l.contains("gomod:"))
    {
        let version = line.rsplit(' ').next().unwrap();
        let expected_core = format!("v{tag}");
        assert!(
            version == expected_core || line.contains("confmap/provider"),
            "component not at {expected_core}: {line}"
        );
    }
    // The Collector gets the repository's config at the path its command names.
    let command = compose.service("otel-collector")["command"][0]
        .as_str()
        .unwrap();
    let path = command.strip_prefix("--config=").unwrap();
    let volume = format!("./otel-collector-config.yaml:{path}:ro");
    let volumes: Vec<&str> = compose.service("otel-collector")["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        volumes.contains(&volume.as_str()),
        "{volumes:?} lacks {volume}"
    );
    assert!(config_path().exists());
    // The Dockerfile's base images are pinned too.
    let mut stages = Vec::new();
    for line in read("Dockerfile")
        .lines()
        .filter(|l| l.starts_with("FROM "))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let image = words[1];
        if !stages.contains(&image) {
            assert!(
                image.contains(':') && !image.ends_with(":latest"),
                "unpinned base image: {line}"
            );
        }
        if let Some(stage) = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case("AS"))
            .map(|i| words[i + 1])
        {
            stages.push(stage);
        }
    }
}

#[test]
fn the_dockerfile_builds_a_binary_the_workspace_has() {
    let dockerfile = read("Dockerfile");
    for needle in [
        "--locked",
        "cargo chef cook",
        "--package orchestrator --package agent-service",
        "USER app",
        "ENTRYPOINT [\"/usr/local/bin/service\"]",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    for service in OUR_SERVICES {
        let manifest = read(&format!("crates/{service}/Cargo.toml"));
        assert!(
            manifest.contains(&format!("name = \"{service}\"")),
            "no crate named {service}"
        );
        assert!(
            workspace_root()
                .join(format!("crates/{service}/src/main.rs"))
                .exists(),
            "{service} has no binary"
        );
    }
    assert!(
        read("Cargo.lock").contains("name = \"orchestrator\""),
        "Cargo.lock must be committed for --locked"
    );
}

#[test]
fn env_example_documents_every_variable_compose_interpolates() {
    let example = read(".env.example");
    let documented: BTreeSet<&str> = example
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    for name in referenced_variables(&read("docker-compose.yml")) {
        assert!(
            documented.contains(name.as_str()),
            ".env.example does not document {name}"
        );
    }
    for name in &documented {
        assert!(
            read("docker-compose.yml").contains(&format!("${{{name}")),
            "{name} in .env.example is not used by compose"
        );
    }
    assert!(
        read(".gitignore").lines().any(|l| l.trim() == ".env"),
        ".env must be git-ignored"
    );
}

/// Safe by default, as written: every port of every service (the Jaeger profile's too) is
/// published on the host's loopback unless PUBLISH_ADDRESS says otherwise, and every container
/// runs read-only, without capabilities or privilege escalation, with memory and CPU limits.
/// (`tests/docker/compose-test.sh` checks the same on the running containers.)
#[test]
fn every_port_is_published_on_loopback_and_every_container_is_locked_down() {
    let compose = Compose::load();
    for service in compose.service_names() {
        for (address, host, _) in compose.published(&service) {
            assert_eq!(address, "127.0.0.1", "{service}: port {host}");
        }
        let spec = compose.service(&service);
        assert_eq!(
            spec["read_only"].as_bool(),
            Some(true),
            "{service}: read_only"
        );
        assert_eq!(
            spec["cap_drop"].as_sequence().map(|c| c.len()),
            Some(1),
            "{service}: cap_drop"
        );
        assert_eq!(spec["cap_drop"][0].as_str(), Some("ALL"), "{service}");
        assert_eq!(
            spec["security_opt"][0].as_str(),
            Some("no-new-privileges:true"),
            "{service}"
        );
        let limits = &spec["deploy"]["resources"]["limits"];
        assert!(
            limits["memory"].is_string() && limits["cpus"].is_string(),
            "{service}: resource limits"
        );
    }
    let published = read("docker-compose.yml")
        .matches("${PUBLISH_ADDRESS:-127.0.0.1}:")
        .count();
    assert_eq!(
        published,
        compose
            .service_names()
            .iter()
            .map(|s| compose.published(s).len())
            .sum::<usize>(),
        "every published port names PUBLISH_ADDRESS"
    );
}
