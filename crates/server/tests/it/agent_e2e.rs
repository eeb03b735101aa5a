//! The real agent (collectors of this machine, on-disk outbox, HTTP client) against the
//! real server on a port: enrollment, an outage with a server restart in the middle, and
//! the backlog replayed with nothing lost and nothing duplicated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use optralis::ids::MachineId;
use optralis::store::{EventQuery, Retention, SeriesQuery, find_metric};
use optralis_agent::collect::native;
use optralis_agent::events::EventOptions;
use optralis_agent::send::outbox::OutboxLimits;
use optralis_agent::{Agent, AgentOptions};
use optralis_proto::events::EventSeverity;
use optralis_proto::interval::Thresholds;

use crate::support::{Backend, RunningServer, TestDb, both_backends};

both_backends!(
    outbox_replays_across_a_server_restart,
    run_loop_reports_and_stops_on_signal,
    journal_events_arrive_once_across_restarts_and_outages,
);

#[path = "../../../agent/tests/it/journal.rs"]
mod journal;

/// The one-line install, for real: the server serves the script and the agent binary cargo
/// built, the script downloads it, checks its SHA-256 and runs `optralis-agent install`
/// (into a temporary root: installing for real needs a running systemd); the machine appears.
/// A dry run changes nothing; a binary that does not match its digest is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_install_script_served_by_the_server_installs_the_agent() {
    let built = agent_binary();
    let dist = tempfile::tempdir().unwrap();
    let served = dist.path().join("optralis-agent-0.1.0-linux-x86_64");
    std::fs::copy(&built, &served).unwrap();
    // An aarch64 build beside it (any bytes: on this x86_64 machine it is only fetched and
    // verified, by a dry run that believes it runs on aarch64).
    std::fs::write(
        dist.path().join("optralis-agent-0.1.0-linux-aarch64"),
        b"arm",
    )
    .unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let settings = optralis::ApiSettings {
        downloads: Some(std::sync::Arc::new(
            optralis::downloads::Downloads::scan(dist.path()).unwrap(),
        )),
        ..Default::default()
    };
    let server = RunningServer::start_with(&db.url, None, settings).await;
    let org = server.store().org_by_name("default").await.unwrap();
    let key = server.store().create_enroll_key(&org).await.unwrap();

    let script = blocking({
        let url = format!("{}/install.sh", server.url);
        move || {
            std::process::Command::new("curl")
                .args(["-fsS", &url])
                .output()
                .unwrap()
        }
    })
    .await;
    assert!(script.status.success());
    let script_file = dist.path().join("install.sh");
    std::fs::write(&script_file, &script.stdout).unwrap();
    let lint = std::process::Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&script_file)
        .output()
        .expect("shellcheck is needed (Debian: apt-get install shellcheck)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );

    let pipe = |args: String| {
        let line = format!("curl -fsSL {}/install.sh | sh -s -- {args}", server.url);
        blocking(move || {
            std::process::Command::new("sh")
                .args(["-c", &line])
                .output()
                .unwrap()
        })
    };
    // The architecture decides the file: a fake `uname` plays an aarch64 and a riscv64 machine.
    let fake = tempfile::tempdir().unwrap();
    let as_machine = |arch: &str| {
        let bin = fake.path().join(arch);
        std::fs::create_dir_all(&bin).unwrap();
        let uname = bin.join("uname");
        std::fs::write(
            &uname,
            format!("#!/bin/sh\nif [ \"$1\" = -m ]; then echo {arch}; else echo Linux; fi\n"),
        )
        .unwrap();
        std::fs::set_permissions(&uname, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let line = format!(
            "PATH={}:$PATH; export PATH; curl -fsSL {}/install.sh | sh -s -- --key {key} --dry-run",
            bin.display(),
            server.url
        );
        blocking(move || {
            std::process::Command::new("sh")
                .args(["-c", &line])
                .output()
                .unwrap()
        })
    };
    let arm = as_machine("aarch64").await;
    let said_arm = String::from_utf8_lossy(&arm.stdout);
    assert!(
        arm.status.success(),
        "{said_arm}{}",
        String::from_utf8_lossy(&arm.stderr)
    );
    assert!(
        said_arm.contains("optralis-agent-0.1.0-linux-aarch64") && said_arm.contains("Verified"),
        "{said_arm}"
    );
    let riscv = as_machine("riscv64").await;
    assert!(!riscv.status.success());
    assert!(
        String::from_utf8_lossy(&riscv.stderr).contains("no agent build for riscv64"),
        "{}",
        String::from_utf8_lossy(&riscv.stderr)
    );

    let root = tempfile::tempdir().unwrap();
    let dry = pipe(format!("--key {key} --dry-run")).await;
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        said.contains("Verified") && said.contains("Dry run"),
        "{said}"
    );
    assert!(!said.contains(&key), "the key is not echoed: {said}");
    assert!(server.store().list_machines(&org).await.unwrap().is_empty());

    let out = pipe(format!(
        "--key {key} --label env=lab --root {}",
        root.path().display()
    ))
    .await;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.store().list_machines(&org).await.unwrap().len(), 1);
    assert!(
        root.path()
            .join("etc/systemd/system/optralis-agent.service")
            .is_file()
    );
    let config =
        std::fs::read_to_string(root.path().join("etc/optralis-agent/agent.toml")).unwrap();
    assert!(config.contains("env = \"lab\""), "{config}");

    // The file changes after the server listed its digest: the script refuses it.
    std::fs::write(&served, b"not the agent").unwrap();
    let other = tempfile::tempdir().unwrap();
    let refused = pipe(format!("--key {key} --root {}", other.path().display())).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not installed"));
    assert!(!other.path().join("etc").exists());
    server.stop().await;
}

/// `optralis-agent install` into a directory laid out like a system root: the user, the
/// files and their modes, one enrollment however often it runs, and `uninstall --purge`
/// leaving nothing behind. (Enabling and starting the unit needs a running systemd, which
/// these machines do not have; the unit itself is checked by the agent's service tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_lays_out_a_hardened_service_and_enrolls_once() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use optralis_agent::service::install::{self, InstallOptions};

    let (_db, server, org, key) = server_with_key(Backend::Sqlite).await;
    let root = tempfile::tempdir().unwrap();
    let opts = InstallOptions {
        server: server.url.clone(),
        enroll_key: key.clone(),
        labels: [("env".to_owned(), "prod".to_owned())].into(),
        update_keys: vec!["RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3".to_owned()],
        root: root.path().to_owned(),
        start: false,
    };
    let first = {
        let opts = opts.clone();
        blocking(move || install::install(&opts, native()).unwrap()).await
    };
    assert!(!first.started);
    let at = |p: &str| root.path().join(p.trim_start_matches('/'));
    let mode = |p: &str| std::fs::metadata(at(p)).unwrap().permissions().mode() & 0o7777;

    let passwd = std::fs::read_to_string(at("/etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("optralis-agent:"))
        .expect("the system user");
    assert!(
        user.ends_with(":/var/lib/optralis-agent:/usr/sbin/nologin"),
        "{user}"
    );
    let uid: u32 = user.split(':').nth(2).unwrap().parse().unwrap();
    let group = std::fs::read_to_string(at("/etc/group")).unwrap();
    assert!(
        group
            .lines()
            .any(|l| l.starts_with("disk:") && l.ends_with(":optralis-agent"))
    );

    assert_eq!(mode(install::CONFIG_DIR), 0o750);
    // Root's, read by the agent's group: the agent cannot trust a release key of its own.
    assert_eq!(mode(install::CONFIG_FILE), 0o640);
    assert_eq!(
        std::fs::metadata(at(install::CONFIG_FILE)).unwrap().uid(),
        0
    );
    assert_ne!(uid, 0);
    let config = std::fs::read_to_string(at(install::CONFIG_FILE)).unwrap();
    assert!(
        config.contains(&format!("server = \"{}\"", server.url)),
        "{config}"
    );
    assert!(config.contains("env = \"prod\""), "{config}");
    assert!(
        config.contains(
            "public_keys = [\"RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3\"]"
        ),
        "{config}"
    );
    assert!(!config.contains(&key), "the enrollment key is not kept");

    assert_eq!(mode(install::STATE_DIR), 0o700);
    let token_file = format!("{}/enrollment.json", install::STATE_DIR);
    assert_eq!(mode(&token_file), 0o600);
    for entry in std::fs::read_dir(at(install::STATE_DIR)).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!(meta.uid(), uid, "the state belongs to the service's user");
    }

    let unit = std::fs::read_to_string(at(install::UNIT_FILE)).unwrap();
    assert!(unit.contains(&format!("ExecStart={} run ", install::INSTALLED_BINARY)));
    assert_eq!(mode(install::INSTALLED_BINARY), 0o755);

    let machines = server.store().list_machines(&org).await.unwrap();
    assert_eq!(machines.len(), 1);
    assert_eq!(machines[0].id, first.machine_id);

    // The token is an encrypted systemd credential (systemd 252 here): enrollment.json holds a
    // reference, the .cred file opens only with the root's host key, the drop-in loads it.
    assert_eq!(first.token_at_rest, install::TokenAtRest::Credential);
    let enrollment = std::fs::read_to_string(at(&token_file)).unwrap();
    assert!(
        enrollment.contains("\"systemd-credential:machine-token\"") && !enrollment.contains("omt_"),
        "{enrollment}"
    );
    assert_eq!(mode(install::CREDENTIAL_FILE), 0o600);
    let dropin = std::fs::read_to_string(at(install::CREDENTIAL_DROPIN)).unwrap();
    assert!(dropin.contains(&format!(
        "LoadCredentialEncrypted=machine-token:{}",
        install::CREDENTIAL_FILE
    )));
    let decrypt = |with_root_key: bool| {
        let mut cmd = std::process::Command::new("systemd-creds");
        cmd.args(["decrypt", "--name", "machine-token"])
            .arg(at(install::CREDENTIAL_FILE))
            .arg("-");
        if with_root_key {
            cmd.env(
                "SYSTEMD_CREDENTIAL_SECRET",
                at("/var/lib/systemd/credential.secret"),
            );
        }
        cmd.output().unwrap()
    };
    assert!(
        !decrypt(false).status.success(),
        "another key cannot open it"
    );
    let opened = decrypt(true);
    assert!(opened.status.success());
    let token = String::from_utf8(opened.stdout).unwrap();
    assert!(token.starts_with("omt_"), "{token}");

    // As systemd starts the service: the token decrypted into $CREDENTIALS_DIRECTORY.
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("machine-token"), &token).unwrap();
    let run_agent = |credentials: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(agent_binary());
        cmd.args([
            "run",
            "--server",
            &server.url,
            "--interval",
            "2s",
            "--no-events",
        ])
        .arg("--state-dir")
        .arg(at(install::STATE_DIR))
        .env_remove("CREDENTIALS_DIRECTORY");
        if let Some(dir) = credentials {
            cmd.env("CREDENTIALS_DIRECTORY", dir);
        }
        cmd
    };
    let refused = run_agent(None).output().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("systemd credential"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let mut service = run_agent(Some(credentials.path())).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while stored_seqs(&server, &first.machine_id).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no report with the credential"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = service.kill();
    let _ = service.wait();

    // Again (new labels): the same machine, no second enrollment.
    let again = {
        let mut opts = opts.clone();
        opts.labels.insert("tier".into(), "web".into());
        blocking(move || install::install(&opts, native()).unwrap()).await
    };
    assert_eq!(again.machine_id, first.machine_id);
    assert_eq!(again.token_at_rest, install::TokenAtRest::Credential);
    assert_eq!(server.store().list_machines(&org).await.unwrap().len(), 1);
    assert!(
        std::fs::read_to_string(at(install::CONFIG_FILE))
            .unwrap()
            .contains("tier = \"web\"")
    );

    let removed = install::uninstall(root.path(), true).unwrap();
    assert!(removed.len() >= 5, "{removed:?}");
    for gone in [
        install::UNIT_FILE,
        install::CREDENTIAL_DROPIN_DIR,
        install::INSTALLED_BINARY,
        install::CONFIG_DIR,
        install::STATE_DIR,
        install::SYSUSERS_FILE,
    ] {
        assert!(!at(gone).exists(), "{gone} is left behind");
    }
    server.stop().await;
}

pub(crate) fn options(server: &str, key: &str, dir: &std::path::Path) -> AgentOptions {
    AgentOptions {
        server: server.to_owned(),
        enroll_key: Some(key.to_owned()),
        state_dir: dir.to_owned(),
        forced_interval: Some(Duration::from_millis(300)),
        thresholds: Thresholds::default(),
        outbox: OutboxLimits::default(),
        batch_size: 4,
        smart_interval: Some(Duration::from_secs(3600)),
        smartctl: None,
        labels: [("site".to_owned(), "e2e-lab".to_owned())].into(),
        events: None,
        update: Default::default(),
    }
}

/// The agent binary cargo built beside this test binary.
pub(crate) fn agent_binary() -> std::path::PathBuf {
    let built = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("optralis-agent");
    assert!(
        built.is_file(),
        "{} is missing: build the agent first (cargo build -p optralis-agent; cargo xtask test does)",
        built.display()
    );
    built
}

/// Runs blocking agent code off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

pub(crate) async fn stored_seqs(server: &RunningServer, machine: &str) -> usize {
    let store = server.store();
    let org = store.org_by_name("default").await.unwrap();
    let q = SeriesQuery {
        metric: find_metric(optralis_proto::metrics::MetricName::parse("cpu.percent").unwrap())
            .unwrap(),
        instance: None,
        from_ms: store.now_ms() - 3_600_000,
        to_ms: store.now_ms() + 60_000,
        step_s: None,
    };
    store
        .series(
            &org,
            &MachineId::from_path(machine),
            &q,
            &Retention::default(),
        )
        .await
        .unwrap()
        .points
        .len()
}

/// A fresh database, the server on a port over it, and an enrollment key of `default`.
pub(crate) async fn server_with_key(
    backend: Backend,
) -> (TestDb, RunningServer, optralis::ids::OrgId, String) {
    let db = TestDb::new(backend).await;
    let server = RunningServer::start(&db.url, None).await;
    let org = server.store().org_by_name("default").await.unwrap();
    let key = server.store().create_enroll_key(&org).await.unwrap();
    (db, server, org, key)
}

async fn outbox_replays_across_a_server_restart(backend: Backend) {
    let (db, server, _org, key) = server_with_key(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server.url, &key, dir.path());

    let (agent, first) = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        let flushed = agent.flush().unwrap();
        (agent, flushed)
    })
    .await;
    assert_eq!(first.acknowledged, 1);
    let machine = agent.machine_id().unwrap().to_owned();
    let addr = server.addr;

    // Outage: the server goes away; ten collections queue up on disk.
    server.stop().await;
    let agent = blocking(move || {
        let mut agent = agent;
        for _ in 0..10 {
            agent.collect().unwrap();
            assert!(agent.flush().is_err(), "nobody is listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(agent.outbox().stats().unwrap().pending, 10);
        agent
    })
    .await;

    // The server comes back on the same address and database; the backlog drains.
    let server = RunningServer::start(&db.url, Some(addr)).await;
    let (agent, replay) = blocking(move || {
        let mut agent = agent;
        let flushed = agent.flush().unwrap();
        (agent, flushed)
    })
    .await;
    assert_eq!(
        replay.acknowledged, 10,
        "sent in batches of 4, all acknowledged"
    );
    assert_eq!(agent.outbox().stats().unwrap().pending, 0);
    assert_eq!(
        stored_seqs(&server, &machine).await,
        11,
        "nothing lost, nothing duplicated"
    );

    // A fresh agent state on the same machine has no token to prove who it is: it joins as
    // a new machine (its fingerprint alone proves nothing), and the known one is untouched.
    let dir2 = tempfile::tempdir().unwrap();
    let opts = options(&server.url, &key, dir2.path());
    let again = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        let flushed = agent.flush().unwrap();
        (agent.machine_id().unwrap().to_owned(), flushed)
    })
    .await;
    assert_ne!(again.0, machine);
    assert_eq!(again.1.acknowledged, 1);
    assert_eq!(stored_seqs(&server, &again.0).await, 1);
    assert_eq!(stored_seqs(&server, &machine).await, 11);

    // The outbox alone lost (the enrollment file kept): numbering would start over, so the
    // agent enrolls again, proving who it is with its token, to learn where the server's
    // numbering stands.
    std::fs::remove_file(dir2.path().join("outbox.redb")).unwrap();
    let opts = options(&server.url, &key, dir2.path());
    let flushed = blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        // As `run` does: enrollment first, then collections.
        agent.enroll().unwrap();
        agent.collect().unwrap();
        (
            agent.machine_id().unwrap().to_owned(),
            agent.flush().unwrap(),
        )
    })
    .await;
    assert_eq!(flushed.0, again.0, "the same machine");
    assert_eq!(flushed.1.acknowledged, 1);
    assert_eq!(
        stored_seqs(&server, &again.0).await,
        2,
        "stored, not taken for a replay"
    );
    server.stop().await;
}

async fn run_loop_reports_and_stops_on_signal(backend: Backend) {
    let (_db, server, org, key) = server_with_key(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&server.url, &key, dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        agent
            .run(&stop2)
            .map(|()| agent.machine_id().map(str::to_owned))
    });
    // Wait until at least three reports are in, then stop the agent.
    let machines = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let list = server.store().list_machines(&org).await.unwrap();
        if let Some(m) = list.first()
            && stored_seqs(&server, &m.id).await >= 3
        {
            break list;
        }
    };
    stop.store(true, Ordering::Relaxed);
    let id = handle.join().unwrap().unwrap();
    assert_eq!(id.as_deref(), Some(machines[0].id.as_str()));
    let latest = machines[0].latest.as_ref().unwrap();
    assert_eq!(
        machines[0].agent_labels.get("site").map(String::as_str),
        Some("e2e-lab")
    );
    assert_eq!(machines[0].status, "online");
    assert!(
        latest.memory.total_bytes > 0,
        "real memory figures from this machine"
    );
    assert!(!latest.cpu_per_core.is_empty());
    // The first report carried a disk-health reading (whatever this machine allows).
    let disks = server
        .store()
        .machine_disks(&org, &MachineId::from_path(&machines[0].id))
        .await
        .unwrap();
    assert_ne!(disks.state, "unknown", "{disks:?}");
    server.stop().await;
}

/// journald entries in a real journal file, read by the real agent and sent to the real
/// server: an agent restart and a server outage in between lose and repeat nothing.
async fn journal_events_arrive_once_across_restarts_and_outages(backend: Backend) {
    let (db, server, org, key) = server_with_key(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("system.journal");
    let t = journal::now_ms() - 300_000;
    journal::append_journal(
        &file,
        &[
            (3, "nginx", "upstream timed out", t),
            (6, "cron", "job ran", t + 1),
        ],
    );
    let mut opts = options(&server.url, &key, &dir.path().join("state"));
    opts.events = Some(EventOptions {
        journalctl: None,
        journal_files: vec![file.clone()],
        max_per_report: 100,
    });

    let o = opts.clone();
    let machine = blocking(move || {
        let mut agent = Agent::new(o, native()).unwrap();
        agent.enroll().unwrap();
        agent.collect().unwrap();
        assert_eq!(agent.flush().unwrap().acknowledged, 1);
        agent.machine_id().unwrap().to_owned()
    })
    .await;

    // The server goes away; an entry is read and queued by an agent that then stops.
    let addr = server.addr;
    server.stop().await;
    journal::append_journal(&file, &[(2, "kernel", "machine check", t + 10)]);
    let o = opts.clone();
    blocking(move || {
        let mut agent = Agent::new(o, native()).unwrap();
        agent.collect().unwrap();
        assert!(agent.flush().is_err(), "nobody is listening");
    })
    .await;

    // Server back, agent restarted: the queued entry and a newer one, once each.
    journal::append_journal(&file, &[(4, "sshd", "invalid user", t + 20)]);
    let server = RunningServer::start(&db.url, Some(addr)).await;
    blocking(move || {
        let mut agent = Agent::new(opts, native()).unwrap();
        for _ in 0..2 {
            agent.collect().unwrap();
            agent.flush().unwrap();
        }
        assert_eq!(agent.outbox().stats().unwrap().pending, 0);
    })
    .await;
    let page = server
        .store()
        .search_events(
            &org,
            &EventQuery {
                machine: Some(MachineId::from_path(&machine)),
                min_severity: EventSeverity::Warning,
                source: None,
                text: None,
                from_ms: 0,
                to_ms: i64::MAX,
                limit: 100,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = page
        .events
        .iter()
        .map(|e| (e.event.source.as_str(), e.event.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("sshd", "invalid user"),
            ("kernel", "machine check"),
            ("nginx", "upstream timed out"),
        ]
    );
    server.stop().await;
}
