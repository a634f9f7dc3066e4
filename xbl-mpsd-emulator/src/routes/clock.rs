//! The manual clock over HTTP (`--manual-clock` only): reading and advancing it, and the `Date` header it sets.

use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::DATE;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::Clock;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::model::timestamp;
use crate::response;
use crate::time::http_date;

use super::AppState;

/// The manual clock's endpoint (`--manual-clock` only; 404 otherwise).
pub(crate) const CLOCK_PATH: &str = "/_emulator/clock";

/// With a manual clock, every answer's `Date` is the clock's (hyper's own would be the system time).
pub(super) async fn date_from_clock(
    State(clock): State<Clock>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&http_date(clock.utc())) {
        response.headers_mut().insert(DATE, value);
    }
    response
}

/// `{"now": "<RFC 3339>"}`.
fn clock_answer(now: DateTime<Utc>) -> Response {
    response::json(StatusCode::OK, &json!({ "now": timestamp(now) }))
}

/// `GET /_emulator/clock`: the manual clock's time.
pub(super) async fn read_clock(State(state): State<AppState>) -> Response {
    clock_answer(state.config.clock.utc())
}

/// `POST /_emulator/clock` with `{"advanceMs": N}`: moves the manual clock forward by N milliseconds, applies
/// the timers that fell due (the sweep, unless it is off), and answers the new time.
pub(super) async fn advance_clock(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    if let Some(key) = body.keys().find(|key| key.as_str() != "advanceMs") {
        return Err(ApiError::bad_request(format!(
            "'{key}' is not a clock field; send {{\"advanceMs\": <milliseconds>}}"
        )));
    }
    let millis = match body.get("advanceMs") {
        None => {
            return Err(ApiError::bad_request(
                "advanceMs is required: {\"advanceMs\": <milliseconds>}",
            ));
        }
        Some(value) => value
            .as_u64()
            .and_then(|millis| i64::try_from(millis).ok())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "advanceMs must be a non-negative integer of milliseconds, not {value}"
                ))
            })?,
    };
    let now = state.config.clock.advance_millis(millis).ok_or_else(|| {
        ApiError::bad_request(format!(
            "advancing the clock by {millis} ms leaves the representable range"
        ))
    })?;
    Ok(clock_answer(now))
}
