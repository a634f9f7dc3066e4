//! Trace-level logs of the whole HTTP stack (this crate, reqwest, hyper) never contain the token.
//!
//! Its own test binary: the subscriber is the process-wide default, so no other test running in parallel
//! can race `tracing`'s per-callsite interest cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use xbl_mpsd_ext::HandleId;

mod support;
use support::{HANDLE, mock_client};

const SECRET: &str = "eyJzZWNyZXQiOiJ0b2tlbiJ9";

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_level_logs_of_a_retried_call_never_contain_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (client, _clock) = mock_client(&server.uri(), SECRET);
    let handle: HandleId = HANDLE.parse().unwrap();
    assert_eq!(client.get_session(handle).send().await.unwrap(), None);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying request"),
        "the retry was traced: {logs}"
    );
    assert!(!logs.contains(SECRET), "the token leaked into the logs");
}
