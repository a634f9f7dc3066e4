//! `login` → `whoami` → an MPSD call with the cached sign-in → `logout`, against the emulator's sign-in
//! mock; no token ever appears in the output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use predicates::prelude::*;
use xbl_mpsd_emulator::{EmulatorConfig, MockEndpoint, MockFailure, PollAnswer, SignInMock};

/// Sets the cached XSTS token's `not_after` to the past (as if time had passed), keeping the file 0600.
fn rewrite_xsts_expiry(cache: &std::path::Path) {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cache).unwrap()).unwrap();
    json["credentials"]["xsts"]["token"]["not_after"] = "2000-01-01T00:00:00Z".into();
    std::fs::write(cache, serde_json::to_vec(&json).unwrap()).unwrap();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn login_whoami_operation_logout() {
    let mock = SignInMock::default();
    mock.set_poll_script([PollAnswer::Pending]);
    let served = emulator_with(EmulatorConfig {
        sign_in: mock.clone(),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("signin.json");
    let account = mock.account();
    let mut outputs = Vec::new();

    let login = xbl()
        .arg("--token-cache")
        .arg(&cache)
        .args(["login", "--auth-endpoint", &served.url])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "open https://www.microsoft.com/link and enter the code MOCK-CODE",
        ))
        .stdout(predicate::str::contains(format!(
            "Signed in as MockGamer (XUID {})",
            account.xuid
        )))
        .get_output()
        .clone();
    outputs.push(login);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let whoami = xbl()
        .arg("--token-cache")
        .arg(&cache)
        .arg("whoami")
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("xuid: {}", account.xuid)))
        .stdout(predicate::str::contains("gamertag: MockGamer"))
        .stdout(predicate::str::contains(format!(
            "user hash: {}",
            account.user_hash
        )))
        .stdout(predicate::str::contains("token expires: "))
        .get_output()
        .clone();
    outputs.push(whoami);

    // An operation with no --token: the cached sign-in's XSTS token makes the caller the account.
    let (_doc_dir, join) = file(JOIN);
    let write = xbl()
        .args(["--endpoint", &served.url, "--token-cache"])
        .arg(&cache)
        .arg("write-session")
        .args(session("signed-in"))
        .arg("--json-body")
        .arg(&join)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout_json(&write)["members"]["0"]["constants"]["system"]["xuid"],
        account.xuid.to_string()
    );
    outputs.push(write);

    // A revoked token is refused with a clear message; a write is not repeated, but the sign-in's token is
    // refreshed after the 401 for the next command.
    mock.revoke_xsts_tokens();
    let xsts_before = mock.requests(MockEndpoint::Xsts);
    let refused = xbl()
        .args(["--endpoint", &served.url, "--token-cache"])
        .arg(&cache)
        .arg("write-session")
        .args(session("signed-in"))
        .arg("--json-body")
        .arg(&join)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the XSTS token was revoked"))
        .get_output()
        .clone();
    outputs.push(refused);
    assert_eq!(mock.requests(MockEndpoint::Xsts), xsts_before + 1);
    // A read refused with 401 gets a refreshed token and is repeated once: the generated commands go through
    // the SDK's call policy.
    mock.revoke_xsts_tokens();
    let xsts_before = mock.requests(MockEndpoint::Xsts);
    let repeated = xbl()
        .args(["--endpoint", &served.url, "--token-cache"])
        .arg(&cache)
        .arg("get-session")
        .args(session("signed-in"))
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(mock.requests(MockEndpoint::Xsts), xsts_before + 1);
    outputs.push(repeated);
    // A fresh token also comes from expiry: make the cached one expire.
    let xsts_before = mock.requests(MockEndpoint::Xsts);
    rewrite_xsts_expiry(&cache);
    let read = xbl()
        .args(["--endpoint", &served.url, "--token-cache"])
        .arg(&cache)
        .arg("get-session")
        .args(session("signed-in"))
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(mock.requests(MockEndpoint::Xsts), xsts_before + 1);
    assert_eq!(
        stdout_json(&read)["members"]["0"]["constants"]["system"]["xuid"],
        account.xuid.to_string()
    );
    outputs.push(read);

    // No token, refresh token or access token in any output.
    let secrets = mock.issued_secrets();
    assert!(!secrets.is_empty());
    for output in &outputs {
        for stream in [text(&output.stdout), text(&output.stderr)] {
            for secret in &secrets {
                assert!(!stream.contains(secret.as_str()), "token leaked: {stream}");
            }
            assert!(!stream.contains("mock-xsts"), "{stream}");
            assert!(!stream.contains("mock-msa"), "{stream}");
        }
    }

    xbl()
        .arg("--token-cache")
        .arg(&cache)
        .arg("logout")
        .assert()
        .success()
        .stdout(predicate::str::contains("Signed out"));
    assert!(!cache.exists());
    xbl()
        .arg("--token-cache")
        .arg(&cache)
        .arg("whoami")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not signed in"));
}

#[test]
fn login_reports_what_the_user_must_do_and_keeps_a_foreign_cache() {
    let mock = SignInMock::default();
    let served = emulator_with(EmulatorConfig {
        sign_in: mock.clone(),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("signin.json");

    mock.fail_next(MockEndpoint::Xsts, MockFailure::XErr(2_148_916_238));
    xbl()
        .arg("--token-cache")
        .arg(&cache)
        .args(["login", "--auth-endpoint", &served.url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("0x8015DC0E"))
        .stderr(predicate::str::contains("an adult must add it"));

    std::fs::write(&cache, "not a cache").unwrap();
    for args in [vec!["whoami"], vec!["logout"]] {
        xbl()
            .arg("--token-cache")
            .arg(&cache)
            .args(args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "is not a valid xbl-mpsd token cache",
            ));
    }
    // An operation without --token refuses too, rather than silently going unauthenticated.
    xbl()
        .args(["--endpoint", &served.url, "--token-cache"])
        .arg(&cache)
        .arg("get-session")
        .args(session("x"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("token cache"));
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), "not a cache");
}

#[test]
fn title_login_works_from_the_cli() {
    let mock = SignInMock::default();
    let served = emulator_with(EmulatorConfig {
        sign_in: mock.clone(),
        ..EmulatorConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("signin.json");
    xbl()
        .arg("--token-cache")
        .arg(&cache)
        .args(["login", "--title", "--auth-endpoint", &served.url])
        .assert()
        .success();
    assert_eq!(mock.requests(MockEndpoint::Sisu), 1);
    xbl()
        .arg("--token-cache")
        .arg(&cache)
        .arg("whoami")
        .assert()
        .success()
        .stdout(predicate::str::contains("title (device + SISU)"));
}
