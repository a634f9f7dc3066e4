//! Xbox Live request signing: the `Signature` header (ECDSA P-256 over a fixed byte layout) and the
//! proof key whose public half the device and SISU requests carry as a JWK.
//!
//! Layout (xal-rs `request_signer.rs`, go-xsapi `signature.go`, MinecraftAuth `SignedXblPostRequest`):
//! `Signature: base64(version_be_u32 ‖ filetime_be_u64 ‖ r ‖ s)`, where `r ‖ s` is an ES256 signature of
//! the SHA-256 digest of `version 0 filetime 0 METHOD 0 path?query 0 authorization 0 body[..max] 0`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signing policy version the Xbox Live auth hosts use (NSAL policy 0).
pub const POLICY_VERSION: u32 = 1;
/// How much of the body policy 0 signs (xal-rs's captured NSAL table: `MaxBodyBytes` 8192).
pub const MAX_BODY_BYTES: usize = 8192;
/// Windows FILETIME of the Unix epoch (100 ns ticks since 1601-01-01).
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// A Windows FILETIME (100 ns ticks since 1601-01-01 UTC) for `time`; times before 1970 count as 1970.
pub fn filetime(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ticks = since
        .as_secs()
        .saturating_mul(10_000_000)
        .saturating_add(u64::from(since.subsec_nanos() / 100));
    FILETIME_UNIX_EPOCH.saturating_add(ticks)
}

/// The parts of an HTTP request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct SignedParts<'a> {
    /// The HTTP method (uppercased when hashed).
    pub method: &'a str,
    /// Path plus `?query` when there is one; no scheme or host.
    pub path_and_query: &'a str,
    /// The `Authorization` header value, or `""` when the request has none.
    pub authorization: &'a str,
    /// The request body.
    pub body: &'a [u8],
}

/// The SHA-256 digest the signature is made over, for policy `version` at `filetime`.
pub fn digest(version: u32, filetime: u64, parts: &SignedParts<'_>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let body = parts.body.get(..MAX_BODY_BYTES).unwrap_or(parts.body);
    for field in [
        &version.to_be_bytes()[..],
        &filetime.to_be_bytes()[..],
        parts.method.to_ascii_uppercase().as_bytes(),
        parts.path_and_query.as_bytes(),
        parts.authorization.as_bytes(),
        body,
    ] {
        hasher.update(field);
        hasher.update([0u8]);
    }
    hasher.finalize().into()
}

/// The public half of a [`ProofKey`] as the JWK the auth services expect (`ProofKey` in request bodies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `"EC"`.
    pub kty: String,
    /// Always `"ES256"`.
    pub alg: String,
    /// Always `"P-256"`.
    pub crv: String,
    /// The affine x coordinate, 32 bytes, base64url without padding.
    pub x: String,
    /// The affine y coordinate, 32 bytes, base64url without padding.
    pub y: String,
    /// Always `"sig"`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// Why a stored proof key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored device proof key is not a valid P-256 private key")]
pub struct InvalidProofKey;

/// The device's ECDSA P-256 key: signs device, SISU and (optionally) other requests, and is bound to the
/// device token, so it is kept with it. `Debug` never shows the private half.
#[derive(Clone)]
pub struct ProofKey {
    key: SigningKey,
}

impl ProofKey {
    /// A new random key.
    pub fn generate() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            // A random 32-byte string is a valid scalar except with probability ~2^-32.
            if let Ok(key) = Self::from_secret_bytes(&bytes) {
                return key;
            }
        }
    }

    /// The key with private scalar `bytes` (32 bytes, big-endian).
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, InvalidProofKey> {
        SigningKey::from_slice(bytes)
            .map(|key| Self { key })
            .map_err(|_| InvalidProofKey)
    }

    /// The private scalar (32 bytes, big-endian). A secret: store it only in the token cache.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Jwk {
        let point = self.key.verifying_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| {
            URL_SAFE_NO_PAD.encode(c.map(|c| &c[..]).unwrap_or_default())
        };
        Jwk {
            kty: "EC".to_owned(),
            alg: "ES256".to_owned(),
            crv: "P-256".to_owned(),
            x: coordinate(point.x()),
            y: coordinate(point.y()),
            use_: "sig".to_owned(),
        }
    }

    /// The `Signature` header value for a request sent at `time`.
    pub fn sign(&self, parts: &SignedParts<'_>, time: SystemTime) -> String {
        self.sign_at_filetime(parts, filetime(time))
    }

    /// The `Signature` header value for a request with timestamp `filetime`.
    pub fn sign_at_filetime(&self, parts: &SignedParts<'_>, filetime: u64) -> String {
        let hash = digest(POLICY_VERSION, filetime, parts);
        let mut bytes = Vec::with_capacity(76);
        bytes.extend_from_slice(&POLICY_VERSION.to_be_bytes());
        bytes.extend_from_slice(&filetime.to_be_bytes());
        // Signing a 32-byte prehash with a valid key cannot fail (the only error is a short digest).
        match PrehashSigner::<Signature>::sign_prehash(&self.key, &hash) {
            Ok(signature) => bytes.extend_from_slice(&signature.to_bytes()),
            Err(_) => bytes.extend_from_slice(&[0u8; 64]),
        }
        STANDARD.encode(bytes)
    }
}

impl fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofKey")
            .field("public", &self.jwk())
            .field("private", &format_args!("<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use std::time::Duration;

    /// The timestamp of xal-rs's test vectors.
    const XAL_TIME: u64 = 1_586_999_965;

    fn key_from_sec1_der(der_b64: &str) -> ProofKey {
        // SEC1 `ECPrivateKey` for P-256: 30 77 02 01 01 04 20 <32-byte scalar> …
        let der = STANDARD.decode(der_b64).unwrap();
        assert_eq!(&der[..7], &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
        ProofKey::from_secret_bytes(&der[7..39]).unwrap()
    }

    fn verify(key: &VerifyingKey, header: &str, parts: &SignedParts<'_>) -> bool {
        let bytes = STANDARD.decode(header).unwrap();
        assert_eq!(bytes.len(), 76);
        let version = u32::from_be_bytes(bytes[..4].try_into().unwrap());
        let filetime = u64::from_be_bytes(bytes[4..12].try_into().unwrap());
        let signature = Signature::from_slice(&bytes[12..]).unwrap();
        key.verify_prehash(&digest(version, filetime, parts), &signature)
            .is_ok()
    }

    #[test]
    fn filetime_known_answer() {
        // 2020-04-16T01:19:25Z.
        let t = UNIX_EPOCH + Duration::from_secs(XAL_TIME);
        assert_eq!(filetime(t), 132_314_735_650_000_000);
        assert_eq!(filetime(UNIX_EPOCH), FILETIME_UNIX_EPOCH);
        assert_eq!(
            filetime(t + Duration::from_nanos(250)),
            132_314_735_650_000_002
        );
    }

    /// xal-rs `request_signer.rs` test `prehashed_data`.
    #[test]
    fn digest_known_answer() {
        let parts = SignedParts {
            method: "post",
            path_and_query: "/path?query=1",
            authorization: "XBL3.0 x=userid;jsonwebtoken",
            body: b"thebodygoeshere",
        };
        let t = filetime(UNIX_EPOCH + Duration::from_secs(XAL_TIME));
        let hex: String = digest(1, t, &parts)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "f7d61b6f8d4dcd86da1aa8553f0ee7c15450811e7cd2759364e22f67d853ff50"
        );
    }

    /// xal-rs `request_signer.rs` test `verify_real_request`: a device/authenticate request captured from the
    /// real service. Checks the JWK encoding (the body's `ProofKey` is this key's public half) and that a
    /// verifier built on [`digest`] accepts the service-accepted signature.
    #[test]
    fn real_request_known_answer() {
        let key = key_from_sec1_der(
            "MHcCAQEEIGIVtz0AIm4o6el+9VLmuGuOSqBx6UGWlCHn/oD3ljrtoAoGCCqGSM49AwEHoUQDQgAEGJS1AAhiPYw0ZSQJDCF8kcZkKAc2tRWXAN6Yw+o/hMRQBAkdRz/JUiFRCAi+gQPeS3QkPP8byOBfKz9dHaz5dw==",
        );
        let jwk = key.jwk();
        assert_eq!(jwk.x, "GJS1AAhiPYw0ZSQJDCF8kcZkKAc2tRWXAN6Yw-o_hMQ");
        assert_eq!(jwk.y, "UAQJHUc_yVIhUQgIvoED3kt0JDz_G8jgXys_XR2s-Xc");
        let body = br#"{"RelyingParty":"http://auth.xboxlive.com","TokenType":"JWT","Properties":{"AuthMethod":"ProofOfPossession","Id":"{e51d4344-196a-4550-9e27-f6c5006a9949}","DeviceType":"Android","Version":"8.0.0","ProofKey":{"kty":"EC","alg":"ES256","crv":"P-256","x":"GJS1AAhiPYw0ZSQJDCF8kcZkKAc2tRWXAN6Yw-o_hMQ","y":"UAQJHUc_yVIhUQgIvoED3kt0JDz_G8jgXys_XR2s-Xc","use":"sig"}}}"#;
        let parts = SignedParts {
            method: "POST",
            path_and_query: "/device/authenticate",
            authorization: "",
            body,
        };
        let header = "AAAAAQHY4xgs5DyIujFG5E5MZ4D1xjd9Up+H4AKLoyBHd95MAUZcabUN//Y/gijed4vvKtlfp4Cd4dJzVhpK0m+sYZcYRqQjBEKAZw==";
        assert!(verify(key.key.verifying_key(), header, &parts));
        // One changed byte of the body breaks it.
        let mut tampered = body.to_vec();
        tampered[20] ^= 1;
        let tampered = SignedParts {
            body: &tampered,
            ..parts
        };
        assert!(!verify(key.key.verifying_key(), header, &tampered));
    }

    /// xal-rs test `sign`: sign with its fixed key at its timestamp, then verify; plus the header layout.
    #[test]
    fn sign_then_verify_and_layout() {
        let key = key_from_sec1_der(
            "MHcCAQEEIObr5IVtB+DQcn25+R9n4K/EyUUSbVvxIJY7WhVeELUuoAoGCCqGSM49AwEHoUQDQgAEOKyCQ9qH5U4lZcS0c5/LxIyKvOpKe0l3x4Eg5OgDbzezKNLRgT28fd4Fq3rU/1OQKmx6jSq0vTB5Ao/48m0iGg==",
        );
        let parts = SignedParts {
            method: "POST",
            path_and_query: "/path?query=1",
            authorization: "XBL3.0 x=userid;jsonwebtoken",
            body: b"thebodygoeshere",
        };
        let t = UNIX_EPOCH + Duration::from_secs(XAL_TIME);
        let header = key.sign(&parts, t);
        let bytes = STANDARD.decode(&header).unwrap();
        assert_eq!(&bytes[..4], &[0, 0, 0, 1]);
        assert_eq!(&bytes[4..12], &filetime(t).to_be_bytes());
        assert!(verify(key.key.verifying_key(), &header, &parts));
        // RFC 6979: the same input signs the same way.
        assert_eq!(header, key.sign(&parts, t));
        // Only the first MAX_BODY_BYTES are covered.
        let long = vec![b'a'; MAX_BODY_BYTES + 10];
        let mut longer = long.clone();
        longer.push(b'b');
        let a = SignedParts {
            body: &long,
            ..parts
        };
        let b = SignedParts {
            body: &longer,
            ..parts
        };
        assert_eq!(digest(1, 7, &a), digest(1, 7, &b));
    }

    #[test]
    fn keys_round_trip_and_debug_hides_the_secret() {
        let key = ProofKey::generate();
        let again = ProofKey::from_secret_bytes(&key.secret_bytes()).unwrap();
        assert_eq!(key.jwk(), again.jwk());
        let secret_b64 = STANDARD.encode(key.secret_bytes());
        assert!(!format!("{key:?}").contains(&secret_b64));
        assert!(format!("{key:?}").contains("<redacted>"));
        assert_eq!(
            ProofKey::from_secret_bytes(&[0u8; 32]).unwrap_err(),
            InvalidProofKey
        );
        assert!(ProofKey::from_secret_bytes(&[1u8; 5]).is_err());
    }
}
