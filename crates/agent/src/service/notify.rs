//! The systemd notification protocol (sd_notify): `READY=1` once the agent can take reports,
//! `WATCHDOG=1` from its loop, `STOPPING=1` on the way out. Outside systemd (no
//! `NOTIFY_SOCKET`) every call does nothing.

use std::time::{Duration, Instant};

/// Where and how often to tell systemd the agent is alive.
pub struct ServiceNotifier {
    #[cfg(unix)]
    socket: Option<(
        std::os::unix::net::UnixDatagram,
        std::os::unix::net::SocketAddr,
    )>,
    /// Half the watchdog interval systemd gave, when it gave one for this process.
    ping_every: Option<Duration>,
    last_ping: Instant,
}

impl ServiceNotifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`, as systemd sets them.
    pub fn from_env() -> Self {
        let watchdog_usec = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|_| {
                std::env::var("WATCHDOG_PID")
                    .ok()
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_none_or(|pid| pid == std::process::id())
            });
        Self {
            #[cfg(unix)]
            socket: std::env::var_os("NOTIFY_SOCKET").and_then(|p| open(&p)),
            ping_every: watchdog_usec.map(|us| Duration::from_micros(us / 2)),
            last_ping: Instant::now(),
        }
    }

    /// Whether systemd is listening (the agent runs as a `Type=notify` service).
    pub fn is_supervised(&self) -> bool {
        #[cfg(unix)]
        {
            self.socket.is_some()
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    pub fn ready(&mut self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
        self.last_ping = Instant::now();
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// Called from the agent's loop: a watchdog ping when half its interval has passed.
    pub fn alive(&mut self) {
        if let Some(every) = self.ping_every
            && self.last_ping.elapsed() >= every
        {
            self.send("WATCHDOG=1");
            self.last_ping = Instant::now();
        }
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    fn send(&self, message: &str) {
        #[cfg(unix)]
        if let Some((socket, addr)) = &self.socket
            && let Err(e) = socket.send_to_addr(message.as_bytes(), addr)
        {
            tracing::debug!(error = %e, "cannot notify systemd");
        }
        #[cfg(not(unix))]
        let _ = message;
    }
}

/// The socket systemd named: a path, or `@name` in Linux's abstract namespace.
#[cfg(unix)]
fn open(
    path: &std::ffi::OsStr,
) -> Option<(
    std::os::unix::net::UnixDatagram,
    std::os::unix::net::SocketAddr,
)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let addr = match bytes.split_first() {
        #[cfg(target_os = "linux")]
        Some((b'@', name)) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?
        }
        Some(_) => std::os::unix::net::SocketAddr::from_pathname(path).ok()?,
        None => return None,
    };
    let socket = std::os::unix::net::UnixDatagram::unbound().ok()?;
    Some((socket, addr))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_the_socket_systemd_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let mut n = ServiceNotifier {
            socket: open(path.as_os_str()),
            ping_every: Some(Duration::ZERO),
            last_ping: Instant::now(),
        };
        assert!(n.is_supervised());
        n.ready("reporting");
        n.alive();
        n.stopping();
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        for _ in 0..3 {
            let len = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert_eq!(
            got,
            ["READY=1\nSTATUS=reporting", "WATCHDOG=1", "STOPPING=1"]
        );
    }

    #[test]
    fn without_systemd_nothing_is_sent() {
        let mut n = ServiceNotifier {
            socket: None,
            ping_every: None,
            last_ping: Instant::now(),
        };
        assert!(!n.is_supervised());
        n.ready("x");
        n.alive();
    }
}
