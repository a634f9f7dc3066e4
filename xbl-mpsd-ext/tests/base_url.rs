//! A base URL with credentials is refused without the credentials ever being shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use xbl_mpsd_ext::{BuildError, MpsdClient};

const PASSWORD: &str = "hunter2-secret";

#[test]
fn a_base_url_password_is_never_echoed() {
    for (input, shown) in [
        (
            format!("https://player:{PASSWORD}@sessiondirectory.xboxlive.com"),
            "https://***@sessiondirectory.xboxlive.com",
        ),
        (
            format!("https://{PASSWORD}@sessiondirectory.xboxlive.com/"),
            "https://***@sessiondirectory.xboxlive.com/",
        ),
        (
            format!("http://a:{PASSWORD}@127.0.0.1:8080/x?y=1"),
            "http://***@127.0.0.1:8080/x?y=1",
        ),
        // Not even a valid URL: still redacted.
        (format!("https://u:{PASSWORD}@[::1"), "https://***@[::1"),
        (format!("http:u:{PASSWORD}@host"), "http:***@host"),
    ] {
        let builder = MpsdClient::builder().base_url(&input);
        assert!(!format!("{builder:?}").contains(PASSWORD), "{builder:?}");
        let error = builder.build().unwrap_err();
        let BuildError::InvalidBaseUrl { input: echoed, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(echoed, shown);
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(PASSWORD), "{text}");
        }
    }
}

#[test]
fn a_url_without_credentials_is_shown_whole() {
    let error = MpsdClient::builder()
        .base_url("ftp://example.com/a@b")
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("\"ftp://example.com/a@b\""),
        "{error}"
    );
}
