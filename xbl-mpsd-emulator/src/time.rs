//! Time formats of the HTTP layer.

use chrono::{DateTime, Utc};

/// An HTTP date (RFC 1123, always GMT), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, of `time` truncated to the second.
pub(crate) fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
