//! The explorer in a real browser: headless Chromium driven through chromedriver (WebDriver, fantoccini).
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`$CHROME`, `$CHROMEDRIVER` override; Debian's
//! `chromium` and `chromium-driver`, installed by `.ci/browser-install`). Without them the test prints why it is
//! skipped and passes — unless `CI` is set, where it fails. Screenshots go to `target/explorer-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use xbl_mpsd_emulator::EmulatorConfig;

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser and driver binaries, or why they cannot be used.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let chrome =
        PathBuf::from(std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let driver = PathBuf::from(
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    );
    for path in [&chrome, &driver] {
        if !path.is_file() {
            return Err(format!(
                "{} is missing (install Debian's chromium and chromium-driver: .ci/browser-install)",
                path.display()
            ));
        }
    }
    Ok((chrome, driver))
}

/// Starts chromedriver on a free loopback port and waits until `/status` answers.
async fn start_driver(path: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = reqwest::get(format!("{}/status", driver.url)).await
            && response.status().is_success()
        {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer /status within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A headless Chromium session with a fresh profile, its console collected.
async fn browser(driver: &Driver, chrome: &Path, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome.display().to_string(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()), "--window-size=1280,800",
                "--disable-dev-shm-usage"],
        }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// chromedriver's browser log (`POST /session/{id}/se/log`, type `browser`): each entry read drains it.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Fails on any console error or warning logged since the last call (failed loads, CSP violations, script
/// errors — also those during page load).
async fn assert_clean_console(client: &Client, step: &str) {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    let bad: Vec<&Value> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
        .collect();
    assert!(bad.is_empty(), "console errors after {step}: {bad:#?}");
}

/// Polls `script` (returning a boolean) until true, for up to `within`.
async fn wait_for(client: &Client, script: &str, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        let value = client.execute(script, vec![]).await.expect("script runs");
        if value == Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `target/explorer-screenshots/`.
fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("explorer-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).expect("screenshot written");
    eprintln!("screenshot: {}", path.display());
}

#[tokio::test]
async fn the_explorer_works_in_headless_chromium() {
    let (chrome, driver_path) = match binaries() {
        Ok(found) => found,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the browser test must run, but {why}")
        }
        Err(why) => {
            // Straight to stderr, past the test harness's capture, so that `cargo test` shows it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the explorer browser test: {why}"
            );
            return;
        }
    };
    let driver = start_driver(&driver_path).await;
    let profile = tempfile::tempdir().expect("a profile directory");
    let client = browser(&driver, &chrome, profile.path()).await;
    let outcome = tokio::spawn(run(client.clone(), driver.url.clone())).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// The steps, on one browser.
async fn run(client: Client, _driver: String) {
    let harness = start().await;
    harness.join(ALICE, "lobby").await;
    let evil = json!({ "members": { "me": { "properties": { "custom": {
        "note": "<script>window.__xss=1</script>", "pic": "<img src=x onerror=\"window.__img=1\">" } } } } });
    assert!(
        harness
            .put(ALICE, &session_path("lobby"), evil)
            .await
            .status()
            .is_success()
    );
    harness.join(CAROL, "other-lobby").await;

    // The list.
    client
        .goto(&format!("{}/explorer", harness.base))
        .await
        .expect("list opens");
    let heading = client
        .find(Locator::Css("main h1"))
        .await
        .expect("a heading");
    assert_eq!(heading.text().await.expect("text"), "Sessions");
    let rows = client
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 2);
    screenshot(&client, "list.png").await;
    assert_clean_console(&client, "opening the list").await;
    // The console check sees a failed load (so it would see one during a page's load).
    client
        .goto(&format!("{}/explorer/no-such-page", harness.base))
        .await
        .expect("a 404 page");
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    assert!(
        log.as_array()
            .is_some_and(|entries| entries.iter().any(|e| e["level"] == "SEVERE")),
        "a 404 is logged: {log}"
    );
    client.back().await.expect("back to the list");

    // The filter form, from the keyboard: type a member's XUID and press Enter.
    let xuid_field = client
        .find(Locator::Id("f-xuid"))
        .await
        .expect("the XUID field");
    xuid_field
        .send_keys(&format!("{CAROL}\u{E007}"))
        .await
        .expect("typing");
    wait_for(
        &client,
        "return location.search.includes('xuid=')",
        Duration::from_secs(5),
        "the filtered list",
    )
    .await;
    let rows = client
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "only CAROL's session");
    client
        .find(Locator::LinkText("Clear"))
        .await
        .expect("a clear link")
        .click()
        .await
        .expect("click");
    wait_for(
        &client,
        "return location.search === ''",
        Duration::from_secs(5),
        "the whole list",
    )
    .await;

    // A session, by following its link.
    client
        .find(Locator::LinkText("lobby"))
        .await
        .expect("a link")
        .click()
        .await
        .expect("click");
    wait_for(
        &client,
        "return document.title.startsWith('lobby')",
        Duration::from_secs(5),
        "the session page",
    )
    .await;
    let note = client
        .execute("return Array.from(document.querySelectorAll('main code')).map(c => c.textContent).join(' ')", vec![])
        .await
        .expect("script");
    let note = note.as_str().unwrap_or_default().to_owned();
    assert!(
        note.contains("<script>window.__xss=1</script>"),
        "rendered as text: {note}"
    );
    assert!(
        note.contains("<img src=x onerror="),
        "rendered as text: {note}"
    );
    let executed = client
        .execute("return [window.__xss === undefined, window.__img === undefined, document.querySelectorAll('main img, main script').length]", vec![])
        .await
        .expect("script");
    assert_eq!(
        executed,
        json!([true, true, 0]),
        "nothing a client wrote ran or became an element"
    );
    assert_clean_console(&client, "opening a session").await;

    // A second player joins: the page shows it without a reload.
    wait_for(
        &client,
        "return document.getElementById('live-status').textContent.startsWith('Live')",
        Duration::from_secs(5),
        "the live feed to connect",
    )
    .await;
    client
        .execute("window.__sameDocument = true; return true", vec![])
        .await
        .expect("script");
    let joined_at = Instant::now();
    harness.join(BOB, "lobby").await;
    let bob = format!(
        "return window.__sameDocument === true && document.querySelector('#live').textContent.includes('{BOB}')"
    );
    wait_for(
        &client,
        &bob,
        Duration::from_secs(2),
        "the second player to appear live",
    )
    .await;
    eprintln!("the join showed after {:?}", joined_at.elapsed());
    screenshot(&client, "session.png").await;

    // Phone width: nothing wider than the screen but the scrollable tables.
    client.set_window_size(390, 844).await.expect("resize");
    wait_for(
        &client,
        "return window.innerWidth <= 420",
        Duration::from_secs(5),
        "the resize",
    )
    .await;
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(fits, json!(true), "the page fits a phone's width");
    screenshot(&client, "session-phone.png").await;
    client.set_window_size(1280, 800).await.expect("resize");
    assert_clean_console(&client, "live updates").await;

    // Actions: a second emulator with them on; remove a member through its form.
    let acting = start_with(EmulatorConfig {
        explorer_actions: true,
        ..EmulatorConfig::default()
    })
    .await;
    acting.join(ALICE, "act").await;
    acting.join(BOB, "act").await;
    client
        .goto(&format!(
            "{}/explorer/sessions/{SCID}/{TEMPLATE}/act",
            acting.base
        ))
        .await
        .expect("session opens");
    client
        .find(Locator::Id(&format!("remove-{BOB}")))
        .await
        .expect("the remove button")
        .click()
        .await
        .expect("click");
    let gone = format!(
        "return document.getElementById('remove-{BOB}') === null && document.getElementById('remove-{ALICE}') !== null"
    );
    wait_for(
        &client,
        &gone,
        Duration::from_secs(5),
        "the member to be removed",
    )
    .await;
    let document = acting.read(ALICE, "act").await;
    assert_eq!(
        document["members"].as_object().map(|members| members.len()),
        Some(1)
    );
    assert_clean_console(&client, "removing a member").await;
}
