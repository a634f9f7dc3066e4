//! The Xbox token endpoints: user (`/user/authenticate`), device (`/device/authenticate`), SISU (`/authorize`)
//! and XSTS (`/xsts/authorize`) tokens.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::signature::{path_and_query, proof_key, verify_signature};
use super::{MockEndpoint, MockState, SignInMock, failure_response, live, rfc3339, xbox_refusal};

/// The relying party whose XSTS tokens carry the XUID claim.
const XBOXLIVE_RP: &str = "http://xboxlive.com";

fn contract_v1(headers: &HeaderMap) -> bool {
    headers
        .get("x-xbl-contract-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1")
}

/// The start every Xbox token endpoint shares: an injected failure for `endpoint`, else
/// `x-xbl-contract-version: 1` and a JSON object body, or the refusal to answer.
fn xbox_request(
    state: &mut MockState,
    endpoint: MockEndpoint,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Value, Box<Response>> {
    if let Some(failure) = state.hit(endpoint) {
        return Err(Box::new(failure_response(failure)));
    }
    if !contract_v1(headers) {
        return Err(Box::new(xbox_refusal(
            StatusCode::BAD_REQUEST,
            "x-xbl-contract-version: 1 is required",
        )));
    }
    json_body(body).ok_or_else(|| {
        Box::new(xbox_refusal(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        ))
    })
}

fn json_body(body: &Bytes) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn strip_ticket(ticket: &str) -> &str {
    ticket
        .strip_prefix("t=")
        .or_else(|| ticket.strip_prefix("d="))
        .unwrap_or(ticket)
}

fn token_answer(token: &str, not_after: SystemTime, claims: Value) -> Value {
    json!({
        "IssueInstant": rfc3339(SystemTime::now()),
        "NotAfter": rfc3339(not_after),
        "Token": token,
        "DisplayClaims": claims,
    })
}

/// `POST /user/authenticate`.
pub(super) async fn user_authenticate(
    State(mock): State<SignInMock>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let body = match xbox_request(&mut state, MockEndpoint::User, &headers, &body) {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    let props = &body["Properties"];
    if body["RelyingParty"] != "http://auth.xboxlive.com"
        || body["TokenType"] != "JWT"
        || props["AuthMethod"] != "RPS"
        || props["SiteName"] != "user.auth.xboxlive.com"
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "RelyingParty, TokenType, AuthMethod or SiteName is wrong",
        );
    }
    let ticket = props["RpsTicket"]
        .as_str()
        .map(strip_ticket)
        .unwrap_or_default();
    if !live(&state.access_tokens, ticket) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the RPS ticket is unknown or expired",
        );
    }
    let token = state.next("xasu");
    let not_after = SystemTime::now() + state.lifetimes.user;
    state.user_tokens.insert(token.clone(), not_after);
    let uhs = state.account.user_hash.clone();
    axum::Json(token_answer(
        &token,
        not_after,
        json!({"xui": [{"uhs": uhs}]}),
    ))
    .into_response()
}

/// Issues an XSTS token for the account.
fn issue_xsts(state: &mut MockState, relying_party: &str) -> Value {
    let token = state.next("xsts");
    let not_after = SystemTime::now() + state.lifetimes.xsts;
    let account = state.account.clone();
    state.xsts_tokens.insert(
        token.clone(),
        (account.xuid, account.user_hash.clone(), not_after),
    );
    let mut claim = json!({
        "uhs": account.user_hash,
        "gtg": account.gamertag,
        "agg": account.age_group,
        "prv": "185 186 187 188 189 254",
        "usr": "195 189",
        "utr": "190",
    });
    if relying_party == XBOXLIVE_RP {
        claim["xid"] = json!(account.xuid.to_string());
    }
    token_answer(&token, not_after, json!({"xui": [claim]}))
}

/// `POST /xsts/authorize`.
pub(super) async fn xsts_authorize(
    State(mock): State<SignInMock>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let body = match xbox_request(&mut state, MockEndpoint::Xsts, &headers, &body) {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    let props = &body["Properties"];
    let Some(relying_party) = body["RelyingParty"].as_str().filter(|rp| !rp.is_empty()) else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "RelyingParty is required");
    };
    if body["TokenType"] != "JWT" || props["SandboxId"] != "RETAIL" {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "TokenType must be JWT and SandboxId RETAIL",
        );
    }
    let user = props["UserTokens"][0].as_str().unwrap_or_default();
    if !live(&state.user_tokens, user) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the user token is unknown or expired",
        );
    }
    if let Some(device) = props.get("DeviceToken") {
        let ok = device
            .as_str()
            .and_then(|d| state.device_tokens.get(d))
            .is_some_and(|(t, _, _)| SystemTime::now() < *t);
        if !ok {
            return xbox_refusal(
                StatusCode::UNAUTHORIZED,
                "the device token is unknown or expired",
            );
        }
    }
    if let Some(title) = props.get("TitleToken")
        && !title.as_str().is_some_and(|t| live(&state.title_tokens, t))
    {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "the title token is unknown or expired",
        );
    }
    let relying_party = relying_party.to_owned();
    axum::Json(issue_xsts(&mut state, &relying_party)).into_response()
}

/// `POST /device/authenticate` (signed by the proof key it carries).
pub(super) async fn device_authenticate(
    State(mock): State<SignInMock>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    let json = match xbox_request(&mut state, MockEndpoint::Device, &headers, &body) {
        Ok(json) => json,
        Err(refusal) => return *refusal,
    };
    let props = &json["Properties"];
    if json["RelyingParty"] != "http://auth.xboxlive.com"
        || json["TokenType"] != "JWT"
        || props["AuthMethod"] != "ProofOfPossession"
        || !props["Id"].is_string()
        || !props["DeviceType"].is_string()
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "RelyingParty, TokenType, AuthMethod, Id or DeviceType is wrong",
        );
    }
    let Some((x, y)) = proof_key(&props["ProofKey"]) else {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "ProofKey must be an ES256 P-256 JWK",
        );
    };
    if let Err(reason) = verify_signature(&headers, &path_and_query(&uri), &body, (&x, &y)) {
        return xbox_refusal(StatusCode::UNAUTHORIZED, reason);
    }
    let token = state.next("xasd");
    let not_after = SystemTime::now() + state.lifetimes.user;
    state.device_tokens.insert(token.clone(), (not_after, x, y));
    let did = format!("{:016X}", state.serial);
    axum::Json(token_answer(
        &token,
        not_after,
        json!({"xdi": {"did": did, "dcs": "0"}}),
    ))
    .into_response()
}

/// `POST /authorize` (SISU; signed by the device token's key).
pub(super) async fn sisu_authorize(
    State(mock): State<SignInMock>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = mock.lock();
    if let Some(failure) = state.hit(MockEndpoint::Sisu) {
        return failure_response(failure);
    }
    let Some(json) = json_body(&body) else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let Some(device) = json["DeviceToken"].as_str() else {
        return xbox_refusal(StatusCode::BAD_REQUEST, "DeviceToken is required");
    };
    let Some((not_after, x, y)) = state.device_tokens.get(device).cloned() else {
        return xbox_refusal(StatusCode::UNAUTHORIZED, "the device token is unknown");
    };
    if SystemTime::now() >= not_after {
        return xbox_refusal(StatusCode::UNAUTHORIZED, "the device token has expired");
    }
    if proof_key(&json["ProofKey"]) != Some((x.clone(), y.clone())) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "ProofKey is not the key the device token is bound to",
        );
    }
    if let Err(reason) = verify_signature(&headers, &path_and_query(&uri), &body, (&x, &y)) {
        return xbox_refusal(StatusCode::UNAUTHORIZED, reason);
    }
    if json["Sandbox"] != "RETAIL"
        || json["SiteName"] != "user.auth.xboxlive.com"
        || !json["AppId"].is_string()
    {
        return xbox_refusal(
            StatusCode::BAD_REQUEST,
            "AppId, Sandbox RETAIL and SiteName are required",
        );
    }
    let ticket = json["AccessToken"].as_str().unwrap_or_default();
    if !ticket.starts_with("t=") || !live(&state.access_tokens, strip_ticket(ticket)) {
        return xbox_refusal(
            StatusCode::UNAUTHORIZED,
            "AccessToken must be t=<live access token>",
        );
    }
    let relying_party = json["RelyingParty"]
        .as_str()
        .unwrap_or(XBOXLIVE_RP)
        .to_owned();
    let lifetime = state.lifetimes.user;
    let user = state.next("xasu");
    let title = state.next("xast");
    let expires = SystemTime::now() + lifetime;
    state.user_tokens.insert(user.clone(), expires);
    state.title_tokens.insert(title.clone(), expires);
    let uhs = state.account.user_hash.clone();
    let xsts = issue_xsts(&mut state, &relying_party);
    axum::Json(json!({
        "DeviceToken": device,
        "TitleToken": token_answer(&title, expires, json!({"xti": {"tid": "1016898439"}})),
        "UserToken": token_answer(&user, expires, json!({"xui": [{"uhs": uhs}]})),
        "AuthorizationToken": xsts,
        "WebPage": "https://sisu.xboxlive.com/client/v33/default/view/index.html",
        "Sandbox": "RETAIL",
        "UseModernGamertag": true,
    }))
    .into_response()
}
