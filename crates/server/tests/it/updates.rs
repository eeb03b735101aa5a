//! Signed agent updates: publishing (signatures checked against the server's keys), the
//! rollout protocol (canaries first, halt on failures, pause and resume) over HTTP on both
//! backends, and real agent processes updating, refusing, rolling back and surviving
//! `kill -9` at each step, against a real server with real signed files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use optralis::principal::Role;
use optralis_proto::release::Platform;
use serde_json::{Value, json};

use crate::agent_e2e::{agent_binary, server_with_key};
use crate::support::releases::{ReleaseKey, corrupt_release, next_agent, script};
use crate::support::{Backend, TestApp, both_backends, run_sql};

both_backends!(
    publishing_checks_the_signature_and_is_for_platform_admins,
    canaries_go_first_and_failures_halt_the_rollout,
    rollouts_check_their_input_and_answer_to_pause_resume_cancel,
);

const X86: Platform = Platform::LinuxX86_64;

/// A file of `len` bytes to sign, different for each name.
fn payload(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let seed = name.bytes().map(usize::from).sum::<usize>();
    let bytes: Vec<u8> = (0..len).map(|i| ((i + seed) * 31 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn b64(text: &str) -> String {
    data_encoding::BASE64.encode(text.as_bytes())
}

async fn platform_admin(app: &TestApp) -> String {
    app.user("root@ops.test", &app.org, Role::Admin, true).await;
    app.access_token("root@ops.test").await
}

async fn publishing_checks_the_signature_and_is_for_platform_admins(backend: Backend) {
    let app = TestApp::new(backend).await;
    let trusted = ReleaseKey::new();
    let stranger = ReleaseKey::new();
    app.store.trust_release_key(&trusted.public).await.unwrap();
    let root = platform_admin(&app).await;
    app.user("admin@acme.test", &app.org, Role::Admin, false)
        .await;
    let org_admin = app.access_token("admin@acme.test").await;
    let dir = tempfile::tempdir().unwrap();
    let file = payload(dir.path(), "agent", 50_000);
    let bytes = std::fs::read(&file).unwrap();
    let signature = trusted.sign(&file, "0.2.0", X86, 10);
    let publish = |token: &str, body: Vec<u8>, sig: Option<String>| {
        let mut req = app
            .req("POST", "/api/v1/agent-releases")
            .token(token)
            .bytes("application/octet-stream", body);
        if let Some(sig) = sig {
            req = req.header("X-Optralis-Signature", &sig);
        }
        req.send()
    };

    let r = publish(&org_admin, bytes.clone(), Some(b64(&signature))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = publish(&root, bytes.clone(), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let mut flipped = bytes.clone();
    flipped[1234] ^= 0x01;
    let r = publish(&root, flipped, Some(b64(&signature))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.to_string().contains("does not match"), "{}", r.body);
    let foreign = stranger.sign(&file, "0.2.0", X86, 10);
    let r = publish(&root, bytes.clone(), Some(b64(&foreign))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.to_string().contains(&stranger.public.id)
            && r.body.to_string().contains("not trusted"),
        "{}",
        r.body
    );

    let r = publish(&root, bytes.clone(), Some(b64(&signature))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["version"], "0.2.0");
    assert_eq!(r.body["platform"], "linux-x86_64");
    assert_eq!(r.body["serial"], 10);
    assert_eq!(r.body["key_id"], trusted.public.id.as_str());
    assert_eq!(r.body["size"], 50_000);
    let r = publish(&root, bytes, Some(b64(&signature))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Every member sees the releases (any organisation may roll them out).
    let (status, list) = app
        .get("/api/v1/agent-releases", Some(&app.observer_token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["releases"].as_array().unwrap().len(), 1, "{list}");
}

/// One batch as an agent sends it, with its status; the reply.
async fn batch(app: &TestApp, token: &str, seq: u64, agent: Value) -> Value {
    let report = optralis_proto::sample::report(seq, app.now());
    let r = app
        .req("POST", "/api/v1/agent/reports")
        .token(token)
        .json(&json!({"reports": [report], "agent": agent}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn status(version: &str, update: Option<(&str, &str)>) -> Value {
    let mut s = json!({"version": version, "platform": "linux-x86_64"});
    if let Some((v, state)) = update {
        s["update"] = json!({"version": v, "state": state});
    }
    s
}

/// The rollout's machines: machine id -> (canary, state).
async fn slots(app: &TestApp, rollout: &str) -> Vec<(String, bool, Option<String>)> {
    let (code, body) = app
        .get(
            &format!("/api/v1/rollouts/{rollout}/machines"),
            Some(&app.observer_token),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["machine_id"].as_str().unwrap().to_owned(),
                m["canary"].as_bool().unwrap(),
                m["state"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

async fn rollout(app: &TestApp, id: &str) -> Value {
    let (code, body) = app
        .get(&format!("/api/v1/rollouts/{id}"), Some(&app.observer_token))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

async fn published(app: &TestApp, version: &str) -> (ReleaseKey, tempfile::TempDir) {
    let key = ReleaseKey::new();
    app.store.trust_release_key(&key.public).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = payload(dir.path(), "agent", 20_000);
    key.publish(&app.store, &file, version, X86, 7).await;
    (key, dir)
}

async fn canaries_go_first_and_failures_halt_the_rollout(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_key, dir) = published(&app, "0.2.0").await;
    let mut machines = Vec::new();
    for i in 0..4 {
        machines.push(app.enroll(&format!("web-{i}")).await);
    }
    let token_of = |id: &str| machines.iter().find(|m| m.0 == id).unwrap().1.clone();
    let r = app
        .req("POST", "/api/v1/rollouts")
        .token(&app.admin_token)
        .json(&json!({"version": "0.2.0", "canary_count": 2, "health_window_s": 60}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["canary_count"], 2);
    assert_eq!(r.body["progress"]["total"], 4);
    assert_eq!(r.body["progress"]["waiting"], 4);
    let all = slots(&app, &id).await;
    let canaries: Vec<String> = all.iter().filter(|s| s.1).map(|s| s.0.clone()).collect();
    let others: Vec<String> = all.iter().filter(|s| !s.1).map(|s| s.0.clone()).collect();
    assert_eq!((canaries.len(), others.len()), (2, 2));

    // Only the canaries are offered the release, with what the agent needs to check it.
    let mut seq = 1;
    for c in &canaries {
        let reply = batch(&app, &token_of(c), seq, status("0.1.0", None)).await;
        let offer = &reply["update"];
        assert_eq!(offer["version"], "0.2.0", "{reply}");
        assert_eq!(offer["platform"], "linux-x86_64");
        assert_eq!(offer["size"], 20_000);
        assert_eq!(offer["health_window_s"], 60);
        assert_eq!(offer["url"], "/api/v1/agent/releases/linux-x86_64/0.2.0");
        assert!(
            offer["signature"]
                .as_str()
                .unwrap()
                .contains("trusted comment: optralis-agent version=0.2.0")
        );
        seq += 1;
    }
    for o in &others {
        let reply = batch(&app, &token_of(o), seq, status("0.1.0", None)).await;
        assert!(
            reply.get("update").is_none(),
            "not before the canaries: {reply}"
        );
        seq += 1;
    }

    // The download, whole and resumed, for machines only.
    let file = std::fs::read(dir.path().join("agent")).unwrap();
    let url = "/api/v1/agent/releases/linux-x86_64/0.2.0";
    let whole = app
        .req("GET", url)
        .token(&token_of(&canaries[0]))
        .send_raw()
        .await;
    assert_eq!(whole.0, StatusCode::OK);
    assert_eq!(whole.1, file);
    let rest = app
        .req("GET", url)
        .token(&token_of(&canaries[0]))
        .header("Range", "bytes=15000-")
        .send_raw()
        .await;
    assert_eq!(rest.0, StatusCode::PARTIAL_CONTENT);
    assert_eq!(rest.1, file[15000..]);
    let past = app
        .req("GET", url)
        .token(&token_of(&canaries[0]))
        .header("Range", "bytes=20000-")
        .send_raw()
        .await;
    assert_eq!(past.0, StatusCode::RANGE_NOT_SATISFIABLE);
    let r = app.req("GET", url).token(&app.admin_token).send().await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "users do not download releases"
    );
    let r = app
        .req("GET", "/api/v1/agent/releases/linux-x86_64/9.9.9")
        .token(&token_of(&canaries[0]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The canaries go through their states; the others wait until both are done.
    let c0 = token_of(&canaries[0]);
    let c1 = token_of(&canaries[1]);
    batch(
        &app,
        &c0,
        seq,
        status("0.1.0", Some(("0.2.0", "downloading"))),
    )
    .await;
    seq += 1;
    let reply = batch(&app, &c0, seq, status("0.2.0", Some(("0.2.0", "applied")))).await;
    assert!(reply.get("update").is_none(), "{reply}");
    seq += 1;
    let states = slots(&app, &id).await;
    let state_of = |states: &[(String, bool, Option<String>)], m: &str| {
        states.iter().find(|s| s.0 == m).unwrap().2.clone()
    };
    assert_eq!(
        state_of(&states, &canaries[0]).as_deref(),
        Some("applied"),
        "on trial, not yet healthy"
    );
    batch(&app, &c0, seq, status("0.2.0", Some(("0.2.0", "healthy")))).await;
    seq += 1;
    let reply = batch(&app, &token_of(&others[0]), seq, status("0.1.0", None)).await;
    assert!(
        reply.get("update").is_none(),
        "one canary is still out: {reply}"
    );
    seq += 1;
    batch(&app, &c1, seq, status("0.2.0", Some(("0.2.0", "healthy")))).await;
    seq += 1;
    for o in &others {
        let reply = batch(&app, &token_of(o), seq, status("0.1.0", None)).await;
        assert_eq!(reply["update"]["version"], "0.2.0", "{reply}");
        seq += 1;
    }

    // One of the four offered rolls back: 25 % is over the 20 % threshold, the rollout halts
    // and the last machine is offered nothing more.
    batch(
        &app,
        &token_of(&others[0]),
        seq,
        json!({"version": "0.1.0", "platform": "linux-x86_64",
               "update": {"version": "0.2.0", "state": "rolled_back", "reason": "exited (exit status: 3) before it reported healthy"}}),
    )
    .await;
    seq += 1;
    let r = rollout(&app, &id).await;
    assert_eq!(r["state"], "halted", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("1 of the 4"), "{r}");
    assert_eq!(r["progress"]["healthy"], 2);
    assert_eq!(r["progress"]["rolled_back"], 1);
    assert_eq!(r["progress"]["pending"], 1);
    let reply = batch(&app, &token_of(&others[1]), seq, status("0.1.0", None)).await;
    assert!(reply.get("update").is_none(), "halted: {reply}");
    seq += 1;
    let states = slots(&app, &id).await;
    let reason = app
        .get(
            &format!("/api/v1/rollouts/{id}/machines"),
            Some(&app.observer_token),
        )
        .await
        .1["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["machine_id"] == others[0].as_str())
        .unwrap()["reason"]
        .clone();
    assert_eq!(
        state_of(&states, &others[0]).as_deref(),
        Some("rolled_back")
    );
    assert!(
        reason.as_str().unwrap().contains("exit status: 3"),
        "{reason}"
    );

    // Resumed by hand, the last machine gets it, reports healthy, and the rollout completes.
    let r = app
        .req("PATCH", &format!("/api/v1/rollouts/{id}"))
        .token(&app.admin_token)
        .json(&json!({"state": "running"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let last = token_of(&others[1]);
    let reply = batch(&app, &last, seq, status("0.1.0", None)).await;
    assert_eq!(reply["update"]["version"], "0.2.0", "{reply}");
    seq += 1;
    batch(
        &app,
        &last,
        seq,
        status("0.2.0", Some(("0.2.0", "healthy"))),
    )
    .await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["state"], "completed", "{r}");
    assert_eq!(r["progress"]["healthy"], 3);
}

async fn rollouts_check_their_input_and_answer_to_pause_resume_cancel(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_key, _dir) = published(&app, "0.2.0").await;
    let (web, web_token) = app.enroll("web-1").await;
    let (db, db_token) = app.enroll("db-1").await;
    let (_, current_token) = app.enroll("already-there").await;
    let open = || app.store.org_has_open_rollout(&app.org);
    assert!(!open().await.unwrap(), "no rollout: reports need no lookup");
    let create = |body: Value| {
        app.req("POST", "/api/v1/rollouts")
            .token(&app.admin_token)
            .json(&body)
            .send()
    };
    for (body, field) in [
        (json!({"version": "9.9.9"}), "version"),
        (json!({"version": "0.2"}), "version"),
        (
            json!({"version": "0.2.0", "canary_percent": 101}),
            "canary_percent",
        ),
        (
            json!({"version": "0.2.0", "canary_count": 1, "canary_percent": 10}),
            "canary_count",
        ),
        (
            json!({"version": "0.2.0", "health_window_s": 5}),
            "health_window_s",
        ),
        (
            json!({"version": "0.2.0", "scope": {"selector": "env in"}}),
            "scope.selector",
        ),
        (
            json!({"version": "0.2.0", "scope": {"machines": ["00000000-0000-0000-0000-000000000000"]}}),
            "scope.machines",
        ),
        (
            json!({"version": "0.2.0", "scope": {"selector": "env=nowhere"}}),
            "scope",
        ),
    ] {
        let r = create(body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    let r = app
        .req("POST", "/api/v1/rollouts")
        .token(&app.observer_token)
        .json(&json!({"version": "0.2.0"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Scope: a group and a machine list narrow it.
    let group = app
        .store
        .create_group(&app.org, "web", "#00ff00", "")
        .await
        .unwrap();
    app.store
        .edit_group_members(&app.org, &group.id, std::slice::from_ref(&web), &[])
        .await
        .unwrap();
    let r = create(json!({"version": "0.2.0", "scope": {"groups": [group.id]}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["progress"]["total"], 1);
    let r = create(json!({"version": "0.2.0", "scope": {"machines": [db]}})).await;
    assert_eq!(r.body["progress"]["total"], 1);
    let (_, list) = app.get("/api/v1/rollouts", Some(&app.observer_token)).await;
    let list = list["rollouts"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["state"], "running");
    assert_eq!(
        list[1]["state"], "cancelled",
        "a new rollout replaces the running one"
    );

    // The whole organisation, one canary; a machine already on the version is healthy.
    let r = create(json!({"version": "0.2.0", "canary_count": 0, "health_window_s": 30})).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["progress"]["total"], 3);
    let reply = batch(&app, &current_token, 1, status("0.2.0", None)).await;
    assert!(reply.get("update").is_none());
    assert_eq!(rollout(&app, &id).await["progress"]["healthy"], 1);
    // An agent that does not say its platform cannot be given a release.
    let reply = batch(&app, &db_token, 1, json!({"version": "0.1.0"})).await;
    assert!(reply.get("update").is_none());
    assert_eq!(rollout(&app, &id).await["progress"]["failed"], 1);
    let halted = rollout(&app, &id).await;
    assert_eq!(halted["state"], "halted", "1 of 2 offered failed: {halted}");

    let patch = |state: &str| {
        app.req("PATCH", &format!("/api/v1/rollouts/{id}"))
            .token(&app.admin_token)
            .json(&json!({"state": state}))
            .send()
    };
    assert_eq!(patch("running").await.status, StatusCode::OK);
    assert_eq!(patch("paused").await.status, StatusCode::OK);
    let reply = batch(&app, &web_token, 1, status("0.1.0", None)).await;
    assert!(reply.get("update").is_none(), "paused: {reply}");
    assert_eq!(patch("paused").await.status, StatusCode::CONFLICT);
    assert_eq!(patch("completed").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(patch("running").await.status, StatusCode::OK);
    let reply = batch(&app, &web_token, 2, status("0.1.0", None)).await;
    assert_eq!(reply["update"]["version"], "0.2.0", "{reply}");
    // Applied, then silent past the health window: the server counts it failed itself.
    batch(
        &app,
        &web_token,
        3,
        status("0.2.0", Some(("0.2.0", "applied"))),
    )
    .await;
    app.clock.advance_ms(30_000 + 61_000);
    batch(&app, &current_token, 2, status("0.2.0", None)).await;
    let r = rollout(&app, &id).await;
    assert_eq!(r["progress"]["failed"], 2, "{r}");
    assert_eq!(r["progress"]["applied"], 0, "{r}");
    assert!(open().await.unwrap());
    assert_eq!(patch("cancelled").await.status, StatusCode::OK);
    assert_eq!(patch("running").await.status, StatusCode::CONFLICT);
    let r = rollout(&app, &id).await;
    assert_eq!(r["state"], "cancelled");
    assert!(
        !open().await.unwrap(),
        "cancelled with every machine final: reports need no lookup"
    );

    // Cancelled while a machine is mid-update: its last word is still recorded.
    let r =
        create(json!({"version": "0.2.0", "scope": {"machines": [web]}, "canary_count": 0})).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let reply = batch(&app, &web_token, 4, status("0.1.0", None)).await;
    assert_eq!(reply["update"]["version"], "0.2.0", "{reply}");
    app.req("PATCH", &format!("/api/v1/rollouts/{id}"))
        .token(&app.admin_token)
        .json(&json!({"state": "cancelled"}))
        .send()
        .await;
    assert!(
        open().await.unwrap(),
        "a machine of the cancelled rollout is still pending"
    );
    batch(
        &app,
        &web_token,
        5,
        status("0.2.0", Some(("0.2.0", "healthy"))),
    )
    .await;
    assert_eq!(rollout(&app, &id).await["progress"]["healthy"], 1);
    assert!(!open().await.unwrap());
}

// --- Real agent processes -------------------------------------------------------------------

/// One agent process with its state directory and config (trusting `keys`).
struct AgentProc {
    child: Option<Child>,
    state: PathBuf,
    config: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl AgentProc {
    fn new(keys: &[&ReleaseKey]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let config = dir.path().join("agent.toml");
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{:?}", k.public.base64))
            .collect();
        std::fs::write(
            &config,
            format!("[update]\npublic_keys = [{}]\n", keys.join(", ")),
        )
        .unwrap();
        Self {
            child: None,
            log: dir.path().join("agent.log"),
            state,
            config,
            _dir: dir,
        }
    }

    /// Starts `optralis-agent run` (the installed binary), reporting every second.
    fn start(&mut self, server: &str, key: &str, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(agent_binary());
        cmd.arg("--config")
            .arg(&self.config)
            .args(["run", "--server", server, "--interval", "1s", "--no-events"])
            .args(["--smart-interval", "off", "--state-dir"])
            .arg(&self.state)
            .env("OPTRALIS_ENROLL_KEY", key)
            .env("RUST_LOG", "info")
            .env_remove("OPTRALIS_AGENT_INSTALLED")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
    }

    /// Waits for the process to end on its own; its exit status.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let child = self.child.as_mut().unwrap();
        let until = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < until,
                "the agent did not exit: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Live processes working on this state directory: (pid, on trial).
    fn processes(&self) -> Vec<(u32, bool)> {
        let needle = self.state.to_string_lossy().into_owned();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if stat.contains(") Z ") {
                continue; // a zombie is not running
            }
            if String::from_utf8_lossy(&cmdline).contains(&needle) {
                let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
                let trial = String::from_utf8_lossy(&env).contains("OPTRALIS_AGENT_TRIAL=");
                found.push((pid, trial));
            }
        }
        found
    }

    /// Agents reporting from this state directory: a supervisor with its child on trial
    /// counts once (the child reports, the supervisor only watches).
    fn running_agents(&self) -> usize {
        let procs = self.processes();
        let trials = procs.iter().filter(|p| p.1).count();
        procs.len() - trials
    }

    fn update_check(&self) -> String {
        let out = Command::new(agent_binary())
            .arg("--config")
            .arg(&self.config)
            .args(["update", "--check", "--state-dir"])
            .arg(&self.state)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A trial child dies with its supervisor (PR_SET_PDEATHSIG); anything else left is
        // a bug the tests would see as a second agent.
    }
}

/// What the server knows of one machine: its agent version and its slot in `rollout`.
#[derive(Debug, Clone)]
struct Seen {
    version: String,
    state: Option<String>,
    reason: Option<String>,
    last_seen_ms: i64,
}

async fn seen(
    server: &crate::support::RunningServer,
    rollout: &str,
    machine: &str,
) -> Option<Seen> {
    let org = server.store().org_by_name("default").await.unwrap();
    let m = server
        .store()
        .get_machine(&org, &optralis::ids::MachineId::from_path(machine))
        .await
        .ok()?;
    let rows = server
        .store()
        .rollout_machines(&org, &optralis::ids::RolloutId::from_path(rollout))
        .await
        .unwrap();
    let row = rows.iter().find(|r| r.machine_id.as_str() == machine);
    Some(Seen {
        version: m.facts.agent_version.clone(),
        state: row.and_then(|r| r.slot.state.map(|s| s.as_str().to_owned())),
        reason: row.and_then(|r| r.reason.clone()),
        last_seen_ms: m.last_seen_ms.unwrap_or(0),
    })
}

async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The machine ids of the default organisation, once `n` are enrolled.
async fn enrolled(server: &crate::support::RunningServer, n: usize) -> Vec<String> {
    let org = server.store().org_by_name("default").await.unwrap();
    let mut ids = Vec::new();
    wait_until("agents enrolled", Duration::from_secs(60), || {
        let store = server.store().clone();
        let org = org.clone();
        async move { store.list_machines(&org).await.unwrap().len() >= n }
    })
    .await;
    for m in server.store().list_machines(&org).await.unwrap() {
        ids.push(m.id);
    }
    ids
}

/// Starts a rollout of `version` to every machine (the default organisation).
async fn roll_out(
    server: &crate::support::RunningServer,
    version: &str,
    canaries: u32,
    window_s: u32,
) -> String {
    let org = server.store().org_by_name("default").await.unwrap();
    let (_, token) = server
        .store()
        .create_api_token(
            &org,
            &format!("rollout-{}", uuid::Uuid::new_v4()),
            Role::Admin,
        )
        .await
        .unwrap();
    let resp = reqwest_json(
        &format!("{}/api/v1/rollouts", server.url),
        &token,
        &json!({"version": version, "canary_count": canaries, "health_window_s": window_s,
                "halt_failure_percent": 100}),
    )
    .await;
    resp["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{resp}"))
        .to_owned()
}

/// A POST over a real connection (ureq, off the runtime).
async fn reqwest_json(url: &str, token: &str, body: &Value) -> Value {
    let (url, token, body) = (url.to_owned(), token.to_owned(), body.clone());
    crate::agent_e2e::blocking(move || {
        let mut resp = ureq::post(&url)
            .header("Authorization", format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .header("Content-Type", "application/json")
            .send(serde_json::to_vec(&body).unwrap().as_slice())
            .unwrap();
        serde_json::from_slice::<Value>(&resp.body_mut().read_to_vec().unwrap()).unwrap()
    })
    .await
}

/// Waits until the server records `state` for the machine, and the agent reported again
/// after that (it keeps running).
async fn settles(
    server: &crate::support::RunningServer,
    rollout: &str,
    machine: &str,
    state: &str,
    within: Duration,
) -> Seen {
    let mut last = None;
    let until = Instant::now() + within;
    loop {
        if let Some(s) = seen(server, rollout, machine).await {
            if s.state.as_deref() == Some(state) {
                let at = s.last_seen_ms;
                wait_until(
                    "a report after the verdict",
                    Duration::from_secs(20),
                    || async {
                        seen(server, rollout, machine)
                            .await
                            .is_some_and(|n| n.last_seen_ms > at)
                    },
                )
                .await;
                return seen(server, rollout, machine).await.unwrap();
            }
            last = Some(s);
        }
        assert!(
            Instant::now() < until,
            "{machine} never reached {state}: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A server on SQLite with an enrollment key, trusting a fresh release key.
async fn trusting_server() -> (
    crate::support::TestDb,
    crate::support::RunningServer,
    optralis::ids::OrgId,
    String,
    ReleaseKey,
) {
    let (db, server, org, key) = server_with_key(Backend::Sqlite).await;
    let trusted = ReleaseKey::new();
    server
        .store()
        .trust_release_key(&trusted.public)
        .await
        .unwrap();
    (db, server, org, key, trusted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_refuses_bad_releases_then_updates_to_a_good_one() {
    let (db, server, _org, key, trusted) = trusting_server().await;
    let other = ReleaseKey::new();
    server
        .store()
        .trust_release_key(&other.public)
        .await
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut agent = AgentProc::new(&[&trusted]);
    agent.start(&server.url, &key, &[]);
    let machine = enrolled(&server, 1).await.remove(0);
    let pid = agent.pid();
    let running = env!("CARGO_PKG_VERSION");

    // Each bad release is refused before it runs; the agent keeps reporting as it was.
    let file = payload(files.path(), "a", 40_000);
    other
        .publish(server.store(), &file, "0.1.1-a", X86, 10)
        .await;
    let file = payload(files.path(), "b", 40_000);
    trusted
        .publish(server.store(), &file, "0.1.1-b", X86, 11)
        .await;
    let mut flipped = std::fs::read(&file).unwrap();
    flipped[20_000] ^= 0x80;
    corrupt_release(&db.url, "0.1.1-b", &flipped, flipped.len()).await;
    let file = payload(files.path(), "c", 40_000);
    trusted
        .publish(server.store(), &file, "0.1.1-c", X86, 12)
        .await;
    let bytes = std::fs::read(&file).unwrap();
    corrupt_release(&db.url, "0.1.1-c", &bytes[..25_000], 25_000).await;
    let file = payload(files.path(), "d", 40_000);
    trusted
        .publish(server.store(), &file, "0.1.1-d", Platform::LinuxAarch64, 13)
        .await;
    run_sql(
        &db.url,
        "UPDATE agent_releases SET platform = 'linux-x86_64' WHERE version = '0.1.1-d'",
    )
    .await;
    for (version, why) in [
        (
            "0.1.1-a",
            format!(
                "signed by key {}, which this agent does not trust",
                other.public.id
            ),
        ),
        ("0.1.1-b", "does not match the file".to_owned()),
        ("0.1.1-c", "does not match the file".to_owned()),
        ("0.1.1-d", "is for 0.1.1-d linux-aarch64".to_owned()),
    ] {
        let rollout = roll_out(&server, version, 1, 30).await;
        let s = settles(
            &server,
            &rollout,
            &machine,
            "failed",
            Duration::from_secs(60),
        )
        .await;
        let reason = s.reason.clone().unwrap_or_default();
        assert!(
            reason.contains(&why),
            "{version}: {reason:?}, wanted {why:?}"
        );
        assert_eq!(
            s.version, running,
            "{version}: the running agent is unchanged"
        );
        assert_eq!(agent.pid(), pid);
        assert_eq!(agent.running_agents(), 1, "{}", agent.log_text());
    }
    let check = agent.update_check();
    assert!(
        check.contains("last offer  0.1.1-d failed: the signature is for 0.1.1-d linux-aarch64"),
        "{check}"
    );

    // A good release: the process is replaced (same pid, as a service manager sees it), the
    // server shows the new version and "healthy".
    let (next, next_version) = next_agent();
    trusted
        .publish(server.store(), &next, &next_version, X86, 100)
        .await;
    let rollout = roll_out(&server, &next_version, 1, 60).await;
    let s = settles(
        &server,
        &rollout,
        &machine,
        "healthy",
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(s.version, next_version, "{}", agent.log_text());
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(
        exe.starts_with(&agent.state) && exe.ends_with("optralis-agent"),
        "the staged release runs: {}",
        exe.display()
    );
    assert_eq!(agent.processes().len(), 1, "{:?}", agent.processes());
    let check = agent.update_check();
    assert!(
        check.contains(&format!("last offer  {next_version} healthy")),
        "{check}"
    );

    // Replays: a lower version, and a higher one signed with an older serial.
    let file = payload(files.path(), "e", 40_000);
    trusted
        .publish(server.store(), &file, "0.1.1-e", X86, 200)
        .await;
    let file = payload(files.path(), "f", 40_000);
    trusted
        .publish(server.store(), &file, "0.1.2", X86, 50)
        .await;
    for (version, why) in [
        (
            "0.1.1-e",
            format!("0.1.1-e is not newer than the running {next_version}"),
        ),
        ("0.1.2", "serial 50 is not above 100".to_owned()),
    ] {
        let rollout = roll_out(&server, version, 1, 30).await;
        let s = settles(
            &server,
            &rollout,
            &machine,
            "failed",
            Duration::from_secs(60),
        )
        .await;
        let reason = s.reason.unwrap_or_default();
        assert!(
            reason.contains(&why),
            "{version}: {reason:?}, wanted {why:?}"
        );
        assert_eq!(s.version, next_version);
    }
    assert_eq!(agent.processes().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_fails_its_trial_is_rolled_back() {
    let (_db, server, _org, key, trusted) = trusting_server().await;
    let files = tempfile::tempdir().unwrap();
    let mut agent = AgentProc::new(&[&trusted]);
    agent.start(&server.url, &key, &[]);
    let machine = enrolled(&server, 1).await.remove(0);
    let pid = agent.pid();
    let running = env!("CARGO_PKG_VERSION");

    // One that exits at start, one that runs but never reaches the server.
    let crashes = script(files.path(), "crashes", "echo 'bad build' >&2; exit 3");
    trusted
        .publish(server.store(), &crashes, "0.1.1-x", X86, 10)
        .await;
    let hangs = script(files.path(), "hangs", "exec sleep 600");
    trusted
        .publish(server.store(), &hangs, "0.1.1-y", X86, 11)
        .await;
    for (version, window, why) in [
        (
            "0.1.1-x",
            60,
            "0.1.1-x exited (exit status: 3) before it reported healthy",
        ),
        ("0.1.1-y", 30, "0.1.1-y did not report healthy within 30 s"),
    ] {
        let started = Instant::now();
        let rollout = roll_out(&server, version, 1, window).await;
        let s = settles(
            &server,
            &rollout,
            &machine,
            "rolled_back",
            Duration::from_secs(u64::from(window) + 60),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(u64::from(window) + 30),
            "the previous version is back within the health window"
        );
        assert_eq!(s.reason.as_deref(), Some(why), "{}", agent.log_text());
        assert_eq!(s.version, running, "the previous version reports again");
        assert_eq!(agent.pid(), pid);
        assert_eq!(
            agent.processes().len(),
            1,
            "the bad release is gone: {:?}",
            agent.processes()
        );
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert_eq!(exe, agent_binary().canonicalize().unwrap());
    }
    let check = agent.update_check();
    assert!(
        check.contains("last offer  0.1.1-y rolled_back: 0.1.1-y did not report healthy"),
        "{check}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_each_step_of_the_swap_leaves_exactly_one_version_running() {
    let (_db, server, _org, key, trusted) = trusting_server().await;
    let (next, next_version) = next_agent();
    trusted
        .publish(server.store(), &next, &next_version, X86, 100)
        .await;
    let steps = [
        "downloaded",
        "staged",
        "trial-recorded",
        "child-started",
        "healthy-recorded",
    ];
    let mut agents: Vec<AgentProc> = Vec::new();
    for step in steps {
        let mut a = AgentProc::new(&[&trusted]);
        a.start(&server.url, &key, &[("OPTRALIS_AGENT_FAILPOINT", step)]);
        agents.push(a);
    }
    enrolled(&server, steps.len()).await;
    roll_out(&server, &next_version, steps.len() as u32, 60).await;

    // Each is killed at its step; started again, as systemd's Restart= would.
    for (agent, step) in agents.iter_mut().zip(steps) {
        let status = agent.wait_exit(Duration::from_secs(120));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "{step}: {status:?}\n{}",
            agent.log_text()
        );
        // Its child on trial (if any) died with it.
        wait_until("no process left", Duration::from_secs(10), || async {
            agent.processes().is_empty()
        })
        .await;
        agent.start(&server.url, &key, &[]);
    }
    // While they recover, never two agents on one state directory; in the end one each,
    // the new version, healthy.
    let org = server.store().org_by_name("default").await.unwrap();
    let until = Instant::now() + Duration::from_secs(180);
    loop {
        for (agent, step) in agents.iter().zip(steps) {
            assert!(
                agent.running_agents() <= 1,
                "{step}: {:?}",
                agent.processes()
            );
        }
        let machines = server.store().list_machines(&org).await.unwrap();
        let done = machines
            .iter()
            .all(|m| m.facts.agent_version == next_version)
            && agents.iter().all(|a| a.processes().len() == 1);
        if done {
            break;
        }
        assert!(
            Instant::now() < until,
            "not all recovered: {:?}",
            machines
                .iter()
                .map(|m| &m.facts.agent_version)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (agent, step) in agents.iter().zip(steps) {
        let check = agent.update_check();
        assert!(
            check.contains(&format!("last offer  {next_version} healthy")),
            "{step}: {check}\n{}",
            agent.log_text()
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_halts_after_its_canaries_fail_and_the_others_never_download() {
    let (_db, server, org, key, trusted) = trusting_server().await;
    let files = tempfile::tempdir().unwrap();
    let bad = script(files.path(), "bad", "exit 3");
    trusted
        .publish(server.store(), &bad, "0.1.1-bad", X86, 10)
        .await;
    let mut agents: Vec<AgentProc> = (0..20).map(|_| AgentProc::new(&[&trusted])).collect();
    for a in &mut agents {
        a.start(&server.url, &key, &[]);
    }
    enrolled(&server, 20).await;
    let (_, token) = server
        .store()
        .create_api_token(&org, "ops", Role::Admin)
        .await
        .unwrap();
    let created = reqwest_json(
        &format!("{}/api/v1/rollouts", server.url),
        &token,
        &json!({"version": "0.1.1-bad", "canary_count": 2, "health_window_s": 60}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let rollout_id = optralis::ids::RolloutId::from_path(&id);
    wait_until("the rollout halts", Duration::from_secs(120), || async {
        server
            .store()
            .get_rollout(&org, &rollout_id)
            .await
            .unwrap()
            .state
            == optralis_proto::release::RolloutState::Halted
    })
    .await;
    // Some more reports from every agent: none of the others is offered it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rows = server
        .store()
        .rollout_machines(&org, &rollout_id)
        .await
        .unwrap();
    let canaries: Vec<_> = rows.iter().filter(|r| r.slot.canary).collect();
    let others: Vec<_> = rows.iter().filter(|r| !r.slot.canary).collect();
    assert_eq!((canaries.len(), others.len()), (2, 18));
    for c in &canaries {
        assert_eq!(
            c.slot.state,
            Some(optralis_proto::release::UpdateState::RolledBack),
            "{c:?}"
        );
    }
    for o in &others {
        assert_eq!(o.slot.state, None, "never offered: {o:?}");
    }
    let downloaded = agents
        .iter()
        .filter(|a| a.state.join("update/downloads").exists())
        .count();
    assert_eq!(downloaded, 2, "only the canaries downloaded the release");
    for a in &agents {
        assert_eq!(a.running_agents(), 1, "{}", a.log_text());
    }
    let r = server.store().get_rollout(&org, &rollout_id).await.unwrap();
    let reason = r.reason.unwrap();
    assert!(reason.contains("of the 2 machines offered"), "{reason}");
    server.stop().await;
}

/// The release manager's commands, as the README gives them: what `optralis release sign`
/// writes, Debian's `minisign -V` verifies; the server publishes only what its trusted keys
/// signed, under the version and platform signed.
#[test]
fn the_release_commands_sign_what_minisign_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let optralis = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_optralis"))
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let path = |name: &str| d.join(name).to_string_lossy().into_owned();
    std::fs::write(d.join("password"), "a long release password\n").unwrap();
    let (ok, out) = optralis(&[
        "release",
        "keygen",
        "--out",
        &path("keys"),
        "--password-file",
        &path("password"),
    ]);
    assert!(ok, "{out}");
    let secret = path("keys/optralis-release.key");
    let public = path("keys/optralis-release.pub");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the secret key is the owner's alone");
    let (ok, out) = optralis(&["release", "keygen", "--out", &path("keys"), "--unencrypted"]);
    assert!(!ok && out.contains("refusing to overwrite"), "{out}");

    let bin = payload(d, "optralis-agent", 30_000);
    let bin = bin.to_string_lossy().into_owned();
    let (ok, out) = optralis(&[
        "release",
        "sign",
        "--secret-key",
        &secret,
        "--password-file",
        &path("password"),
        "--file",
        &bin,
        "--version",
        "0.3.0",
        "--platform",
        "linux-aarch64",
        "--serial",
        "42",
    ]);
    assert!(ok, "{out}");
    let sig = format!("{bin}.minisig");
    let verified = Command::new("minisign")
        .args(["-V", "-m", &bin, "-p", &public, "-x", &sig])
        .output()
        .expect("minisign (Debian package minisign) verifies releases by hand");
    let said = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{said}");
    assert!(
        said.contains(
            "Trusted comment: optralis-agent version=0.3.0 platform=linux-aarch64 serial=42"
        ),
        "{said}"
    );
    std::fs::write(d.join("wrong-password"), "not the password\n").unwrap();
    let (ok, out) = optralis(&[
        "release",
        "sign",
        "--secret-key",
        &secret,
        "--password-file",
        &path("wrong-password"),
        "--file",
        &bin,
        "--version",
        "0.3.0",
        "--platform",
        "linux-aarch64",
        "--out",
        &path("x.minisig"),
    ]);
    assert!(!ok && out.contains("Wrong password"), "{out}");

    let data = path("data");
    let publish = |version: &str, platform: &str| {
        optralis(&[
            "release",
            "publish",
            "--file",
            &bin,
            "--signature",
            &sig,
            "--version",
            version,
            "--platform",
            platform,
            "--data-dir",
            &data,
        ])
    };
    let (ok, out) = publish("0.3.0", "linux-aarch64");
    assert!(!ok && out.contains("trusts no release key"), "{out}");
    let (ok, out) = optralis(&[
        "release",
        "trust",
        "--public-key",
        &public,
        "--data-dir",
        &data,
    ]);
    assert!(ok && out.contains("trusted"), "{out}");
    let (ok, out) = publish("0.3.1", "linux-aarch64");
    assert!(
        !ok && out.contains("the signature is for 0.3.0 linux-aarch64, not 0.3.1 linux-aarch64"),
        "{out}"
    );
    let (ok, out) = publish("0.3.0", "linux-x86_64");
    assert!(!ok && out.contains("not 0.3.0 linux-x86_64"), "{out}");
    let (ok, out) = publish("0.3.0", "linux-aarch64");
    assert!(
        ok && out.contains("Published 0.3.0 for linux-aarch64 (serial 42"),
        "{out}"
    );
    let (ok, out) = publish("0.3.0", "linux-aarch64");
    assert!(!ok && out.contains("already published"), "{out}");
}
