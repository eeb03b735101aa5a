//! `optralis-agent`: the edge. Parses flags, sets up logs and signals, calls the library.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use optralis_agent::collect::{Collector, Platform, native};
use optralis_agent::config::{FileConfig, parse_interval};
use optralis_agent::events::{DEFAULT_MAX_PER_REPORT, EventCollector, EventOptions, native_source};
use optralis_agent::service::notify::ServiceNotifier;
use optralis_agent::smart::{SmartReport, SmartState, read_snapshot};
use optralis_agent::{Agent, AgentOptions, clock, state};

/// Optralis agent: collects this machine's metrics and reports them to an Optralis server.
///
/// Settings come from (lowest first) built-in defaults, the TOML file given with --config,
/// OPTRALIS_* environment variables, then flags.
#[derive(Parser)]
#[command(name = "optralis-agent", version = optralis_agent::update::AGENT_VERSION)]
struct Cli {
    /// TOML configuration file.
    #[arg(
        long,
        global = true,
        env = "OPTRALIS_AGENT_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// Log output: text or json. Filter with RUST_LOG (default: info).
    #[arg(long, global = true, env = "OPTRALIS_LOG_FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Collect once and print the result (rates over one second).
    Once {
        /// Print the report as JSON, exactly as it would be sent.
        #[arg(long)]
        json: bool,
    },
    /// Read the S.M.A.R.T. health of this machine's disks (needs smartctl, usually root).
    Smart {
        /// Print JSON, exactly as the agent would send it.
        #[arg(long)]
        json: bool,
        /// Read a saved `smartctl --json -a` output instead of running smartctl.
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// smartctl to run [default: beside the agent (Windows), from PATH, then /usr/sbin].
        #[arg(long, env = "OPTRALIS_SMARTCTL", value_name = "PATH")]
        smartctl: Option<PathBuf>,
    },
    /// Show the system events of the last hour as the agent would send them (journald on
    /// Linux: warning and worse).
    Events {
        /// Print JSON, exactly as the agent would send it.
        #[arg(long)]
        json: bool,
        /// Read this journal file instead of the system journal (repeatable).
        #[arg(long = "journal-file", value_name = "PATH")]
        journal_files: Vec<PathBuf>,
    },
    /// Enroll (once) and report in a loop until SIGINT or SIGTERM.
    Run(RunArgs),
    /// What runs and where the last update offered by the server stands.
    Update {
        /// Show the update state (the only action: updates come from the server).
        #[arg(long, required = true)]
        check: bool,
        /// Where the enrollment and the offline buffer are kept.
        #[arg(long, env = "OPTRALIS_STATE_DIR", value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Install the agent as a hardened systemd service and start it (Linux, as root):
    /// creates the optralis-agent system user, writes /etc/optralis-agent/agent.toml (root's,
    /// 0640) and the unit, enrolls this machine (the key is not kept), enables and starts the
    /// service. Run it again to change the server or the labels; the enrollment is kept.
    #[cfg_attr(windows, command(hide = true))]
    Install {
        /// Server URL, e.g. https://optralis.example.com
        #[arg(long, env = "OPTRALIS_SERVER", value_name = "URL")]
        server: String,
        /// Enrollment key (see the dashboard's "Add machines" page, or `optralis enroll-key
        /// create`).
        #[arg(
            long,
            env = "OPTRALIS_ENROLL_KEY",
            value_name = "KEY",
            hide_env_values = true
        )]
        enroll_key: String,
        /// A label this machine declares, key=value (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// A release key (minisign public key: the base64 line, or a .pub file) that updates
        /// from the server must be signed by (repeatable; none: updates are refused).
        #[arg(long = "update-key", value_name = "KEY", value_parser = parse_update_key)]
        update_keys: Vec<String>,
        /// Install under this directory instead of / (an image being built); nothing is
        /// started.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Write everything and enroll, but do not enable or start the service.
        #[arg(long)]
        no_start: bool,
    },
    /// Stop and remove the service (Linux, as root). --purge also removes the config, the
    /// state (machine token, unsent reports) and the system user.
    #[cfg_attr(windows, command(hide = true))]
    Uninstall {
        #[arg(long)]
        purge: bool,
        /// The system's root, as given to install.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
    },
    /// Install the agent as a Windows service and start it (from an elevated prompt):
    /// writes %ProgramData%\Optralis\agent\agent.toml, restricts that folder to SYSTEM and
    /// Administrators, enrolls this machine (the key is not kept; the machine token is sealed
    /// with DPAPI), registers the service "OptralisAgent" (automatic start, restarted on
    /// failure) and starts it. Run it again to change the server or the labels.
    #[cfg(windows)]
    InstallService {
        /// Server URL, e.g. https://optralis.example.com
        #[arg(long, env = "OPTRALIS_SERVER", value_name = "URL")]
        server: String,
        /// Enrollment key (see the dashboard's "Add machines" page).
        #[arg(
            long,
            env = "OPTRALIS_ENROLL_KEY",
            value_name = "KEY",
            hide_env_values = true
        )]
        enroll_key: String,
        /// A label this machine declares, key=value (repeatable, or several separated by
        /// commas, as the installer passes them).
        #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label, value_delimiter = ',')]
        labels: Vec<(String, String)>,
        /// Register the service but do not start it.
        #[arg(long)]
        no_start: bool,
    },
    /// Stop and remove the Windows service. --purge also removes its folder (the config, the
    /// machine token, unsent reports and the log).
    #[cfg(windows)]
    UninstallService {
        #[arg(long)]
        purge: bool,
    },
    /// What the Windows service manager runs; not for a prompt.
    #[cfg(windows)]
    #[command(hide = true)]
    Service,
}

/// How `run` (and the Windows service, from the config file alone) reports.
#[derive(clap::Args, Default)]
struct RunArgs {
    /// Server URL, e.g. https://optralis.example.com
    #[arg(long, env = "OPTRALIS_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Enrollment key (needed only for the first run; see `optralis enroll-key create`).
    #[arg(
        long,
        env = "OPTRALIS_ENROLL_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    enroll_key: Option<String>,
    /// Where the enrollment and the offline buffer are kept.
    #[arg(long, env = "OPTRALIS_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Force a reporting interval such as 30s or 2s, overriding the adaptive one.
    #[arg(long, env = "OPTRALIS_INTERVAL", value_name = "DURATION", value_parser = parse_interval)]
    interval: Option<Duration>,
    /// How often to read disk health with smartctl, e.g. 30m; "off" never [default: 30m].
    #[arg(long, env = "OPTRALIS_SMART_INTERVAL", value_name = "DURATION")]
    smart_interval: Option<String>,
    /// smartctl to run [default: beside the agent (Windows), from PATH, then /usr/sbin].
    #[arg(long, env = "OPTRALIS_SMARTCTL", value_name = "PATH")]
    smartctl: Option<PathBuf>,
    /// A label this machine declares, key=value (repeatable; added to the config file's
    /// [labels]). The server shows them and they select the machine; the API cannot
    /// change them.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Do not read system events (journald, Windows Event Log).
    #[arg(long, env = "OPTRALIS_NO_EVENTS")]
    no_events: bool,
    /// Read this journal file instead of the system journal (repeatable; Linux).
    #[arg(long = "journal-file", value_name = "PATH")]
    journal_files: Vec<PathBuf>,
    /// Refuse the server's update offers (the server is told why).
    #[arg(long, env = "OPTRALIS_NO_AUTO_UPDATE")]
    no_auto_update: bool,
}

/// A release key given as its base64 line or as the path of a `.pub` file.
fn parse_update_key(s: &str) -> Result<String, String> {
    let text = match std::fs::read_to_string(s) {
        Ok(file) => file,
        Err(_) => s.to_owned(),
    };
    optralis_proto::release::verify::TrustedKey::parse(&text)
        .map(|k| k.base64)
        .map_err(|e| format!("{s:?}: {e}"))
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected key=value"))?;
    optralis_proto::labels::check_key(k).map_err(|e| e.to_string())?;
    optralis_proto::labels::check_value(k, v).map_err(|e| e.to_string())?;
    Ok((k.to_owned(), v.to_owned()))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let file = match &cli.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    #[cfg(windows)]
    if matches!(cli.command, Command::Service) {
        return windows_service(file);
    }
    init_logs(cli.log_format.as_deref().or(file.log_format.as_deref()));
    match cli.command {
        Command::Once { json } => once(json),
        Command::Smart {
            json,
            from,
            smartctl,
        } => smart(json, from, smartctl),
        Command::Events {
            json,
            journal_files,
        } => events(json, journal_files, &file),
        Command::Run(args) => run(agent_options(args, &file)?),
        Command::Update {
            check: _,
            state_dir,
        } => update_check(state_dir, &file),
        Command::Install {
            server,
            enroll_key,
            labels,
            update_keys,
            root,
            no_start,
        } => install(server, enroll_key, labels, update_keys, root, !no_start),
        Command::Uninstall { purge, root } => uninstall(root, purge),
        #[cfg(windows)]
        Command::InstallService {
            server,
            enroll_key,
            labels,
            no_start,
        } => install_service(server, enroll_key, labels, !no_start),
        #[cfg(windows)]
        Command::UninstallService { purge } => {
            let removed = optralis_agent::service::windows::uninstall(purge)?;
            for what in &removed {
                println!("removed {what}");
            }
            if removed.is_empty() {
                println!("nothing to remove: the service was not installed");
            }
            Ok(())
        }
        #[cfg(windows)]
        // Handled before the logs are set up (the service logs to its file and the Event Log).
        Command::Service => bail!("the service command is for the Windows service manager"),
    }
}

#[cfg(windows)]
fn install_service(
    server: String,
    enroll_key: String,
    labels: Vec<(String, String)>,
    start: bool,
) -> Result<()> {
    use optralis_agent::service::windows::{self, InstallOptions};
    let labels = checked_install_args(&server, labels)?;
    let opts = InstallOptions {
        server,
        enroll_key,
        labels,
        start,
    };
    let done = windows::install(&opts, native())?;
    println!("Enrolled as machine {}.", done.machine_id);
    let log = windows::service_dir().join(windows::LOG_FILE_NAME);
    if done.started {
        println!(
            "The service {} is installed and running ({}); its log: {} and the Event Log (Application, source \"{}\").",
            windows::SERVICE_NAME,
            done.binary.display(),
            log.display(),
            windows::EVENT_SOURCE
        );
    } else {
        println!(
            "The service {} is installed; start it with: net start {}",
            windows::SERVICE_NAME,
            windows::SERVICE_NAME
        );
    }
    Ok(())
}

/// The Windows service: logs to its file and the Event Log, settings from the config file.
#[cfg(windows)]
fn windows_service(file: FileConfig) -> Result<()> {
    use optralis_agent::service::{windows, windows_log};
    let dir = file.state_dir.clone().unwrap_or_else(windows::service_dir);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    windows_log::init(&dir, filter)
        .with_context(|| format!("cannot open the service's log in {}", dir.display()))?;
    windows::run(Box::new(move |stop| {
        agent_options(RunArgs::default(), &file)
            .and_then(|opts| run_until(opts, stop, ServiceNotifier::from_env()))
            .map_err(|e| format!("{e:#}"))
    }))?;
    Ok(())
}

/// The agent's settings: flags over the config file over defaults.
fn agent_options(args: RunArgs, file: &FileConfig) -> Result<AgentOptions> {
    let RunArgs {
        server,
        enroll_key,
        state_dir,
        interval,
        smart_interval,
        smartctl,
        labels,
        no_events,
        journal_files,
        no_auto_update,
    } = args;
    let mut update = file.update_config().map_err(anyhow::Error::msg)?;
    update.enabled &= !no_auto_update;

    let mut all_labels = file.labels.clone();
    all_labels.extend(labels);
    optralis_proto::labels::check_labels(&all_labels)
        .map_err(|e| anyhow::anyhow!("labels in the config file: {e}"))?;
    let server = server.or(file.server.clone()).context(
        "no server: give --server URL (or OPTRALIS_SERVER, or server= in the config file)",
    )?;
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        bail!("--server {server:?}: expected a URL starting with https:// or http://");
    }
    let interval = match (interval, &file.interval) {
        (Some(i), _) => Some(i),
        (None, Some(s)) => Some(parse_interval(s).map_err(anyhow::Error::msg)?),
        (None, None) => None,
    };
    let opts = AgentOptions {
        server,
        enroll_key: enroll_key.or(file.enroll_key.clone()),
        state_dir: state_dir
            .or(file.state_dir.clone())
            .unwrap_or_else(state::default_state_dir),
        forced_interval: interval,
        thresholds: file.thresholds,
        outbox: file.outbox_limits(),
        batch_size: 100,
        smart_interval: parse_smart_interval(
            smart_interval
                .as_deref()
                .or(file.smart_interval.as_deref())
                .unwrap_or("30m"),
        )?,
        smartctl: smartctl.or(file.smartctl.clone()),
        labels: all_labels,
        events: (!no_events && file.events.enabled != Some(false)).then(|| EventOptions {
            journalctl: file.events.journalctl.clone(),
            journal_files: if journal_files.is_empty() {
                file.events.journal_files.clone()
            } else {
                journal_files
            },
            max_per_report: file.events.max_per_report.unwrap_or(DEFAULT_MAX_PER_REPORT),
        }),
        update,
    };
    Ok(opts)
}

#[cfg(target_os = "linux")]
fn install(
    server: String,
    enroll_key: String,
    labels: Vec<(String, String)>,
    update_keys: Vec<String>,
    root: PathBuf,
    start: bool,
) -> Result<()> {
    use optralis_agent::service::install::{self, InstallOptions};
    let labels = checked_install_args(&server, labels)?;
    let opts = InstallOptions {
        server,
        enroll_key,
        labels,
        update_keys,
        start: start && root == std::path::Path::new("/"),
        root,
    };
    let done = install::install(&opts, native())?;
    println!("Enrolled as machine {}.", done.machine_id);
    match done.token_at_rest {
        install::TokenAtRest::Credential => println!(
            "The machine token is an encrypted systemd credential ({}); systemd decrypts it for the service only.",
            install::CREDENTIAL_FILE
        ),
        install::TokenAtRest::File => println!(
            "The machine token is in {}/enrollment.json (0600; this systemd cannot encrypt credentials).",
            install::STATE_DIR
        ),
    }
    if done.started {
        println!(
            "The service {} is enabled and running ({}); its log: journalctl -u optralis-agent",
            install::SERVICE,
            done.binary.display()
        );
    } else {
        println!("Installed under {}; not started.", opts.root.display());
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn uninstall(root: PathBuf, purge: bool) -> Result<()> {
    let removed = optralis_agent::service::install::uninstall(&root, purge)?;
    for path in &removed {
        println!("removed {}", path.display());
    }
    if removed.is_empty() {
        println!("nothing to remove: the agent was not installed here");
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn install(
    _server: String,
    _enroll_key: String,
    _labels: Vec<(String, String)>,
    _update_keys: Vec<String>,
    _root: PathBuf,
    _start: bool,
) -> Result<()> {
    bail!(
        "install sets up a systemd service and is for Linux{}",
        if cfg!(windows) {
            "; on Windows: optralis-agent.exe install-service"
        } else {
            ""
        }
    )
}

#[cfg(not(target_os = "linux"))]
fn uninstall(_root: PathBuf, _purge: bool) -> Result<()> {
    bail!("uninstall removes the systemd service and is for Linux")
}

/// What both installers check before touching the system: the server's URL and the labels.
fn checked_install_args(
    server: &str,
    labels: Vec<(String, String)>,
) -> Result<std::collections::BTreeMap<String, String>> {
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        bail!("--server {server:?}: expected a URL starting with https:// or http://");
    }
    let labels: std::collections::BTreeMap<_, _> = labels.into_iter().collect();
    optralis_proto::labels::check_labels(&labels).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(labels)
}

/// "30m" and the like, or "off".
fn parse_smart_interval(s: &str) -> Result<Option<Duration>> {
    if s == "off" {
        return Ok(None);
    }
    let d = humantime::parse_duration(s).with_context(|| {
        format!("--smart-interval {s:?}: expected a duration such as 30m, or off")
    })?;
    if d < Duration::from_secs(60) {
        bail!("--smart-interval {s:?}: at least 1m (smartctl wakes disks up)");
    }
    Ok(Some(d))
}

fn init_logs(format: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn once(json: bool) -> Result<()> {
    let platform = native();
    let facts = platform.facts();
    let mut collector = Collector::new(platform);
    collector.prime(Instant::now())?;
    std::thread::sleep(Duration::from_secs(1));
    let mut report = collector.collect(Instant::now(), clock::now_ms())?;
    report.interval_s = 1;
    report.facts = Some(facts);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let f = report.facts.as_ref();
    println!("host        {}", f.map_or("", |f| f.hostname.as_str()));
    println!(
        "os          {} {}",
        f.map_or("", |f| f.os_name.as_str()),
        f.map_or("", |f| f.os_version.as_str())
    );
    println!(
        "cpu         {:.1} % ({} cores)",
        report.cpu.percent,
        report.cpu.per_core.len()
    );
    if let Some(l) = report.cpu.load1 {
        println!("load        {l:.2}");
    }
    println!(
        "memory      {:.1} % of {} MiB",
        report.memory.used_percent(),
        report.memory.total_bytes / (1024 * 1024)
    );
    for fs in &report.filesystems {
        println!(
            "filesystem  {} {:.1} % ({})",
            fs.mount,
            fs.used_percent(),
            fs.fs_type
        );
    }
    for d in &report.disks {
        println!(
            "disk        {} r {:.0} B/s w {:.0} B/s busy {:.1} %",
            d.device, d.read_bytes_per_s, d.write_bytes_per_s, d.busy_percent
        );
    }
    for n in &report.networks {
        println!(
            "network     {} rx {:.0} B/s tx {:.0} B/s",
            n.interface, n.rx_bytes_per_s, n.tx_bytes_per_s
        );
    }
    match report.cpu_temp_c {
        Some(t) => println!("temperature {t:.1} °C"),
        None => println!("temperature (no sensor)"),
    }
    println!("uptime      {} s", report.uptime_s);
    Ok(())
}

/// The last hour's events, read without touching the agent's saved position.
fn events(json: bool, journal_files: Vec<PathBuf>, file: &FileConfig) -> Result<()> {
    let opts = EventOptions {
        journalctl: file.events.journalctl.clone(),
        journal_files: if journal_files.is_empty() {
            file.events.journal_files.clone()
        } else {
            journal_files
        },
        max_per_report: file.events.max_per_report.unwrap_or(DEFAULT_MAX_PER_REPORT),
    };
    let mut collector = EventCollector::new(native_source(&opts), opts.max_per_report);
    let (batch, _) = collector.collect(None, optralis_agent::clock::now_ms());
    if json {
        println!("{}", serde_json::to_string_pretty(&batch)?);
        return Ok(());
    }
    if let Some(reason) = &batch.unavailable {
        println!("events unavailable ({}): {reason}", batch.source);
        return Ok(());
    }
    if batch.events.is_empty() {
        println!(
            "no {} entry of priority warning or worse in the last hour",
            batch.source
        );
    }
    for e in &batch.events {
        let count = if e.count > 1 {
            format!(" (×{})", e.count)
        } else {
            String::new()
        };
        println!(
            "{} {:<8} {}: {}{count}",
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + Duration::from_millis(e.ts_ms.max(0) as u64)
            ),
            e.severity.as_str(),
            e.source,
            e.message
        );
    }
    if batch.suppressed > 0 {
        println!(
            "… and {} more entries over the cap of {}",
            batch.suppressed, opts.max_per_report
        );
    }
    Ok(())
}

fn smart(json: bool, from: Option<PathBuf>, smartctl: Option<PathBuf>) -> Result<()> {
    let report = match from {
        Some(path) => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            SmartReport::from_saved(&bytes)
        }
        None => SmartReport::from_snapshot(read_snapshot(smartctl.as_deref())),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    match &report.state {
        SmartState::Unavailable { reason } => println!("SMART unavailable: {reason}"),
        SmartState::Available if report.devices.is_empty() && report.errors.is_empty() => {
            println!("smartctl found no disk with S.M.A.R.T. data (virtual disks have none)");
        }
        SmartState::Available => {}
    }
    for d in &report.devices {
        let dev = &d.device;
        println!(
            "{:<12} {:<8} {} ({}, serial {}) {} {}",
            dev.name,
            format!("{:?}", d.verdict).to_lowercase(),
            dev.model,
            format!("{:?}", dev.protocol).to_uppercase(),
            dev.serial,
            dev.temperature_c
                .map_or_else(String::new, |t| format!("{t} °C")),
            dev.power_on_hours
                .map_or_else(String::new, |h| format!("{h} h")),
        );
        for r in &d.reasons {
            println!("{:<12} - {r}", "");
        }
    }
    for e in &report.errors {
        println!("{:<12} error: {}", e.name, e.error);
    }
    Ok(())
}

fn run(opts: AgentOptions) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }
    // Only the update's launcher (Unix) tells the service manager about the trial.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut service = ServiceNotifier::from_env();
    // A staged release runs instead of this binary, or its trial is supervised from here.
    #[cfg(unix)]
    match optralis_agent::update::launch::before_run(
        &opts.state_dir,
        &opts.update,
        &stop,
        &mut service,
    ) {
        Ok(()) => {}
        Err(optralis_agent::update::launch::LaunchError::Stopped(version)) => {
            tracing::info!(%version, "stopped during the trial; it resumes at the next start");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    run_until(opts, &stop, service)
}

/// Reports until `stop` is set; the report in flight is finished and kept in the outbox.
fn run_until(opts: AgentOptions, stop: &AtomicBool, mut service: ServiceNotifier) -> Result<()> {
    tracing::info!(server = %opts.server, state_dir = %opts.state_dir.display(), version = optralis_agent::update::AGENT_VERSION, "optralis-agent starting");
    let server = opts.server.clone();
    let mut agent = Agent::new(opts, native())?;
    // Under systemd (Type=notify): ready once the outbox is open, then the loop's pings.
    service.ready(&format!("reporting to {server}"));
    let result = agent.run_with(stop, &mut || service.alive());
    match result {
        // Asked to stop while waiting for the server: a clean stop, not a failure.
        Err(optralis_agent::AgentError::Stopped) => {
            service.stopping();
            tracing::info!("stopped before the first enrollment");
            Ok(())
        }
        Ok(Some(handover)) => {
            // The outbox is closed before the next binary opens it.
            drop(agent);
            hand_over(handover)
        }
        other => {
            service.stopping();
            other?;
            Ok(())
        }
    }
}

#[cfg(unix)]
fn hand_over(handover: optralis_agent::update::fetch::Handover) -> Result<()> {
    tracing::info!(version = %handover.version, "handing over to the new version");
    Err(optralis_agent::update::launch::hand_over().into())
}

#[cfg(not(unix))]
fn hand_over(handover: optralis_agent::update::fetch::Handover) -> Result<()> {
    bail!(
        "cannot hand over to {}: self-update is not available on Windows yet",
        handover.version
    )
}

/// `update --check`: what runs, what is staged, and the last offer's fate.
fn update_check(state_dir: Option<PathBuf>, file: &FileConfig) -> Result<()> {
    use optralis_agent::update::{AGENT_VERSION, state as update_state};
    let dir = state_dir
        .or(file.state_dir.clone())
        .unwrap_or_else(state::default_state_dir);
    let config = file.update_config().map_err(anyhow::Error::msg)?;
    let saved = update_state::load(&update_state::dir(&dir))?;
    println!(
        "this binary {AGENT_VERSION} ({})",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    let on = if !config.enabled {
        "off ([update] enabled = false)".to_owned()
    } else if config.keys.is_empty() {
        "off: no trusted release key ([update] public_keys)".to_owned()
    } else {
        let ids: Vec<&str> = config.keys.iter().map(|k| k.id.as_str()).collect();
        format!("on, trusting key {}", ids.join(", "))
    };
    println!("updates     {on}");
    let staged = |s: &Option<optralis_agent::update::state::Staged>| {
        s.as_ref().map_or("the installed binary".to_owned(), |s| {
            format!("{} ({})", s.version, s.binary().display())
        })
    };
    println!("runs        {}", staged(&saved.current));
    println!("previous    {}", staged(&saved.previous));
    if let Some(a) = &saved.accepted {
        println!(
            "accepted    {} (serial {}): nothing lower or older is taken",
            a.version, a.serial
        );
    }
    if let Some(t) = &saved.trial {
        println!(
            "on trial    {} (started {} times, health window {} s)",
            t.version, t.starts, t.health_window_s
        );
    }
    match &saved.last {
        Some(last) => println!(
            "last offer  {} {}{}",
            last.version,
            last.state.as_str(),
            last.reason
                .as_ref()
                .map_or(String::new(), |r| format!(": {r}"))
        ),
        None => println!("last offer  none"),
    }
    Ok(())
}
