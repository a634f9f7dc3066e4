//! The Microsoft account endpoints: device-code authorization (`/oauth20_connect.srf`) and tokens
//! (`/oauth20_token.srf`: device-code polls and refreshes).

use std::collections::HashMap;
use std::time::SystemTime;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{MockEndpoint, MockState, PollAnswer, SignInMock, failure_response, oauth};

/// The device-code grant of RFC 8628; login.live.com also accepts the bare `device_code`.
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

type FormFields = Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>;

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `POST /oauth20_connect.srf`.
pub(super) async fn device_authorization(
    State(mock): State<SignInMock>,
    form: FormFields,
) -> Response {
    let mut state = mock.lock();
    if let Some(failure) = state.hit(MockEndpoint::DeviceAuthorization) {
        return failure_response(failure);
    }
    let Ok(Form(fields)) = form else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form",
        );
    };
    let (Some(client_id), Some(_scope)) = (field(&fields, "client_id"), field(&fields, "scope"))
    else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and scope are required",
        );
    };
    if field(&fields, "response_type").is_some_and(|t| t != "device_code") {
        return oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be device_code",
        );
    }
    let code = state.next("device-code");
    let script = state.script.clone();
    state.device_codes.insert(code.clone(), script);
    state.client_ids.insert(code.clone(), client_id.to_owned());
    let interval = state.interval;
    axum::Json(json!({
        "device_code": code,
        "user_code": "MOCK-CODE",
        "verification_uri": "https://www.microsoft.com/link",
        "expires_in": 900,
        "interval": interval,
    }))
    .into_response()
}

/// Issues an access token and a refresh token.
fn issue_msa(state: &mut MockState, client_id: &str) -> Response {
    let access = state.next("msa-at");
    let refresh = state.next("msa-rt");
    let lifetime = state.lifetimes.msa;
    state
        .access_tokens
        .insert(access.clone(), SystemTime::now() + lifetime);
    state
        .refresh_tokens
        .insert(refresh.clone(), client_id.to_owned());
    axum::Json(json!({
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
        "scope": "service::user.auth.xboxlive.com::MBI_SSL",
        "access_token": access,
        "refresh_token": refresh,
        "user_id": "mock-user",
    }))
    .into_response()
}

/// `POST /oauth20_token.srf`: device-code polls and refreshes.
pub(super) async fn token(State(mock): State<SignInMock>, form: FormFields) -> Response {
    let mut state = mock.lock();
    let Ok(Form(fields)) = form else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form",
        );
    };
    let Some(client_id) = field(&fields, "client_id") else {
        return oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        );
    };
    match field(&fields, "grant_type") {
        Some(DEVICE_CODE_GRANT | "device_code") => {
            if let Some(failure) = state.hit(MockEndpoint::DeviceToken) {
                return failure_response(failure);
            }
            let Some(code) = field(&fields, "device_code") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "device_code is required",
                );
            };
            if state.client_ids.get(code).map(String::as_str) != Some(client_id) {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown device code for this client",
                );
            }
            let Some(script) = state.device_codes.get_mut(code) else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the device code was already used",
                );
            };
            match script.pop_front() {
                Some(PollAnswer::Pending) => oauth(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    "the user has not signed in yet",
                ),
                Some(PollAnswer::SlowDown) => {
                    oauth(StatusCode::BAD_REQUEST, "slow_down", "poll less often")
                }
                None => {
                    state.device_codes.remove(code);
                    issue_msa(&mut state, client_id)
                }
            }
        }
        Some("refresh_token") => {
            if let Some(failure) = state.hit(MockEndpoint::Refresh) {
                return failure_response(failure);
            }
            let Some(refresh) = field(&fields, "refresh_token") else {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                );
            };
            if field(&fields, "scope").is_none() {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "scope is required",
                );
            }
            match state.refresh_tokens.get(refresh) {
                Some(owner) if owner == client_id => {
                    // Rotation: the old refresh token stops working.
                    state.refresh_tokens.remove(refresh);
                    issue_msa(&mut state, client_id)
                }
                _ => oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is unknown, used or expired",
                ),
            }
        }
        _ => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        ),
    }
}
