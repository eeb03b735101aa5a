//! Where notifications may go: public addresses only, unless the operator allows networks
//! (`OPTRALIS_NOTIFY_ALLOWED_NETWORKS`, e.g. an internal chat server). An organisation admin
//! sets channel URLs and SMTP hosts, so without this the server would reach, on their behalf,
//! its own loopback services, the cloud metadata endpoint and the private network.
//!
//! The check is made on the resolved addresses, so every spelling of an address (`127.1`,
//! `0x7f000001`, `[::ffff:127.0.0.1]`, a DNS name) meets the same rule, and the connection is
//! made to the address that was checked (no second lookup that DNS rebinding could change).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = prefix_mask::<32>(self.prefix) as u32;
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = prefix_mask::<128>(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The mask of a `prefix`-bit network in a `BITS`-bit address (0 for /0).
fn prefix_mask<const BITS: u32>(prefix: u8) -> u128 {
    let prefix = u32::from(prefix).min(BITS);
    let all = if BITS == 128 {
        u128::MAX
    } else {
        (1u128 << BITS) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !all.checked_shr(prefix).unwrap_or(0)
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not a network (like 10.0.0.0/8 or fd00::/8)"))?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        // An IPv4 network written as IPv6 (`::ffff:10.0.0.0/104`) is that IPv4 network
        // (`10.0.0.0/8`); its prefix counts the 96 bits of the mapping.
        match (addr, canonical(addr)) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) => {
                let prefix = prefix.checked_sub(96).ok_or_else(|| {
                    format!("{s:?}: an IPv4-mapped network needs a prefix of 96 or more")
                })?;
                Ok(Self { addr: v4, prefix })
            }
            _ => Ok(Self { addr, prefix }),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The operator's rule: public addresses, plus the networks listed.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allowed: Arc<Vec<Network>>,
}

impl EgressPolicy {
    /// Public addresses and `allowed`.
    pub fn allowing(allowed: Vec<Network>) -> Self {
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// A comma-separated CIDR list, as in the environment variable; empty allows nothing more.
    pub fn parse_list(list: &str) -> Result<Vec<Network>, String> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Network::from_str)
            .collect()
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// Keeps `addrs` when every one is permitted: a name that resolves to both a public and
    /// an internal address is refused whole (that is how rebinding attacks look).
    pub fn check(&self, addrs: &[SocketAddr]) -> Result<(), Refused> {
        match addrs.iter().find(|a| !self.permits(a.ip())) {
            Some(a) => Err(Refused(a.ip())),
            None => Ok(()),
        }
    }

    /// Resolves `host:port` and checks every address; returns the ones to connect to.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| EgressError::NotFound)?
            .collect();
        if addrs.is_empty() {
            return Err(EgressError::NotFound);
        }
        self.check(&addrs).map_err(EgressError::Refused)?;
        Ok(addrs)
    }
}

/// An address the policy does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a non-public address ({0}); set OPTRALIS_NOTIFY_ALLOWED_NETWORKS to allow it")]
pub struct Refused(pub IpAddr);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("the host name does not resolve")]
    NotFound,
    #[error("it resolves to {0}")]
    Refused(Refused),
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Reachable on the public internet: not loopback, private, link-local, shared, reserved,
/// documentation, benchmarking, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this" network
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Addresses that carry an IPv4 address are judged by it.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7])); // NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2])); // 6to4
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        return false; // ::, ::1 and the deprecated IPv4-compatible addresses
    }
    !((s[0] & 0xfe00) == 0xfc00          // unique local
        || (s[0] & 0xffc0) == 0xfe80     // link-local
        || (s[0] & 0xffc0) == 0xfec0     // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00     // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not count as public");
        }
        for s in [
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(s)), "{s} is public");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_what_they_name() {
        let allowed = EgressPolicy::parse_list("10.20.0.0/16, fd00::/8,192.168.1.7").unwrap();
        let policy = EgressPolicy::allowing(allowed);
        assert!(policy.permits(ip("10.20.3.4")));
        assert!(policy.permits(ip("::ffff:10.20.3.4")));
        assert!(!policy.permits(ip("10.21.0.1")));
        assert!(policy.permits(ip("fd12::1")));
        assert!(policy.permits(ip("192.168.1.7")));
        assert!(!policy.permits(ip("192.168.1.8")));
        assert!(!policy.permits(ip("127.0.0.1")));
        assert!(EgressPolicy::parse_list("").unwrap().is_empty());
        assert!(EgressPolicy::parse_list("10.0.0.0/33").is_err());
        assert!(EgressPolicy::parse_list("intranet").is_err());
        let everything = EgressPolicy::allowing(EgressPolicy::parse_list("0.0.0.0/0").unwrap());
        assert!(everything.permits(ip("127.0.0.1")));
        // IPv4 written as IPv6 means the IPv4 network, never everything.
        let mapped = EgressPolicy::allowing(EgressPolicy::parse_list("::ffff:10.0.0.1").unwrap());
        assert!(mapped.permits(ip("10.0.0.1")));
        assert!(!mapped.permits(ip("127.0.0.1")));
        assert!(!mapped.permits(ip("169.254.169.254")));
        let mapped =
            EgressPolicy::allowing(EgressPolicy::parse_list("::ffff:10.0.0.0/104").unwrap());
        assert!(mapped.permits(ip("10.9.9.9")) && !mapped.permits(ip("172.16.0.1")));
        assert!(EgressPolicy::parse_list("::ffff:10.0.0.0/64").is_err());
    }

    #[tokio::test]
    async fn every_spelling_of_loopback_is_refused() {
        let policy = EgressPolicy::default();
        for host in [
            "127.1",
            "0x7f000001",
            "2130706433",
            "::ffff:127.0.0.1",
            "localhost",
        ] {
            let refused = policy.resolve(host, 80).await;
            assert!(
                matches!(refused, Err(EgressError::Refused(_))),
                "{host}: {refused:?}"
            );
        }
    }
}
