//! The real OS keychain through [`OsKeychain`]: on Linux the Secret Service on the session bus.
//!
//! Each test uses its own service name and removes what it wrote.

#[cfg(target_os = "linux")]
use std::process::Command;

use banklinks_core::Sensitive;
#[cfg(target_os = "linux")]
use banklinks_core::keychain::KeychainError;
use banklinks_core::keychain::{OsKeychain, SecretStore};

#[test]
#[ignore = "needs an unlocked Secret Service: scripts/test runs it inside dbus-run-session with gnome-keyring"]
fn a_secret_round_trips_through_the_real_keychain_and_is_gone_after_delete() {
    let store = OsKeychain::new("banklinks-test.os-keychain");
    let account = "round-trip";
    let backend = store.backend().expect("a keychain backend");
    assert!(
        backend.contains("Secret Service") || cfg!(not(target_os = "linux")),
        "unexpected backend {backend}"
    );

    let secret = Sensitive::new("s3cr3t with spaces and ünïcödé".to_string());
    store.put(account, &secret).expect("put");
    let read_back = store.get(account).expect("get").expect("present");
    assert_eq!(read_back.expose(), secret.expose());

    let replacement = Sensitive::new("second value".to_string());
    store.put(account, &replacement).expect("replace");
    assert_eq!(
        store.get(account).expect("get").expect("present").expose(),
        "second value"
    );

    assert!(store.delete(account).expect("delete"));
    assert!(store.get(account).expect("get after delete").is_none());
    assert!(!store.delete(account).expect("second delete"));
}

/// A private key is longer than one Windows item holds: the real keychain keeps it in parts
/// on every platform, reads it whole, and deletes every part.
#[test]
#[ignore = "needs an unlocked Secret Service: scripts/test runs it inside dbus-run-session with gnome-keyring"]
fn a_private_key_round_trips_in_parts_and_leaves_nothing_behind() {
    let store = OsKeychain::new("banklinks-test.os-keychain-parts");
    let account = "environment/private-key";
    let body: String = (0..1_700)
        .map(|i| if i % 64 == 63 { '\n' } else { 'Q' })
        .collect();
    let key = Sensitive::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    ));
    store.put(account, &key).expect("put");
    assert_eq!(
        store.get(account).expect("get").expect("present").expose(),
        key.expose()
    );
    assert!(store.delete(account).expect("delete"));
    assert!(store.get(account).expect("get after delete").is_none());
    assert!(
        store
            .get(&format!("{account}#2"))
            .expect("get a part")
            .is_none(),
        "no part stays behind"
    );
}

#[cfg(target_os = "linux")]
const CHILD_FLAG: &str = "BANKLINKS_KEYCHAIN_TEST_CHILD";

/// The keyring crate connects once per process, so the "no keychain" case runs in a child
/// process whose session bus address leads nowhere. Only Linux has a keychain a test can take
/// away (macOS and Windows always have theirs).
#[cfg(target_os = "linux")]
#[test]
fn without_a_secret_service_every_call_fails_as_unavailable() {
    if std::env::var_os(CHILD_FLAG).is_some() {
        let store = OsKeychain::new("banklinks-test.unavailable");
        let secret = Sensitive::new("never stored".to_string());
        assert!(matches!(
            store.backend(),
            Err(KeychainError::Unavailable { .. })
        ));
        assert!(matches!(
            store.put("a", &secret),
            Err(KeychainError::Unavailable { .. })
        ));
        assert!(matches!(
            store.get("a"),
            Err(KeychainError::Unavailable { .. })
        ));
        assert!(matches!(
            store.delete("a"),
            Err(KeychainError::Unavailable { .. })
        ));
        let message = store.get("a").expect_err("unavailable").to_string();
        assert!(message.contains("No keychain is available"), "{message}");
        return;
    }
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "without_a_secret_service_every_call_fails_as_unavailable",
            "--nocapture",
        ])
        .env(CHILD_FLAG, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/banklinks-test-bus",
        )
        .env_remove("DISPLAY")
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
