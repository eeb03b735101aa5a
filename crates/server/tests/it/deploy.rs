//! The deployment files in `deploy/`, checked without a Docker engine: the Compose file with
//! Debian's docker-compose (`config`), every variable it uses documented in `.env.example` and
//! every server variable it sets known to the server; the Caddyfile with Debian's caddy
//! (`validate`), then for real: Caddy in front of a running server, an agent enrolling and
//! reporting through it and the live stream reaching a client through it at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use optralis::principal::Role;
use optralis_agent::Agent;
use optralis_agent::collect::native;

use crate::agent_e2e::{blocking, options, server_with_key};
use crate::support::Backend;
use crate::support::stream::{stream_lines, wait_for_line};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// A program the checks need, or a failure that says which package has it.
fn tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("{name} is needed (Debian: apt-get install {package})"))
}

/// `${NAME…}` references in `text`, `$$` (a literal dollar) left out.
fn variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            rest = &rest[at + 2..];
            continue;
        }
        let name: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.insert(name);
        rest = &rest[at + 2..];
    }
    out
}

fn compose(env_file: &Path, args: &[&str]) -> std::process::Output {
    Command::new(tool("docker-compose", "docker-compose"))
        .arg("--project-directory")
        .arg(deploy_dir())
        .arg("-f")
        .arg(deploy_dir().join("docker-compose.yml"))
        .arg("--env-file")
        .arg(env_file)
        .args(args)
        .env_remove("DOMAIN")
        .env_remove("POSTGRES_PASSWORD")
        .env_remove("OPTRALIS_SECRET_KEY")
        .output()
        .unwrap()
}

#[test]
fn the_compose_file_is_valid_complete_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(deploy_dir().join(".env.example")).unwrap();
    let compose_text = std::fs::read_to_string(deploy_dir().join("docker-compose.yml")).unwrap();

    // As shipped, the required values are empty: Compose refuses and names what is missing.
    let as_shipped = dir.path().join("as-shipped.env");
    std::fs::write(&as_shipped, &example).unwrap();
    let out = compose(&as_shipped, &["config", "-q"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "empty required values must stop Compose"
    );
    assert!(
        said.contains("POSTGRES_PASSWORD") || said.contains("OPTRALIS_SECRET_KEY"),
        "Compose names the missing value: {said}"
    );

    // Filled in: valid, and the server gets what it needs.
    let filled = example
        .replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pg-secret-0123\n")
        .replace(
            "OPTRALIS_SECRET_KEY=\n",
            &format!("OPTRALIS_SECRET_KEY={}\n", "ab".repeat(32)),
        );
    let filled_env = dir.path().join("filled.env");
    std::fs::write(&filled_env, filled).unwrap();
    let out = compose(&filled_env, &["config", "-q"]);
    assert!(
        out.status.success(),
        "docker-compose config -q: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = compose(&filled_env, &["config"]);
    let resolved = String::from_utf8_lossy(&out.stdout);
    for want in [
        "OPTRALIS_DATABASE_URL: postgres://optralis:pg-secret-0123@postgres:5432/optralis",
        "OPTRALIS_PUBLIC_URL: https://optralis.example.com",
        "OPTRALIS_TRUST_FORWARDED_FOR: \"true\"",
        "OPTRALIS_LISTEN: 0.0.0.0:8080",
        "caddy_data:",
        "condition: service_healthy",
        "max-size: 10m",
    ] {
        assert!(resolved.contains(want), "{want} in:\n{resolved}");
    }
    assert!(
        resolved.contains(&"ab".repeat(32)),
        "the secret key reaches the server"
    );

    // Every variable the Compose file reads is documented in .env.example.
    let documented: BTreeSet<String> = example
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| !k.starts_with('#'))
        .collect();
    let used = variables(&compose_text);
    let undocumented: Vec<_> = used.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in .env.example: {undocumented:?}"
    );

    // Every OPTRALIS_* the Compose file sets is one the server reads.
    let help = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    // Read outside clap (secrets and the first admin): documented in the user guide.
    let outside_clap = [
        "OPTRALIS_SECRET_KEY",
        "OPTRALIS_ADMIN_EMAIL",
        "OPTRALIS_ADMIN_PASSWORD",
    ];
    for line in compose_text.lines() {
        let Some(name) = line.trim().split(':').next() else {
            continue;
        };
        if name.starts_with("OPTRALIS_") && name != "OPTRALIS_IMAGE" {
            assert!(
                outside_clap.contains(&name) || help.contains(&format!("env: {name}=")),
                "{name} is set by the Compose file but the server does not read it"
            );
        }
    }
}

/// Caddy running the project's Caddyfile for `domain`, in front of `upstream`.
struct Caddy {
    child: Child,
    _home: tempfile::TempDir,
}

impl Caddy {
    fn start(domain: &str, upstream: &str) -> Self {
        let home = tempfile::tempdir().unwrap();
        let admin = free_port();
        let child = Command::new(tool("caddy", "caddy"))
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(deploy_dir().join("Caddyfile"))
            .env("DOMAIN", domain)
            .env("OPTRALIS_UPSTREAM", upstream)
            .env("CADDY_ADMIN", format!("127.0.0.1:{admin}"))
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, _home: home }
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_caddyfile_validates() {
    let out = Command::new(tool("caddy", "caddy"))
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(deploy_dir().join("Caddyfile"))
        .env("DOMAIN", "optralis.example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "caddy validate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_reports_and_the_live_stream_flows_through_caddy() {
    let (_db, server, org, key) = server_with_key(Backend::Sqlite).await;
    let port = free_port();
    // Plain HTTP on loopback: the TLS side is Caddy's own, checked by `validate` above.
    let proxy = format!("http://127.0.0.1:{port}");
    let caddy = Caddy::start(&proxy, &server.addr.to_string());
    let health = format!("{proxy}/api/v1/health");
    blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ureq::get(&health)
            .call()
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "Caddy did not proxy within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await;

    let (_, token) = server
        .store()
        .create_api_token(&org, "stream", Role::Observer)
        .await
        .unwrap();
    // The live stream, read through Caddy.
    let received = stream_lines(&proxy, &token);
    let first = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first, "content-type: text/event-stream");

    let dir = tempfile::tempdir().unwrap();
    let opts = options(&proxy, &key, dir.path());
    let machine = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        let flushed = agent.flush().unwrap();
        assert_eq!(flushed.acknowledged, 1, "the report went through Caddy");
        agent.machine_id().unwrap().to_owned()
    })
    .await;

    // The event for that report comes through Caddy, not held in a buffer that a few
    // hundred bytes never fill.
    wait_for_line(&received, &machine, Duration::from_secs(10));
    // Caddy first: the server's graceful stop waits for the stream it proxies.
    drop(caddy);
    server.stop().await;
}

/// The Kubernetes manifests as `kubectl kustomize` renders them (with the example secrets),
/// as JSON documents.
fn rendered_manifests() -> Vec<serde_json::Value> {
    let work = tempfile::tempdir().unwrap();
    let src = deploy_dir().join("kubernetes");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, work.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        src.join("secrets.env.example"),
        work.path().join("secrets.env"),
    )
    .unwrap();
    let out = Command::new(tool("kubectl", "kubernetes-client"))
        .arg("kustomize")
        .arg(work.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // YAML to JSON with PyYAML (docker-compose's own dependency).
    let mut python = Command::new(tool("python3", "python3-yaml"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut python.stdin.take().unwrap(), &out.stdout).unwrap();
    let json = python.wait_with_output().unwrap();
    assert!(
        json.status.success(),
        "PyYAML is needed (Debian: python3-yaml)"
    );
    serde_json::from_slice(&json.stdout).unwrap()
}

fn find<'a>(docs: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the manifests"))
}

#[test]
fn the_kubernetes_manifests_render_and_run_replicas_safely() {
    let docs = rendered_manifests();
    let deployment = find(&docs, "Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let server = &pod["containers"][0];
    assert_eq!(
        server["readinessProbe"]["httpGet"]["path"],
        "/api/v1/health"
    );
    assert_eq!(server["securityContext"]["readOnlyRootFilesystem"], true);
    let env = server["env"].as_array().unwrap();
    let var = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not set"))
    };
    assert_eq!(
        var("OPTRALIS_REPLICATED")["value"],
        "true",
        "replicas refuse SQLite"
    );
    for (name, key) in [
        ("OPTRALIS_DATABASE_URL", "database-url"),
        ("OPTRALIS_SECRET_KEY", "secret-key"),
    ] {
        let from = &var(name)["valueFrom"]["secretKeyRef"];
        assert_eq!(from["key"], key);
        assert!(from["name"].as_str().unwrap().starts_with("optralis"));
    }
    let secret = find(&docs, "Secret");
    assert!(secret["data"]["database-url"].is_string());
    assert!(
        find(&docs, "HorizontalPodAutoscaler")["spec"]["minReplicas"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert_eq!(
        find(&docs, "PodDisruptionBudget")["spec"]["minAvailable"],
        1
    );
    let ingress = find(&docs, "Ingress");
    assert!(ingress["spec"]["tls"][0]["secretName"].is_string());
    assert_eq!(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"],
        "off"
    );
    let job = find(&docs, "Job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["args"][0],
        "migrate"
    );
    // Every server variable the manifests set is one the server reads.
    let help = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for e in env {
        let name = e["name"].as_str().unwrap();
        assert!(
            name == "OPTRALIS_SECRET_KEY" || help.contains(&format!("env: {name}=")),
            "{name} is set by the Deployment but the server does not read it"
        );
    }
}

#[test]
fn the_deployment_files_pass_yamllint() {
    let out = Command::new(tool("yamllint", "yamllint"))
        .arg("-c")
        .arg(deploy_dir().join(".yamllint"))
        .arg("--strict")
        .arg(deploy_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "yamllint: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_health_check() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(
        stages >= 3,
        "dashboard, server and runtime stages: {stages}"
    );
    let runtime = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .map(|i| &lines[i..])
        .unwrap();
    let user = runtime
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets a USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    assert!(
        runtime.iter().any(|l| l.starts_with("HEALTHCHECK")) && text.contains("/api/v1/health"),
        "a HEALTHCHECK on /api/v1/health"
    );
    assert!(
        text.contains("OPTRALIS_DIST_DIR=/usr/share/optralis/dist")
            && text.contains("/out/dist /usr/share/optralis/dist"),
        "the agent is served from where it is copied"
    );
    // What the stages copy from the build context exists (the context is the repository).
    let root = deploy_dir().join("..");
    for l in &lines {
        let Some(args) = l.strip_prefix("COPY ") else {
            continue;
        };
        if args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            if *source != "." {
                assert!(
                    root.join(source).exists(),
                    "COPY {source}: not in the repository"
                );
            }
        }
    }
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for left_out in ["target", "dashboard/node_modules", ".git", "deploy/.env"] {
        assert!(
            ignore.lines().any(|l| l.trim() == left_out),
            "{left_out} in .dockerignore"
        );
    }
}

/// A server process, killed when dropped (a failing test leaves none behind).
struct ServerProcess(Child);

impl ServerProcess {
    /// SIGKILL, as a crash.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `optralis serve` as its own process on `port`, over the PostgreSQL database `url`.
fn server_process(url: &str, port: u16, data_dir: &Path) -> ServerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", url, "--data-dir"])
        .arg(data_dir)
        // The same sealing key on every replica.
        .env("OPTRALIS_SECRET_KEY", "cd".repeat(32))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ServerProcess(child)
}

fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ureq::get(&format!("{base}/api/v1/health"))
        .call()
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "{base} did not answer within 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The CLI's last line, over the database `url`.
fn cli_last_line(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_optralis"))
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim_end().lines().last().unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_behind_caddy_share_the_fleet_and_outlive_one_of_them() {
    let db = crate::support::TestDb::new(Backend::Postgres).await;
    let data = tempfile::tempdir().unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = server_process(&db.url, port_a, &data.path().join("a"));
    let mut b = server_process(&db.url, port_b, &data.path().join("b"));
    let (direct_a, direct_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let proxy = format!("http://127.0.0.1:{}", free_port());
    let caddy = Caddy::start(&proxy, &format!("127.0.0.1:{port_a} 127.0.0.1:{port_b}"));
    let (url, p, da, db_) = (
        db.url.clone(),
        proxy.clone(),
        direct_a.clone(),
        direct_b.clone(),
    );
    let (key, token) = blocking(move || {
        wait_healthy(&da);
        wait_healthy(&db_);
        wait_healthy(&p);
        (
            cli_last_line(&url, &["enroll-key", "create"]),
            cli_last_line(&url, &["token", "create", "--role", "observer"]),
        )
    })
    .await;
    // A live-stream client on each server, directly.
    let on_a = stream_lines(&direct_a, &token);
    let on_b = stream_lines(&direct_b, &token);

    let dir = tempfile::tempdir().unwrap();
    let opts = options(&proxy, &key, dir.path());
    let (mut agent, machine) = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        assert_eq!(agent.flush().unwrap().acknowledged, 1, "through Caddy");
        let machine = agent.machine_id().unwrap().to_owned();
        (agent, machine)
    })
    .await;
    // Whichever server ingested it, both announce it.
    wait_for_line(&on_a, &machine, Duration::from_secs(10));
    wait_for_line(&on_b, &machine, Duration::from_secs(10));

    // One server dies (SIGKILL): the agent's reports still go through Caddy to the other.
    a.kill();
    agent = blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut acknowledged = 0;
        let mut errors = Vec::new();
        while acknowledged < 3 {
            assert!(
                Instant::now() < deadline,
                "{acknowledged} of 3 reports acknowledged through Caddy after a server died: {errors:?}"
            );
            agent.collect().unwrap();
            match agent.flush() {
                Ok(f) => acknowledged += f.acknowledged,
                Err(e) => errors.push(e.to_string()),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        agent
    })
    .await;
    wait_for_line(&on_b, &machine, Duration::from_secs(10));
    drop(agent);
    drop(caddy);
    b.kill();
}
