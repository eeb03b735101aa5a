//! What the agent keeps on disk between runs.

use optralis_agent::state::{self, Enrollment};

#[test]
fn enrollment_is_private_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("state");
    state::ensure_dir(&d).unwrap();
    assert_eq!(state::load_enrollment(&d).unwrap(), None);
    let e = Enrollment {
        server: "https://example".into(),
        machine_id: "m".into(),
        machine_token: "omt_secret".into(),
    };
    state::save_enrollment(&d, &e).unwrap();
    assert_eq!(state::load_enrollment(&d).unwrap(), Some(e));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("enrollment.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    std::fs::write(d.join("enrollment.json"), "{").unwrap();
    let err = state::load_enrollment(&d).unwrap_err().to_string();
    assert!(err.contains("corrupt"), "{err}");
}

#[test]
fn fingerprints_are_stable_and_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let a = state::fingerprint(Some("0123456789abcdef".into()), dir.path()).unwrap();
    assert_eq!(
        a,
        state::fingerprint(Some("0123456789abcdef".into()), dir.path()).unwrap()
    );
    assert!(
        !a.contains("0123456789abcdef"),
        "the raw machine id never leaves the host"
    );
    // Without an OS machine id, one is generated once and kept.
    let b = state::fingerprint(None, dir.path()).unwrap();
    assert_eq!(b, state::fingerprint(None, dir.path()).unwrap());
    assert_ne!(a, b);
}
