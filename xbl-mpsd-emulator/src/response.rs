//! The HTTP layer's response building: the rendering of the domain's `ApiError`, plain-text errors, session
//! documents with their headers, JSON documents.
//!
//! Every response's `Date` header is hyper's (`connections`: `auto_date_header`), formatted once a second
//! rather than once per response; with a manual clock it is the clock's (`routes::clock`). A session's `Expires` is its
//! `nextTimer`.

use axum::http::header::{CONTENT_LOCATION, CONTENT_TYPE, ETAG, EXPIRES};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use serde_json::Value;

use crate::error::ApiError;
use crate::session::view::SessionView;
use crate::time::http_date;

/// A plain-text response (used for every error but 412).
pub(crate) fn text(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A body-less response (204, 304, body-less 412).
pub(crate) fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// A session document with `ETag`, `Content-Location` and, when a timer is pending, `Expires`.
pub(crate) fn session(status: StatusCode, view: SessionView) -> Response {
    let mut response = json_bytes(status, view.body());
    add_session_headers(&mut response, &view.etag, &view.location);
    if let Some(next_timer) = view.session.next_timer
        && let Ok(value) = HeaderValue::from_str(&expires(next_timer))
    {
        response.headers_mut().insert(EXPIRES, value);
    }
    response
}

/// `Expires` for a timer firing at `at`: the HTTP date of `at`, rounded up to the whole second (an HTTP date has
/// no fraction), so that a client polling at `Expires` finds the timer applied.
fn expires(at: DateTime<Utc>) -> String {
    let whole = at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(at);
    let rounded = if whole < at {
        whole + TimeDelta::seconds(1)
    } else {
        whole
    };
    http_date(rounded)
}

/// 304 Not Modified for a session, with its `ETag` and `Content-Location`.
pub(crate) fn not_modified(etag: &str, location: &str) -> Response {
    let mut response = empty(StatusCode::NOT_MODIFIED);
    add_session_headers(&mut response, etag, location);
    response
}

/// Adds `ETag` and `Content-Location`; values that cannot be header values are left out.
fn add_session_headers(response: &mut Response, etag: &str, location: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(CONTENT_LOCATION, value);
    }
}

/// A JSON document.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    json_bytes(status, serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON document already serialized.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The HTTP rendering of the domain's error: its status number, a 412 with the current session when there is one.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Text(status, message) => text(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                message,
            ),
            Self::PreconditionFailed(Some(view)) => session(StatusCode::PRECONDITION_FAILED, *view),
            Self::PreconditionFailed(None) => empty(StatusCode::PRECONDITION_FAILED),
        }
    }
}
