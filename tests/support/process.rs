//! Building and running the real service binaries, zero2prod's `spawn_app` at process level:
//! each test gets its own processes on free ports, stopped (SIGTERM, then kill) on drop.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

/// The repository root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Path of a workspace binary, built once per test process with the same cargo that runs the
/// tests. `E2E_PROFILE=release` switches to release builds.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let release = std::env::var("E2E_PROFILE").is_ok_and(|p| p == "release");
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(workspace_root()).args([
            "build",
            "--quiet",
            "-p",
            "orchestrator",
            "-p",
            "agent-service",
        ]);
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the service binaries failed"
        );
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target
        .join(if release { "release" } else { "debug" })
        .join(name)
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `N` free ports, for a process that listens on several (a Collector, Jaeger): a block from
/// [`free_port_block`], below the ephemeral range, so no other test's outgoing connection can
/// take one between this check and the process's bind (a CI run lost a gateway that way).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let base = free_port_block(N as u16);
    std::array::from_fn(|i| base + i as u16)
}

/// The first of `count` consecutive free ports, for a script that numbers its ports from a base
/// (`scripts/run-native --gateways`). Taken below the kernel's ephemeral range, which the ports
/// every other test binds (port 0) come from, so none of them can take one in between.
pub fn free_port_block(count: u16) -> u16 {
    let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let span = ephemeral_low.saturating_sub(20_000).max(count + 1);
    // Each call in this process starts after the last block it handed out, so tests running
    // side by side never get the same block; the first starts where this process's id points,
    // so two suites on one machine rarely meet.
    static NEXT: std::sync::Mutex<Option<u16>> = std::sync::Mutex::new(None);
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut base = next.unwrap_or(20_000 + (std::process::id() as u16 % span));
    for _ in 0..span {
        if base.saturating_add(count) >= ephemeral_low {
            base = 20_000;
        }
        let all_free = (base..base + count)
            .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            *next = Some(base + count);
            return base;
        }
        base += count;
    }
    panic!("no {count} consecutive free ports below {ephemeral_low}");
}

/// A running service process. Its stdout and stderr are captured for assertions.
pub struct Service {
    pub port: u16,
    child: Option<Child>,
    output: Arc<Mutex<String>>,
}

impl Service {
    /// Starts a workspace binary with exactly `env` (plus PATH) and waits for `GET /health`.
    /// Unless `env` names a `PORT`, the service binds port 0 and the port it got is read from
    /// its `listening` line: a port picked here and bound there could be taken in between by a
    /// test running alongside, whose service would then answer for this one. The environment
    /// is cleared so a developer's shell cannot leak in.
    pub async fn start(binary_name: &str, env: &HashMap<String, String>) -> Self {
        let fixed: Option<u16> = env.get("PORT").map(|p| p.parse().expect("PORT"));
        let mut env = env.clone();
        env.insert("PORT".into(), fixed.unwrap_or(0).to_string());
        let mut service = Self::launch(&binary(binary_name), &[], &env, fixed.unwrap_or(0));
        if fixed.is_none() {
            service.port = service.bound_port(binary_name).await;
        }
        service.wait_healthy(binary_name, "/health").await;
        service
    }

    /// The port the service logged in its `listening … server.port=N` line (or, with
    /// `LOG_FORMAT=json`, its `"message":"listening",…,"server.port":N` object).
    async fn bound_port(&mut self, name: &str) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let port = self
                .output()
                .lines()
                .filter(|line| line.contains(" listening") || line.contains("\"listening\""))
                .find_map(|line| {
                    line.split("server.port=")
                        .nth(1)
                        .or_else(|| line.split("\"server.port\":").nth(1))
                })
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                });
            if let Some(port) = port {
                return port;
            }
            self.assert_running(name);
            assert!(
                Instant::now() < deadline,
                "{name} never said where it listens:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Panics with the process's output if it has exited.
    pub fn assert_running(&mut self, name: &str) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!("{name} exited with {status}:\n{}", self.output());
        }
    }

    /// Starts any program with exactly `env` (plus PATH) and waits until
    /// `http://127.0.0.1:{port}{health_path}` answers 2xx.
    pub async fn spawn(
        program: &Path,
        args: &[&str],
        env: &HashMap<String, String>,
        port: u16,
        health_path: &str,
    ) -> Self {
        let name = program.file_name().unwrap().to_string_lossy().into_owned();
        let mut service = Self::launch(program, args, env, port);
        service.wait_healthy(&name, health_path).await;
        service
    }

    /// Starts the process, capturing its output, without waiting for anything.
    fn launch(program: &Path, args: &[&str], env: &HashMap<String, String>, port: u16) -> Self {
        let name = program.file_name().unwrap().to_string_lossy().into_owned();
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Self {
            port,
            child: Some(child),
            output,
        }
    }

    async fn wait_healthy(&mut self, name: &str, health_path: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(self.url(health_path)).send().await
                && response.status().is_success()
            {
                return;
            }
            self.assert_running(name);
            assert!(
                Instant::now() < deadline,
                "{name} not healthy after 30 s:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// The numbers of the `span delivery` line the service logs at shutdown, by field
    /// (`agent_tracing.spans.exported`, `agent_tracing.spans.lost`, ...), if it printed one.
    pub fn delivery_totals(&self) -> Option<HashMap<String, u64>> {
        let output = self.output();
        let line = output.lines().find(|line| line.contains("span delivery"))?;
        Some(
            line.split_whitespace()
                .filter_map(|field| field.split_once('='))
                .filter_map(|(key, value)| Some((key.to_owned(), value.parse().ok()?)))
                .collect(),
        )
    }

    /// Waits (up to `timeout`) until the process has printed `needle`; returns whether it did.
    /// Output is read on background threads, so a line printed just now may still be in flight.
    pub async fn printed(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.output().contains(needle) {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM (what `docker stop` sends) without waiting.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the named signal (`HUP`: a Collector reloads its configuration).
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
    }

    /// SIGKILL, as a crash or an OOM kill: no shutdown, nothing flushed. Waits for the exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit status (killing the process after `timeout`).
    pub async fn stop(&mut self, timeout: Duration) -> ExitStatus {
        self.terminate();
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!(
                    "process did not exit within {timeout:?} of SIGTERM:\n{}",
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `binary` to completion with exactly `env` (plus PATH) and returns its exit status and
/// output — for start-up failures that must happen before the service listens.
pub fn run_to_exit(
    binary_name: &str,
    env: &HashMap<String, String>,
    timeout: Duration,
) -> (ExitStatus, String) {
    let mut child = Command::new(binary(binary_name))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .env("PORT", free_port().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + timeout;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("{binary_name} still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status, text)
}

/// An in-process axum server on an ephemeral 127.0.0.1 port, stopped when dropped: what every
/// fake (OTLP receiver, Galileo, OpenAI, agent) runs on.
pub struct Background {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Background {
    pub async fn serve(app: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake server");
        });
        Self { port, task }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.task.abort();
    }
}
