//! Caller identity and contract version: the `Authorization` and `X-Xbl-Contract-Version` headers.
//!
//! In the emulator the XBL3.0 token is simply the caller's decimal XUID: `XBL3.0 x=<userhash>;<xuid>`, or an
//! XSTS token issued by the sign-in mock (`XBL3.0 x=<uhs>;<token>`), which stands for its user.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::{ApiError, ApiResult};
use crate::model::parse_xuid;
use crate::signin_mock::SignInMock;

/// The lowest contract version MPSD accepts.
pub(crate) const MIN_CONTRACT_VERSION: u32 = 104;
/// The contract version header.
const CONTRACT_VERSION_HEADER: &str = "x-xbl-contract-version";
/// What a valid `Authorization` header looks like, for error messages.
const EXPECTED: &str =
    "expected 'Authorization: XBL3.0 x=<userhash>;<xuid>', e.g. 'XBL3.0 x=-;2533274792693551'";

/// The authenticated caller of a request and the contract version it speaks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    /// The caller's XUID (`me`).
    pub(crate) xuid: u64,
    /// `X-Xbl-Contract-Version`.
    pub(crate) contract_version: u32,
}

/// Reads the caller's XUID from an `Authorization` value (the XUID-token shortcut only; the RTA endpoint
/// uses it).
#[cfg(test)]
pub(crate) fn parse_authorization(value: &str) -> ApiResult<u64> {
    parse_authorization_with(value, None)
}

/// Reads the caller's XUID from an `Authorization` value, looking the token up in `sign_in`'s issued
/// XSTS tokens first.
pub(crate) fn parse_authorization_with(
    value: &str,
    sign_in: Option<&SignInMock>,
) -> ApiResult<u64> {
    let value = value.trim();
    let rest = value
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("XBL3.0"))
        .and_then(|_| value.get(6..))
        .ok_or_else(|| {
            ApiError::unauthorized(format!("Authorization scheme must be XBL3.0; {EXPECTED}"))
        })?;
    let claims = rest.trim_start().strip_prefix("x=").ok_or_else(|| {
        ApiError::unauthorized(format!("Authorization is missing 'x='; {EXPECTED}"))
    })?;
    let (hash, token) = claims.split_once(';').ok_or_else(|| {
        ApiError::unauthorized(format!(
            "Authorization is missing ';' between user hash and token; {EXPECTED}"
        ))
    })?;
    if hash.is_empty() {
        return Err(ApiError::unauthorized(format!(
            "Authorization user hash is empty (use '-'); {EXPECTED}"
        )));
    }
    if let Some(found) = sign_in.and_then(|mock| mock.caller(hash, token.trim())) {
        return found.map_err(|why| ApiError::unauthorized(format!("{why}; sign in again")));
    }
    parse_xuid(token.trim()).ok_or_else(|| {
        ApiError::unauthorized(format!(
            "Authorization token must be the caller's decimal XUID or an XSTS token from the emulator's sign-in mock; {EXPECTED}"
        ))
    })
}

/// Reads and checks `X-Xbl-Contract-Version`.
pub(crate) fn parse_contract_version(headers: &HeaderMap) -> ApiResult<u32> {
    let value = headers.get(CONTRACT_VERSION_HEADER).ok_or_else(|| {
        ApiError::bad_request("The X-Xbl-Contract-Version header is required (use 107)")
    })?;
    let version = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            ApiError::bad_request("X-Xbl-Contract-Version must be a decimal number (use 107)")
        })?;
    if version < MIN_CONTRACT_VERSION || i32::try_from(version).is_err() {
        return Err(ApiError::bad_request(format!(
            "X-Xbl-Contract-Version {version} is not supported; it must be {MIN_CONTRACT_VERSION} or later, at most {} (use 107)",
            i32::MAX
        )));
    }
    Ok(version)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized(format!("The Authorization header is missing; {EXPECTED}"))
        })?;
        let text = header.to_str().map_err(|_| {
            ApiError::unauthorized(format!("Authorization is not ASCII text; {EXPECTED}"))
        })?;
        let xuid = parse_authorization_with(text, parts.extensions.get::<SignInMock>())?;
        let contract_version = parse_contract_version(&parts.headers)?;
        Ok(Self {
            xuid,
            contract_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_and_rejects_invalid_authorization() {
        assert_eq!(
            parse_authorization("XBL3.0 x=-;2533274792693551").ok(),
            Some(2533274792693551)
        );
        assert_eq!(parse_authorization("xbl3.0 x=abc;42").ok(), Some(42));
        for bad in [
            "",
            "Bearer x",
            "XBL3.0 y=-;1",
            "XBL3.0 x=-1",
            "XBL3.0 x=;1",
            "XBL3.0 x=-;abc",
            "XBL3.0 x=-;0",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }
}
