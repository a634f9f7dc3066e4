//! The HTTP exchanges: the Microsoft account OAuth form posts and the Xbox Live token requests.
//!
//! A small typed client rather than the `oauth2` crate: oauth2 5.0 builds on reqwest 0.12 (a second HTTP
//! stack next to the project's 0.13), and login.live.com's device flow needs its own field
//! (`response_type=device_code`) and answers with fields the RFC does not have (`user_id`).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::cache::{XToken, XstsCredentials};
use super::config::{Endpoints, SignInConfig};
use super::error::{SignInError, XErr};
use super::signing::{ProofKey, SignedParts};

/// The largest answer read from a sign-in endpoint.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// The RFC 8628 device-code grant type (login.live.com also accepts `device_code`).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An HTTP answer: status, `X-Err`, body.
pub(crate) struct Answer {
    pub status: u16,
    pub x_err: Option<u32>,
    pub body: Vec<u8>,
}

async fn read(endpoint: &'static str, response: reqwest::Response) -> Result<Answer, SignInError> {
    let status = response.status().as_u16();
    let x_err = response
        .headers()
        .get("x-err")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| SignInError::Transport { endpoint, source })?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(SignInError::InvalidResponse {
                endpoint,
                reason: format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        x_err,
        body,
    })
}

fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, SignInError> {
    serde_json::from_slice(body).map_err(|e| SignInError::InvalidResponse {
        endpoint,
        // Position and expected type only; serde_json never quotes string values it could not use.
        reason: format!("HTTP 200 with an unreadable body: {e}"),
    })
}

/// Posts a form to the Microsoft account service.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    endpoint: &'static str,
    base: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Result<Answer, SignInError> {
    let url = Endpoints::url(base, path)?;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let response = http
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|source| SignInError::Transport {
            endpoint,
            source: source.without_url(),
        })?;
    read(endpoint, response).await
}

/// An OAuth error body.
#[derive(Deserialize)]
pub(crate) struct OAuthError {
    pub error: String,
    pub error_description: Option<String>,
}

/// The OAuth error in `answer`, or an "unexpected answer" error.
pub(crate) fn oauth_error(
    endpoint: &'static str,
    answer: &Answer,
) -> Result<OAuthError, SignInError> {
    serde_json::from_slice::<OAuthError>(&answer.body).map_err(|_| SignInError::InvalidResponse {
        endpoint,
        reason: format!("HTTP {} without an OAuth error body", answer.status),
    })
}

/// The answer to a device authorization request.
#[derive(Deserialize)]
pub(crate) struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: Option<u64>,
}

/// A successful token answer.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
}

pub(crate) fn parse<T: DeserializeOwned>(
    endpoint: &'static str,
    answer: &Answer,
) -> Result<T, SignInError> {
    decode(endpoint, &answer.body)
}

/// A token answer of the Xbox auth services.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XTokenAnswer {
    not_after: DateTime<Utc>,
    token: String,
    #[serde(default)]
    display_claims: DisplayClaims,
}

#[derive(Deserialize, Default)]
struct DisplayClaims {
    #[serde(default)]
    xui: Vec<Xui>,
}

#[derive(Deserialize)]
struct Xui {
    uhs: Option<String>,
    xid: Option<String>,
    gtg: Option<String>,
    agg: Option<String>,
    prv: Option<String>,
}

impl XTokenAnswer {
    fn token(self) -> XToken {
        XToken {
            token: self.token,
            not_after: self.not_after,
        }
    }

    fn xsts(self, endpoint: &'static str) -> Result<XstsCredentials, SignInError> {
        let mut claims = self.display_claims.xui.into_iter();
        let first = claims.next().ok_or_else(|| SignInError::InvalidResponse {
            endpoint,
            reason: "the XSTS token has no user claims (DisplayClaims.xui)".to_owned(),
        })?;
        let user_hash =
            first
                .uhs
                .filter(|u| !u.is_empty())
                .ok_or_else(|| SignInError::InvalidResponse {
                    endpoint,
                    reason: "the XSTS token has no user hash (DisplayClaims.xui[0].uhs)".to_owned(),
                })?;
        if let Some(xid) = &first.xid
            && xid.parse::<crate::Xuid>().is_err()
        {
            return Err(SignInError::InvalidResponse {
                endpoint,
                reason: format!("the XSTS token's XUID claim {xid:?} is not a XUID"),
            });
        }
        Ok(XstsCredentials {
            token: XToken {
                token: self.token,
                not_after: self.not_after,
            },
            user_hash,
            xuid: first.xid,
            gamertag: first.gtg,
            age_group: first.agg,
            privileges: first.prv,
        })
    }
}

/// The error for a non-2xx answer of an Xbox auth endpoint.
fn xbox_error(endpoint: &'static str, answer: &Answer) -> SignInError {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body {
        #[serde(rename = "XErr")]
        x_err: Option<u64>,
        message: Option<String>,
    }
    let body = serde_json::from_slice::<Body>(&answer.body).ok();
    let code = answer.x_err.or_else(|| {
        body.as_ref()
            .and_then(|b| b.x_err)
            .and_then(|c| u32::try_from(c).ok())
    });
    match code {
        Some(code) => SignInError::Xbox {
            endpoint,
            status: answer.status,
            xerr: XErr::from_code(code),
        },
        None => SignInError::Refused {
            endpoint,
            status: answer.status,
            message: body.and_then(|b| b.message).filter(|m| !m.is_empty()),
        },
    }
}

/// Posts an Xbox auth request (contract version 1), signed with `signer` when given.
async fn post_xbox(
    http: &reqwest::Client,
    endpoint: &'static str,
    base: &str,
    path: &str,
    body: &Value,
    signer: Option<(&ProofKey, SystemTime)>,
) -> Result<Answer, SignInError> {
    let url = Endpoints::url(base, path)?;
    let bytes = serde_json::to_vec(body).map_err(|e| SignInError::Config(e.to_string()))?;
    let mut request = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .header("x-xbl-contract-version", "1");
    if let Some((key, now)) = signer {
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let signature = key.sign(
            &SignedParts {
                method: "POST",
                path_and_query: &path_and_query,
                authorization: "",
                body: &bytes,
            },
            now,
        );
        let value =
            HeaderValue::from_str(&signature).map_err(|e| SignInError::Config(e.to_string()))?;
        request = request.header("Signature", value);
    }
    let response = request
        .body(bytes)
        .send()
        .await
        .map_err(|source| SignInError::Transport {
            endpoint,
            source: source.without_url(),
        })?;
    let answer = read(endpoint, response).await?;
    if !(200..300).contains(&answer.status) {
        return Err(xbox_error(endpoint, &answer));
    }
    Ok(answer)
}

/// `POST /user/authenticate`: the user token for a Microsoft account access token.
pub(crate) async fn user_token(
    http: &reqwest::Client,
    config: &SignInConfig,
    access_token: &str,
) -> Result<XToken, SignInError> {
    let prefix = config.ticket_prefix.for_client(&config.client_id);
    let body = json!({
        "RelyingParty": "http://auth.xboxlive.com",
        "TokenType": "JWT",
        "Properties": {
            "AuthMethod": "RPS",
            "SiteName": "user.auth.xboxlive.com",
            "RpsTicket": format!("{prefix}{access_token}"),
        },
    });
    let answer = post_xbox(
        http,
        "user",
        &config.endpoints.user,
        "/user/authenticate",
        &body,
        None,
    )
    .await?;
    Ok(parse::<XTokenAnswer>("user", &answer)?.token())
}

/// `POST /xsts/authorize`: the XSTS token for the configured relying party.
pub(crate) async fn xsts_token(
    http: &reqwest::Client,
    config: &SignInConfig,
    user_token: &str,
    device_token: Option<&str>,
    title_token: Option<&str>,
) -> Result<XstsCredentials, SignInError> {
    let mut properties = json!({
        "SandboxId": config.sandbox,
        "UserTokens": [user_token],
    });
    if let Some(device) = device_token {
        properties["DeviceToken"] = json!(device);
    }
    if let Some(title) = title_token {
        properties["TitleToken"] = json!(title);
    }
    let body = json!({
        "RelyingParty": config.relying_party,
        "TokenType": "JWT",
        "Properties": properties,
    });
    let answer = post_xbox(
        http,
        "xsts",
        &config.endpoints.xsts,
        "/xsts/authorize",
        &body,
        None,
    )
    .await?;
    parse::<XTokenAnswer>("xsts", &answer)?.xsts("xsts")
}

/// `POST /device/authenticate` (signed): a device token bound to `key`.
pub(crate) async fn device_token(
    http: &reqwest::Client,
    config: &SignInConfig,
    key: &ProofKey,
    now: SystemTime,
) -> Result<XToken, SignInError> {
    let title = config.title.clone().unwrap_or_default();
    let id = uuid::Uuid::new_v4();
    let id = match title.device_type.as_str() {
        "iOS" => id.hyphenated().to_string().to_uppercase(),
        "Win32" | "Xbox" => format!("{{{}}}", id.hyphenated().to_string().to_uppercase()),
        _ => format!("{{{}}}", id.hyphenated()),
    };
    let body = json!({
        "RelyingParty": "http://auth.xboxlive.com",
        "TokenType": "JWT",
        "Properties": {
            "AuthMethod": "ProofOfPossession",
            "Id": id,
            "DeviceType": title.device_type,
            "Version": title.device_version,
            "ProofKey": key.jwk(),
        },
    });
    let answer = post_xbox(
        http,
        "device",
        &config.endpoints.device,
        "/device/authenticate",
        &body,
        Some((key, now)),
    )
    .await?;
    Ok(parse::<XTokenAnswer>("device", &answer)?.token())
}

/// What SISU authorize returns.
pub(crate) struct SisuTokens {
    pub user: XToken,
    pub title: XToken,
    pub xsts: XstsCredentials,
}

/// `POST /authorize` on SISU (signed): user, title and XSTS tokens in one call.
pub(crate) async fn sisu_authorize(
    http: &reqwest::Client,
    config: &SignInConfig,
    access_token: &str,
    device_token: &str,
    key: &ProofKey,
    now: SystemTime,
) -> Result<SisuTokens, SignInError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Sisu {
        user_token: XTokenAnswer,
        title_token: XTokenAnswer,
        authorization_token: XTokenAnswer,
    }
    let prefix = config.ticket_prefix.for_client(&config.client_id);
    let body = json!({
        "AccessToken": format!("{prefix}{access_token}"),
        "AppId": config.client_id,
        "DeviceToken": device_token,
        "Sandbox": config.sandbox,
        "SiteName": "user.auth.xboxlive.com",
        "UseModernGamertag": true,
        "RelyingParty": config.relying_party,
        "ProofKey": key.jwk(),
    });
    let answer = post_xbox(
        http,
        "sisu",
        &config.endpoints.sisu,
        "/authorize",
        &body,
        Some((key, now)),
    )
    .await?;
    let sisu: Sisu = parse("sisu", &answer)?;
    Ok(SisuTokens {
        user: sisu.user_token.token(),
        title: sisu.title_token.token(),
        xsts: sisu.authorization_token.xsts("sisu")?,
    })
}

/// `expires_in` seconds after `now`, saturating.
pub(crate) fn expiry(now: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    let seconds = i64::try_from(seconds.min(10 * 365 * 24 * 3600)).unwrap_or(0);
    now.checked_add_signed(chrono::TimeDelta::seconds(seconds))
        .unwrap_or(now)
}

/// A duration of `seconds`, bounded to a sane polling interval.
pub(crate) fn interval(seconds: Option<u64>) -> Duration {
    Duration::from_secs(seconds.unwrap_or(5).min(300))
}
