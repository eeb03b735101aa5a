//! The agent built for Windows (`cargo xtask windows`), run under Wine against the real
//! server on this machine: in the foreground it enrolls and its reports are stored with the
//! right host facts; as a service, Wine's service manager starts it (`install-service`),
//! stops it (`net stop`) and removes it (`uninstall-service --purge`); the installer
//! (`cargo xtask dist`), silent as GPO and RMM tools run it, lays the files, registers and
//! starts the service, and the machine appears; its uninstaller removes it all.
//!
//! Under Wine the CPU, disks and interfaces read what Wine offers (often nothing); host, OS,
//! cores and memory must be this machine's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use optralis_proto::api::Machine;

use crate::agent_e2e::{blocking, stored_seqs};
use crate::support::{Backend, RunningServer, TestDb};

/// The `.exe`, its installer and the Wine prefix `cargo xtask test` prepared.
struct Wine {
    exe: PathBuf,
    installer: PathBuf,
    prefix: PathBuf,
}

impl Wine {
    fn from_env() -> Self {
        let exe = std::env::var_os("OPTRALIS_TEST_WINDOWS_AGENT").map(PathBuf::from).expect(
            "OPTRALIS_TEST_WINDOWS_AGENT is not set: run the tests with `cargo xtask test`, which \
             cross-builds optralis-agent.exe and prepares a Wine prefix (or set it, and WINEPREFIX, \
             after `cargo xtask windows`)",
        );
        let prefix = std::env::var_os("WINEPREFIX")
            .map(PathBuf::from)
            .expect("WINEPREFIX is not set (cargo xtask test sets it with the agent's .exe)");
        let installer = std::env::var_os("OPTRALIS_TEST_WINDOWS_INSTALLER")
            .map(PathBuf::from)
            .expect("OPTRALIS_TEST_WINDOWS_INSTALLER is not set: cargo xtask test builds it");
        assert!(exe.is_file(), "{} is missing", exe.display());
        assert!(installer.is_file(), "{} is missing", installer.display());
        Self {
            exe,
            installer,
            prefix,
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("/usr/lib/wine/wine64");
        c.arg(program).env("WINEPREFIX", &self.prefix);
        c
    }

    /// NSIS installers are 32-bit programs: Wine's 32-bit loader (wine32) runs them.
    fn command32(&self, program: &Path) -> Command {
        let mut c = Command::new("/usr/lib/wine/wine");
        c.arg(program).env("WINEPREFIX", &self.prefix);
        c
    }

    fn program_files(&self) -> PathBuf {
        self.prefix.join("drive_c/Program Files/Optralis/Agent")
    }

    async fn service_state(&self) -> String {
        let mut query = self.command("sc");
        query.args(["query", "OptralisAgent"]);
        said(&run(query).await)
    }

    fn agent(&self) -> Command {
        self.command(&self.exe.to_string_lossy())
    }

    /// A path of this machine as the Windows program sees it (Wine maps `/` to `Z:`).
    fn path(host: &Path) -> String {
        format!("Z:{}", host.display()).replace('/', "\\")
    }

    /// Wine's service manager lives only as long as its wineserver, which exits a few
    /// seconds after its last program: keep one up for the test (stopped on drop, with
    /// whatever still runs in this prefix).
    fn persistent_server(&self) -> WineServer {
        let server = WineServer(self.prefix.clone());
        server.kill();
        let started = Command::new(WINESERVER)
            .arg("-p")
            .env("WINEPREFIX", &self.prefix)
            .status()
            .expect("cannot start wineserver64 (Debian package wine64)");
        assert!(started.success(), "wineserver64 -p: {started}");
        server
    }

    fn program_data(&self) -> PathBuf {
        self.prefix.join("drive_c/ProgramData/Optralis/agent")
    }
}

const WINESERVER: &str = "/usr/lib/wine/wineserver64";

struct WineServer(PathBuf);

impl WineServer {
    fn kill(&self) {
        let _ = Command::new(WINESERVER)
            .arg("-k")
            .env("WINEPREFIX", &self.0)
            .status();
    }
}

impl Drop for WineServer {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn http_get(url: &str) -> Vec<u8> {
    let url = url.to_owned();
    let out = blocking(move || Command::new("curl").args(["-fsS", &url]).output().unwrap()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn run(mut cmd: Command) -> Output {
    blocking(move || {
        cmd.output()
            .expect("cannot start wine64 (Debian package wine64)")
    })
    .await
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn wait_for_machines(server: &RunningServer, count: usize) -> Vec<Machine> {
    let org = server.store().org_by_name("default").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let machines = server.store().list_machines(&org).await.unwrap();
        if machines.len() >= count && machines.iter().all(|m| m.latest.is_some()) {
            return machines;
        }
        assert!(
            Instant::now() < deadline,
            "{count} reporting machine(s) expected, found {machines:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn host_memory_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_agent_under_wine_reports_and_runs_as_a_service() {
    let wine = Wine::from_env();
    let _wineserver = wine.persistent_server();
    // The server serves the installer's directory (as `optralis serve --dist-dir`).
    let db = TestDb::new(Backend::Sqlite).await;
    let dist = wine.installer.parent().unwrap();
    let settings = optralis::ApiSettings {
        downloads: Some(std::sync::Arc::new(
            optralis::downloads::Downloads::scan(dist).unwrap(),
        )),
        ..Default::default()
    };
    let server = RunningServer::start_with(&db.url, None, settings).await;
    let org = server.store().org_by_name("default").await.unwrap();
    let key = server.store().create_enroll_key(&org).await.unwrap();

    // install.ps1 names this server and the installer's SHA-256, which is what the server
    // hands out. (No PowerShell here to run it: its text is what can be checked.)
    let script = http_get(&format!("{}/install.ps1", server.url)).await;
    let script = String::from_utf8(script).unwrap();
    let installer_name = wine
        .installer
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        script.contains(&format!("$Server = '{}'", server.url)),
        "{script}"
    );
    assert!(
        script.contains(&format!("$Installer = '{installer_name}'")),
        "{script}"
    );
    let served = http_get(&format!("{}/downloads/{installer_name}", server.url)).await;
    assert_eq!(served, std::fs::read(&wine.installer).unwrap());
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&served));
    assert!(
        script.contains(&format!("$Sha256 = '{digest}'")),
        "{script}"
    );

    // In the foreground, as a user would try it first.
    let state = tempfile::tempdir().unwrap();
    let mut foreground = wine.agent();
    foreground.args([
        "run",
        "--server",
        &server.url,
        "--enroll-key",
        &key,
        "--state-dir",
        &Wine::path(state.path()),
        "--interval",
        "2s",
        "--no-events",
    ]);
    let mut child = foreground.spawn().unwrap();
    let machines = wait_for_machines(&server, 1).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_seqs(&server, &machines[0].id).await < 2 {
        assert!(Instant::now() < deadline, "the second report never came");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = child.kill();
    let _ = child.wait();

    let m = &machines[0];
    let facts = &m.facts;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        facts.hostname.eq_ignore_ascii_case(hostname.trim()),
        "{facts:?}"
    );
    assert!(facts.os_name.contains("Windows"), "{facts:?}");
    assert_eq!(facts.arch, "x86_64");
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(facts.cpu_logical_cores, cores, "{facts:?}");
    let latest = m.latest.as_ref().unwrap();
    assert_eq!(latest.cpu_per_core.len(), cores as usize);
    let memory = latest.memory.total_bytes as f64;
    let host = host_memory_bytes() as f64;
    assert!((memory - host).abs() / host < 0.05, "{memory} vs {host}");
    // The machine token is sealed with DPAPI, not written in the clear.
    let enrollment = std::fs::read_to_string(state.path().join("enrollment.json")).unwrap();
    assert!(
        enrollment.contains("\"machine_token\": \"dpapi:"),
        "{enrollment}"
    );

    // As a service.
    let key2 = server.store().create_enroll_key(&org).await.unwrap();
    let mut install = wine.agent();
    install.args([
        "install-service",
        "--server",
        &server.url,
        "--enroll-key",
        &key2,
        "--label",
        "os=windows",
    ]);
    let out = run(install).await;
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("OptralisAgent"), "{}", said(&out));
    let config = std::fs::read_to_string(wine.program_data().join("agent.toml")).unwrap();
    assert!(
        config.contains("os = \"windows\"") && !config.contains(&key2),
        "{config}"
    );

    let machines = wait_for_machines(&server, 2).await;
    let service_machine = machines
        .iter()
        .find(|m| m.agent_labels.get("os").map(String::as_str) == Some("windows"))
        .unwrap_or_else(|| panic!("the service's machine: {machines:?}"));
    assert!(service_machine.latest.is_some());

    let mut query = wine.command("sc");
    query.args(["query", "OptralisAgent"]);
    let out = run(query).await;
    assert!(said(&out).contains("RUNNING"), "{}", said(&out));

    let mut stop = wine.command("net");
    stop.args(["stop", "OptralisAgent"]);
    let out = run(stop).await;
    assert!(out.status.success(), "{}", said(&out));
    // The stop finishes the loop's round and closes the outbox, then reports STOPPED.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut query = wine.command("sc");
        query.args(["query", "OptralisAgent"]);
        let out = run(query).await;
        if said(&out).contains("STOPPED") {
            break;
        }
        assert!(Instant::now() < deadline, "not stopped: {}", said(&out));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let log = std::fs::read_to_string(wine.program_data().join("agent.log")).unwrap();
    assert!(log.contains("asked the agent to stop"), "{log}");
    assert!(log.contains("the service stopped"), "{log}");
    assert!(!log.contains(&key2), "the key is not logged");

    let mut uninstall = wine.agent();
    uninstall.args(["uninstall-service", "--purge"]);
    let out = run(uninstall).await;
    assert!(out.status.success(), "{}", said(&out));
    assert!(!wine.program_data().exists());
    let state = wine.service_state().await;
    assert!(!state.contains("RUNNING"), "{state}");

    // The installer, silent: without a key it refuses (exit code 2) and installs nothing.
    let mut refused = wine.command32(&wine.installer);
    refused.arg("/S").arg(format!("/SERVER={}", server.url));
    let out = run(refused).await;
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(!wine.program_files().exists());

    // A key the server refuses: exit code 3, and nothing half-installed is left.
    let mut wrong_key = wine.command32(&wine.installer);
    wrong_key.args([
        "/S".to_owned(),
        format!("/SERVER={}", server.url),
        "/KEY=oek_not_a_key".to_owned(),
    ]);
    let out = run(wrong_key).await;
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert!(!wine.program_files().exists());

    let key3 = server.store().create_enroll_key(&org).await.unwrap();
    let mut setup = wine.command32(&wine.installer);
    setup.args([
        "/S".to_owned(),
        format!("/SERVER={}", server.url),
        format!("/KEY={key3}"),
        "/LABELS=os=windows,via=installer".to_owned(),
    ]);
    let out = run(setup).await;
    assert!(out.status.success(), "{}", said(&out));
    for file in [
        "optralis-agent.exe",
        "smartctl.exe",
        "uninstall.exe",
        "licenses/smartmontools/COPYING.txt",
        "licenses/smartmontools/SOURCE.txt",
    ] {
        assert!(
            wine.program_files().join(file).is_file(),
            "{file} is missing"
        );
    }
    let machines = wait_for_machines(&server, 3).await;
    assert!(
        machines
            .iter()
            .any(|m| m.agent_labels.get("via").map(String::as_str) == Some("installer")),
        "{machines:?}"
    );
    assert!(wine.service_state().await.contains("RUNNING"));
    let config = std::fs::read_to_string(wine.program_data().join("agent.toml")).unwrap();
    assert!(!config.contains(&key3), "{config}");
    let mut registered = wine.command("reg");
    registered.args([
        "query",
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\OptralisAgent",
    ]);
    let out = run(registered).await;
    assert!(
        said(&out).contains("QuietUninstallString"),
        "{}",
        said(&out)
    );

    // The agent finds the smartctl.exe installed beside it.
    let mut smart = wine.command(
        &wine
            .program_files()
            .join("optralis-agent.exe")
            .to_string_lossy(),
    );
    smart.args(["smart", "--json"]);
    let out = run(smart).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"state\": \"available\""),
        "{}",
        said(&out)
    );

    // The uninstaller, silent, in place (`_?=` makes it wait): service and files are gone.
    let mut uninstall = wine.command32(&wine.program_files().join("uninstall.exe"));
    uninstall.args(["/S", "/PURGE", "_?=C:\\Program Files\\Optralis\\Agent"]);
    let out = run(uninstall).await;
    assert!(out.status.success(), "{}", said(&out));
    assert!(!wine.service_state().await.contains("RUNNING"));
    assert!(!wine.program_files().join("optralis-agent.exe").exists());
    assert!(!wine.program_data().exists());

    server.stop().await;
}
