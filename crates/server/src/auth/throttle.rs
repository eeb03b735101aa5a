//! Brute-force brakes for logins and second factors: after a few free failures, each further
//! failure locks the key for twice as long as the last, up to 15 minutes. Kept in memory: a
//! restart forgives, and each replica counts on its own.
//!
//! Guessing one account's password from one address locks that account *from that address*
//! only, so an attacker cannot lock the owner out; a guess spread over many addresses locks
//! the account for addresses it was never signed in from, and the owner's usual addresses
//! still pass (the caller decides which keys apply). IPv6 addresses count by /64, the block
//! one subscriber gets.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::SharedClock;

const MAX_LOCK_MS: i64 = 15 * 60_000;
/// A key with no failure for this long starts afresh.
const FORGET_MS: i64 = 30 * 60_000;
/// Past this many keys the oldest-forgotten are swept, so a spray of addresses cannot grow
/// memory without bound.
const MAX_KEYS: usize = 100_000;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One account tried from one address.
    AccountFrom,
    /// One account, from addresses it has not signed in from lately.
    Account,
    /// One client address, whatever account it tries (an office behind NAT shares one).
    Address,
    /// Second-factor codes of one account; only a good code clears it (a good password
    /// does not, or knowing the password would reset the count).
    Mfa,
}

impl Subject {
    fn free_failures(self) -> u32 {
        match self {
            Subject::AccountFrom | Subject::Mfa => 5,
            Subject::Address => 20,
            // Many addresses at once: a botnet, or a whole office mistyping.
            Subject::Account => 50,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure_ms: i64,
    locked_until_ms: i64,
}

pub struct Throttle {
    clock: SharedClock,
    entries: Mutex<HashMap<(Subject, String), Entry>>,
}

impl Throttle {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an attempt: `Err(seconds to wait)` while any of `keys` is locked, else counts
    /// it as a failure until [`Throttle::succeed`] says otherwise. Checking and counting under
    /// one lock means a burst of parallel attempts cannot all pass before any is counted.
    pub fn attempt(&self, keys: &[(Subject, &str)]) -> Result<(), u64> {
        let now = self.clock.now_ms();
        let Ok(mut entries) = self.entries.lock() else {
            return Ok(());
        };
        wait(&entries, keys, now)?;
        count(&mut entries, keys, now);
        Ok(())
    }

    /// `Err(seconds to wait)` while any of `keys` is locked.
    pub fn check(&self, keys: &[(Subject, &str)]) -> Result<(), u64> {
        let now = self.clock.now_ms();
        let Ok(entries) = self.entries.lock() else {
            return Ok(());
        };
        wait(&entries, keys, now)
    }

    /// Counts a failure against each of `keys`.
    pub fn fail(&self, keys: &[(Subject, &str)]) {
        let now = self.clock.now_ms();
        if let Ok(mut entries) = self.entries.lock() {
            count(&mut entries, keys, now);
        }
    }

    /// An attempt succeeded: an account's (or its second factor's) failures are forgotten;
    /// an address only gets this attempt back.
    pub fn succeed(&self, subject: Subject, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            let k = (subject, key.to_owned());
            match subject {
                Subject::Address => {
                    if let Some(e) = entries.get_mut(&k) {
                        e.failures = e.failures.saturating_sub(1);
                    }
                }
                Subject::AccountFrom | Subject::Account | Subject::Mfa => {
                    entries.remove(&k);
                }
            }
        }
    }
}

/// The key an address counts under: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        _ => ip.to_owned(),
    }
}

type Entries = HashMap<(Subject, String), Entry>;

fn wait(entries: &Entries, keys: &[(Subject, &str)], now: i64) -> Result<(), u64> {
    {
        let wait_ms = keys
            .iter()
            .filter_map(|(subject, key)| entries.get(&(*subject, (*key).to_owned())))
            .map(|e| e.locked_until_ms - now)
            .max()
            .unwrap_or(0);
        if wait_ms > 0 {
            Err(u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000))
        } else {
            Ok(())
        }
    }
}

fn count(entries: &mut Entries, keys: &[(Subject, &str)], now: i64) {
    {
        if entries.len() >= MAX_KEYS {
            entries.retain(|_, e| now - e.last_failure_ms < FORGET_MS);
        }
        if entries.len() >= MAX_KEYS {
            // Still full (a spray of keys): keep only what is locked now.
            entries.retain(|_, e| e.locked_until_ms > now);
        }
        for (subject, key) in keys {
            let entry = entries
                .entry((*subject, (*key).to_owned()))
                .or_insert(Entry {
                    failures: 0,
                    last_failure_ms: now,
                    locked_until_ms: 0,
                });
            if now - entry.last_failure_ms >= FORGET_MS {
                entry.failures = 0;
            }
            entry.failures += 1;
            entry.last_failure_ms = now;
            if let Some(over) = entry.failures.checked_sub(subject.free_failures())
                && over > 0
            {
                let lock = 1000i64
                    .saturating_mul(1i64 << (over - 1).min(20))
                    .min(MAX_LOCK_MS);
                entry.locked_until_ms = now + lock;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn locks_grow_after_the_free_failures_and_success_forgives() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let t = Throttle::new(clock.clone());
        let acct = [(Subject::AccountFrom, "a@example.com|192.0.2.1")];
        for _ in 0..5 {
            assert_eq!(t.check(&acct), Ok(()));
            t.fail(&acct);
        }
        assert_eq!(t.check(&acct), Ok(()), "five failures are free");
        t.fail(&acct);
        assert_eq!(t.check(&acct), Err(1));
        clock.advance_ms(1000);
        t.fail(&acct);
        assert_eq!(t.check(&acct), Err(2));
        clock.advance_ms(2000);
        t.fail(&acct);
        assert_eq!(t.check(&acct), Err(4));
        for _ in 0..30 {
            t.fail(&acct);
        }
        assert_eq!(t.check(&acct), Err(900), "capped at 15 minutes");
        // Another account is not affected; an address has its own, larger allowance.
        assert_eq!(
            t.check(&[(Subject::AccountFrom, "b@example.com|192.0.2.1")]),
            Ok(())
        );
        t.succeed(Subject::AccountFrom, "a@example.com|192.0.2.1");
        assert_eq!(t.check(&acct), Ok(()));
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_half_hour() {
        let clock = Arc::new(ManualClock::new(0));
        let t = Throttle::new(clock.clone());
        let ip = [(Subject::Address, "192.0.2.1")];
        for _ in 0..20 {
            t.fail(&ip);
        }
        assert_eq!(t.check(&ip), Ok(()));
        clock.advance_ms(FORGET_MS);
        t.fail(&ip);
        assert_eq!(t.check(&ip), Ok(()), "the count started over");
    }
}
