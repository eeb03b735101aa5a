//! The agent as a native Windows service (`windows-service`): `install-service` registers
//! it with the Service Control Manager (automatic start, LocalSystem, restart on failure),
//! `uninstall-service` stops and removes it, and `service` is what the SCM runs.
//!
//! The state directory (`%ProgramData%\Optralis\agent`: the config, the machine token sealed
//! with DPAPI, the outbox, the log) is restricted to SYSTEM and Administrators.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::collect::Platform;
use crate::runner::AgentError;
use crate::service::config_file::config_text;
use crate::state;

/// The name `sc`, `net start` and PowerShell's `Get-Service` know it by.
pub const SERVICE_NAME: &str = "OptralisAgent";
pub const DISPLAY_NAME: &str = "Optralis agent";
const DESCRIPTION: &str =
    "Reports this machine's metrics, disk health and system events to an Optralis server.";
/// The Event Log source the service writes as.
pub const EVENT_SOURCE: &str = "Optralis agent";
pub const CONFIG_FILE_NAME: &str = "agent.toml";
pub const LOG_FILE_NAME: &str = "agent.log";

/// Restart after 10 s, then 60 s; the count starts over after a day without failure.
const RESTART_DELAYS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(60),
];
const FAILURE_RESET: Duration = Duration::from_secs(24 * 3600);
/// How long a stop may take: the send in progress finishes (its timeout), the outbox closes.
const STOP_WAIT_HINT: Duration = Duration::from_secs(30);
const ERROR_INVALID_LEVEL: i32 = 124;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "installing a service needs an elevated prompt (Run as administrator) or the SYSTEM account"
    )]
    NotAdmin,
    #[error("the service manager refused to {action}: {source}")]
    Manager {
        action: &'static str,
        source: windows_service::Error,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the service did not stop within {0:?}")]
    StopTimeout(Duration),
    #[error(transparent)]
    Agent(#[from] AgentError),
}

fn manager_error(action: &'static str) -> impl FnOnce(windows_service::Error) -> ServiceError {
    move |source| {
        // ERROR_ACCESS_DENIED from OpenSCManager or CreateService.
        if matches!(&source, windows_service::Error::Winapi(e) if e.raw_os_error() == Some(5)) {
            ServiceError::NotAdmin
        } else {
            ServiceError::Manager { action, source }
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServiceError + use<> {
    let path = path.to_owned();
    move |source| ServiceError::Io {
        action,
        path,
        source,
    }
}

/// The service's directory: config, state and log.
pub fn service_dir() -> PathBuf {
    state::default_state_dir()
}

pub fn config_file() -> PathBuf {
    service_dir().join(CONFIG_FILE_NAME)
}

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub server: String,
    pub enroll_key: String,
    pub labels: BTreeMap<String, String>,
    /// Start the service once it is registered.
    pub start: bool,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub machine_id: String,
    pub binary: PathBuf,
    pub started: bool,
}

/// Writes the config, enrolls the machine (the key is not kept), registers the service with
/// its recovery actions, and starts it. Running it again updates the config and the service
/// and keeps the enrollment.
pub fn install<P: Platform>(opts: &InstallOptions, platform: P) -> Result<Installed, ServiceError> {
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(manager_error("open the service manager"))?;

    let access = ServiceAccess::QUERY_STATUS
        | ServiceAccess::START
        | ServiceAccess::STOP
        | ServiceAccess::CHANGE_CONFIG;
    let existing = manager.open_service(SERVICE_NAME, access).ok();
    // A running agent holds its outbox open: stop it before enrolling here (it is started
    // again below).
    if let Some(service) = &existing {
        let status = service
            .query_status()
            .map_err(manager_error("query the service"))?;
        if status.current_state != ServiceState::Stopped {
            stop_and_wait(service)?;
        }
    }

    let dir = service_dir();
    state::ensure_dir(&dir).map_err(AgentError::from)?;
    crate::win32::acl::restrict_to_admins(&dir).map_err(io("restrict", &dir))?;
    let config = config_file();
    let text = config_text(&opts.server, &dir.to_string_lossy(), &opts.labels, &[]);
    std::fs::write(&config, text).map_err(io("write", &config))?;

    let machine_id =
        super::enroll_for_service(&opts.server, &opts.enroll_key, &dir, &opts.labels, platform)?;

    let binary = std::env::current_exe().map_err(io("find", Path::new("the running program")))?;
    let info = ServiceInfo {
        name: SERVICE_NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: binary.clone(),
        launch_arguments: vec![
            OsString::from("--config"),
            config.clone().into_os_string(),
            OsString::from("service"),
        ],
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let service = match existing {
        Some(existing) => {
            existing
                .change_config(&info)
                .map_err(manager_error("update the service"))?;
            existing
        }
        None => manager
            .create_service(&info, access)
            .map_err(manager_error("create the service"))?,
    };
    service
        .set_description(DESCRIPTION)
        .map_err(manager_error("describe the service"))?;
    service
        .update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(FAILURE_RESET),
            reboot_msg: None,
            command: None,
            actions: Some(
                RESTART_DELAYS
                    .iter()
                    .map(|&delay| ServiceAction {
                        action_type: ServiceActionType::Restart,
                        delay,
                    })
                    .collect(),
            ),
        })
        .map_err(manager_error("set the recovery actions"))?;
    // A stop with an error exit code counts as a failure too, not only a crash. Wine's
    // service manager does not know this setting (ERROR_INVALID_LEVEL); Windows does.
    match service.set_failure_actions_on_non_crash_failures(true) {
        Ok(()) => {}
        Err(windows_service::Error::Winapi(e)) if e.raw_os_error() == Some(ERROR_INVALID_LEVEL) => {
            tracing::warn!(
                "this service manager cannot restart the agent after an error exit, only after a crash"
            );
        }
        Err(e) => return Err(manager_error("set the recovery on error exits")(e)),
    }

    if opts.start {
        service
            .start(&[] as &[&OsStr])
            .map_err(manager_error("start the service"))?;
    }
    Ok(Installed {
        machine_id,
        binary,
        started: opts.start,
    })
}

/// Stops and removes the service; `purge` also removes its directory (the config, the
/// machine token, the unsent reports, the log). Returns what was removed.
pub fn uninstall(purge: bool) -> Result<Vec<String>, ServiceError> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(manager_error("open the service manager"))?;
    let mut removed = Vec::new();
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE;
    if let Ok(service) = manager.open_service(SERVICE_NAME, access) {
        let status = service
            .query_status()
            .map_err(manager_error("query the service"))?;
        if status.current_state != ServiceState::Stopped {
            stop_and_wait(&service)?;
        }
        service
            .delete()
            .map_err(manager_error("delete the service"))?;
        removed.push(format!("the service {SERVICE_NAME}"));
    }
    let dir = service_dir();
    if purge && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io("remove", &dir))?;
        removed.push(dir.display().to_string());
    }
    Ok(removed)
}

fn stop_and_wait(service: &windows_service::service::Service) -> Result<(), ServiceError> {
    // Already stopping, or stopped in between: both end in the wait below.
    let _ = service.stop();
    let deadline = Instant::now() + STOP_WAIT_HINT * 2;
    while Instant::now() < deadline {
        let status = service
            .query_status()
            .map_err(manager_error("query the service"))?;
        if status.current_state == ServiceState::Stopped {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(ServiceError::StopTimeout(STOP_WAIT_HINT * 2))
}

/// What the service runs: the agent's loop, given the flag that a stop request sets.
pub type ServiceBody = Box<dyn FnOnce(&AtomicBool) -> Result<(), String> + Send>;

/// The body handed from `run` to the SCM's thread (the dispatcher takes a plain `fn`).
static BODY: Mutex<Option<ServiceBody>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

/// Connects to the SCM and runs `body` as the service until it is stopped. Returns when the
/// service has stopped. Outside the SCM (started by hand) this fails at once, with error
/// 1063, as any Windows service does.
pub fn run(body: ServiceBody) -> Result<(), ServiceError> {
    if let Ok(mut slot) = BODY.lock() {
        *slot = Some(body);
    }
    service_dispatcher::start(SERVICE_NAME, ffi_service_main).map_err(manager_error(
        "run the service (is it started by the service manager?)",
    ))
}

fn service_main(_arguments: Vec<OsString>) {
    let body = BODY.lock().ok().and_then(|mut slot| slot.take());
    if let Err(e) = serve(body) {
        tracing::error!(error = %e, "the service failed");
    }
}

fn serve(body: Option<ServiceBody>) -> Result<(), ServiceError> {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(OnceLock::<service_control_handler::ServiceStatusHandle>::new());
    let (handler_stop, handler_handle) = (Arc::clone(&stop), Arc::clone(&handle));
    let status_handle =
        service_control_handler::register(SERVICE_NAME, move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                tracing::info!("the service manager asked the agent to stop");
                handler_stop.store(true, Ordering::SeqCst);
                if let Some(h) = handler_handle.get() {
                    let _ = h.set_service_status(status(
                        ServiceState::StopPending,
                        ServiceExitCode::Win32(0),
                    ));
                }
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        })
        .map_err(manager_error("register the service's control handler"))?;
    let _ = handle.set(status_handle);
    status_handle
        .set_service_status(status(ServiceState::Running, ServiceExitCode::Win32(0)))
        .map_err(manager_error("report the service running"))?;

    let result = match body {
        Some(body) => body(&stop),
        None => Err("the service started without its body".to_owned()),
    };
    let exit = match &result {
        Ok(()) => {
            tracing::info!("the service stopped");
            ServiceExitCode::Win32(0)
        }
        Err(e) => {
            // A service-specific exit code makes the SCM apply the recovery actions.
            tracing::error!(error = %e, "the agent stopped on an error");
            ServiceExitCode::ServiceSpecific(1)
        }
    };
    status_handle
        .set_service_status(status(ServiceState::Stopped, exit))
        .map_err(manager_error("report the service stopped"))
}

fn status(state: ServiceState, exit_code: ServiceExitCode) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code,
        checkpoint: 0,
        wait_hint: if state == ServiceState::StopPending {
            STOP_WAIT_HINT
        } else {
            Duration::ZERO
        },
        process_id: None,
    }
}
