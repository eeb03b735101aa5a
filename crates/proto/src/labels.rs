//! Machine labels (checked by the agent at start and by the server): `key=value` pairs with the syntax of Kubernetes labels, so selectors read
//! the same as they do there.
//!
//! - key: an optional DNS-subdomain prefix and `/` (at most 253 characters), then a name of
//!   1–63 characters: alphanumerics, `-`, `_`, `.`, starting and ending with an alphanumeric;
//! - value: empty, or 1–63 characters of the same set, same first/last rule.

use std::collections::BTreeMap;

pub type Labels = BTreeMap<String, String>;

/// At most this many labels per machine, from each source.
pub const MAX_LABELS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelError(pub String);

impl std::fmt::Display for LabelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabelError {}

fn is_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

pub fn check_key(key: &str) -> Result<(), LabelError> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && !is_dns_subdomain(p)
    {
        return Err(LabelError(format!(
            "label key {key:?}: the prefix before '/' must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
        )));
    }
    if !is_name(name) {
        return Err(LabelError(format!(
            "label key {key:?}: must be 1 to 63 characters of letters, digits, '-', '_' and '.', \
             starting and ending with a letter or digit (optionally after a prefix/)"
        )));
    }
    Ok(())
}

pub fn check_value(key: &str, value: &str) -> Result<(), LabelError> {
    if value.is_empty() || is_name(value) {
        Ok(())
    } else {
        Err(LabelError(format!(
            "label {key:?}: the value {value:?} must be empty or 1 to 63 characters of letters, \
             digits, '-', '_' and '.', starting and ending with a letter or digit"
        )))
    }
}

pub fn check_labels(labels: &Labels) -> Result<(), LabelError> {
    if labels.len() > MAX_LABELS {
        return Err(LabelError(format!(
            "at most {MAX_LABELS} labels per machine"
        )));
    }
    for (k, v) in labels {
        check_key(k)?;
        check_value(k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_syntax() {
        for good in [
            "env",
            "app.kubernetes.io/name",
            "a",
            "tier_2",
            "x-y.z",
            "example.com/Role",
        ] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-env",
            "env-",
            "a b",
            "é",
            "Example.com/x",
            "/x",
            "x/",
            &"a".repeat(64),
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        for good in ["", "prod", "v1.2.3", "EU_west-1"] {
            assert_eq!(check_value("k", good), Ok(()), "{good}");
        }
        for bad in ["-prod", "a b", "x/y", &"v".repeat(64)] {
            assert!(check_value("k", bad).is_err(), "{bad:?}");
        }
        let many: Labels = (0..65).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check_labels(&many).is_err());
    }
}
