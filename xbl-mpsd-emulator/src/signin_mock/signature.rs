//! The checks of signed requests: the body's `ProofKey` and the `Signature` header (ECDSA P-256 over the
//! timestamp, method, path and query, authorization and body; timestamp within five minutes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::EncodedPoint;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Windows FILETIME of the Unix epoch.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// How far a signature's timestamp may be from the mock's clock.
const SIGNATURE_SKEW: Duration = Duration::from_secs(300);

/// Body bytes covered by the signature (policy 0).
const MAX_SIGNED_BODY: usize = 8192;

/// The `(x, y)` of a `ProofKey` JWK, checked.
pub(super) fn proof_key(jwk: &Value) -> Option<(String, String)> {
    let ok =
        jwk["kty"] == "EC" && jwk["alg"] == "ES256" && jwk["crv"] == "P-256" && jwk["use"] == "sig";
    ok.then(|| Some((jwk["x"].as_str()?.to_owned(), jwk["y"].as_str()?.to_owned())))
        .flatten()
}

/// Verifies the `Signature` header of a request by key `(x, y)`; the reason when it does not verify.
pub(super) fn verify_signature(
    headers: &HeaderMap,
    path_and_query: &str,
    body: &[u8],
    (x, y): (&str, &str),
) -> Result<(), &'static str> {
    let header = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("the Signature header is missing")?;
    let bytes = STANDARD
        .decode(header)
        .map_err(|_| "the Signature header is not base64")?;
    if bytes.len() != 76 {
        return Err("the Signature header is not 76 bytes");
    }
    let (version, rest) = bytes.split_at(4);
    let (filetime, signature) = rest.split_at(8);
    if version != [0, 0, 0, 1] {
        return Err("the signature policy version must be 1");
    }
    let ticks = u64::from_be_bytes(filetime.try_into().map_err(|_| "bad timestamp")?);
    let signed_at = UNIX_EPOCH
        + Duration::from_nanos(
            ticks
                .saturating_sub(FILETIME_UNIX_EPOCH)
                .saturating_mul(100),
        );
    let now = SystemTime::now();
    let skew = now
        .duration_since(signed_at)
        .or_else(|_| signed_at.duration_since(now))
        .unwrap_or(Duration::MAX);
    if skew > SIGNATURE_SKEW {
        return Err("the signature timestamp is more than five minutes off");
    }
    let coordinate = |c: &str| {
        URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(p256::FieldBytes::from)
    };
    let (Some(x), Some(y)) = (coordinate(x), coordinate(y)) else {
        return Err("the proof key coordinates are not 32 bytes of base64url");
    };
    let point = EncodedPoint::from_affine_coordinates(&x, &y, false);
    let key = VerifyingKey::from_encoded_point(&point)
        .map_err(|_| "the proof key is not a P-256 point")?;
    let signature = Signature::from_slice(signature).map_err(|_| "the signature is malformed")?;
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        version,
        filetime,
        b"POST".as_slice(),
        path_and_query.as_bytes(),
        authorization.as_bytes(),
        body.get(..MAX_SIGNED_BODY).unwrap_or(body),
    ] {
        hasher.update(part);
        hasher.update([0u8]);
    }
    key.verify_prehash(&hasher.finalize(), &signature)
        .map_err(|_| "the signature does not verify")
}

pub(super) fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}
