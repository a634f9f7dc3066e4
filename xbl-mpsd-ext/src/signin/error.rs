//! Sign-in failures, typed by what the user (or the program) must do next. None of them carries a token.

use std::fmt;
use std::path::PathBuf;

/// An Xbox Live auth error code (`X-Err` header or `XErr` body field), with what the user must do.
///
/// Names after XSAPI's `xsapi_utils.cpp` as quoted by MinecraftAuth; meanings from MinecraftAuth's and
/// go-xsapi's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XErr {
    /// `0x8015DC03`: the account is banned from Xbox Live.
    Banned,
    /// `0x8015DC05`: a parent or guardian has turned off online play for this account.
    ParentallyRestricted,
    /// `0x8015DC09`: the Microsoft account has no Xbox profile yet.
    AccountCreationRequired,
    /// `0x8015DC0A`: the Xbox Live terms of use have not been accepted.
    TermsOfUseNotAccepted,
    /// `0x8015DC0B`: Xbox Live is not available in the account's country or region.
    CountryNotAuthorized,
    /// `0x8015DC0C`: the account needs age verification.
    AgeVerificationRequired,
    /// `0x8015DC0D`: the account's screen-time limit (curfew) is reached.
    Curfew,
    /// `0x8015DC0E`: a child account that is not in a Microsoft family.
    ChildNotInFamily,
    /// `0x8015DC13`: the gamertag must be changed.
    NameChangeRequired,
    /// `0x8015DC16`: too many devices of this type are signed in.
    DeviceLimitExceeded,
    /// `0x8015DC1E`: the account is signed in to this title on another device.
    SinglePointOfPresence,
    /// `0x8015DC20`–`0x8015DC25`: a device, title or user token sent was expired or invalid.
    StaleToken(u32),
    /// Any other code.
    Other(u32),
}

impl XErr {
    /// The code as the service sends it (unsigned; the header and the body use decimal).
    pub const fn code(self) -> u32 {
        match self {
            Self::Banned => 0x8015_DC03,
            Self::ParentallyRestricted => 0x8015_DC05,
            Self::AccountCreationRequired => 0x8015_DC09,
            Self::TermsOfUseNotAccepted => 0x8015_DC0A,
            Self::CountryNotAuthorized => 0x8015_DC0B,
            Self::AgeVerificationRequired => 0x8015_DC0C,
            Self::Curfew => 0x8015_DC0D,
            Self::ChildNotInFamily => 0x8015_DC0E,
            Self::NameChangeRequired => 0x8015_DC13,
            Self::DeviceLimitExceeded => 0x8015_DC16,
            Self::SinglePointOfPresence => 0x8015_DC1E,
            Self::StaleToken(code) | Self::Other(code) => code,
        }
    }

    /// The typed code for `code`.
    pub const fn from_code(code: u32) -> Self {
        match code {
            0x8015_DC03 => Self::Banned,
            0x8015_DC05 => Self::ParentallyRestricted,
            0x8015_DC09 => Self::AccountCreationRequired,
            0x8015_DC0A => Self::TermsOfUseNotAccepted,
            0x8015_DC0B => Self::CountryNotAuthorized,
            0x8015_DC0C => Self::AgeVerificationRequired,
            0x8015_DC0D => Self::Curfew,
            0x8015_DC0E => Self::ChildNotInFamily,
            0x8015_DC13 => Self::NameChangeRequired,
            0x8015_DC16 => Self::DeviceLimitExceeded,
            0x8015_DC1E => Self::SinglePointOfPresence,
            0x8015_DC20..=0x8015_DC25 => Self::StaleToken(code),
            other => Self::Other(other),
        }
    }

    /// One sentence: what happened and what the user must do.
    pub const fn advice(self) -> &'static str {
        match self {
            Self::Banned => {
                "this account is banned from Xbox Live; see https://support.xbox.com for enforcement details"
            }
            Self::ParentallyRestricted => {
                "a parent or guardian has turned off online play for this account; they must allow it in the Microsoft family settings"
            }
            Self::AccountCreationRequired => {
                "this Microsoft account has no Xbox profile; create one by signing in once at https://www.xbox.com/live, then sign in again"
            }
            Self::TermsOfUseNotAccepted => {
                "the Xbox Live terms of use have not been accepted; sign in at https://www.xbox.com/live and accept them, then sign in again"
            }
            Self::CountryNotAuthorized => {
                "Xbox Live is not available in this account's country or region"
            }
            Self::AgeVerificationRequired => {
                "this account must verify its age; sign in at https://www.xbox.com/live and complete age verification, then sign in again"
            }
            Self::Curfew => {
                "this account's screen-time limit is reached; try again when the family settings allow it"
            }
            Self::ChildNotInFamily => {
                "this is a child account that is not in a Microsoft family; an adult must add it at https://account.microsoft.com/family, then sign in again"
            }
            Self::NameChangeRequired => {
                "this account must change its gamertag; change it at https://www.xbox.com/live, then sign in again"
            }
            Self::DeviceLimitExceeded => {
                "too many devices of this type are signed in to this account; sign out on another device and try again"
            }
            Self::SinglePointOfPresence => {
                "this account is signed in to the title on another device; sign out there and try again"
            }
            Self::StaleToken(_) => {
                "a token sent to Xbox Live was expired or invalid; sign in again if retrying does not help"
            }
            Self::Other(_) => {
                "Xbox Live refused the sign-in; sign in again, and if it keeps failing check the account at https://www.xbox.com/live"
            }
        }
    }
}

impl fmt::Display for XErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XErr 0x{:08X}: {}", self.code(), self.advice())
    }
}

/// Why the token cache file cannot be used. Never contains file contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// Reading, writing, renaming or removing the file failed.
    #[error("token cache {path}: {source}")]
    Io {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a token cache of this program (or it was damaged); it is left as it is.
    #[error(
        "{path} is not a valid xbl-mpsd token cache ({reason}); it was left untouched: remove it or choose another cache path"
    )]
    Corrupt {
        /// The cache file.
        path: PathBuf,
        /// What is wrong (never the file's contents).
        reason: String,
    },
    /// The file was written by a newer version of this program.
    #[error(
        "token cache {path} has format version {found}; this program reads version {supported}: upgrade it or choose another cache path"
    )]
    UnsupportedVersion {
        /// The cache file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this program writes.
        supported: u64,
    },
    /// There is no home directory to put the default cache in.
    #[error("no configuration directory for the token cache; give a cache path")]
    NoConfigDir,
}

/// Why sign-in or a token refresh failed. Never contains a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// No usable sign-in: none was made, or the refresh token was rejected or is missing.
    #[error("not signed in to Xbox Live ({reason}); sign in again (`xbl-mpsd login`)")]
    SignInRequired {
        /// Why a new sign-in is needed.
        reason: String,
    },
    /// The user did not enter the code in time.
    #[error("the sign-in code expired before it was entered; start the sign-in again")]
    DeviceCodeExpired,
    /// The user declined the sign-in.
    #[error("the sign-in was declined; start it again and approve it to continue")]
    Declined,
    /// The Microsoft account service answered with an OAuth error.
    #[error("the Microsoft account service refused the request: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// The OAuth `error` code, e.g. `invalid_client`.
        error: String,
        /// `error_description`, when given.
        description: Option<String>,
    },
    /// Xbox Live refused a token request with an `XErr` code.
    #[error("Xbox Live refused the {endpoint} request (HTTP {status}, {xerr})")]
    Xbox {
        /// Which request: `user`, `xsts`, `device`, `sisu`.
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// The typed code, with its advice.
        xerr: XErr,
    },
    /// Xbox Live refused a token request without a code (e.g. a plain 401).
    #[error("Xbox Live refused the {endpoint} request with HTTP {status}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Refused {
        /// Which request.
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// The service's `Message`, if any.
        message: Option<String>,
    },
    /// An answer could not be read (not JSON, a missing field, a claim missing).
    #[error("unexpected answer from the {endpoint} endpoint: {reason}")]
    InvalidResponse {
        /// Which request.
        endpoint: &'static str,
        /// What was wrong (never a token).
        reason: String,
    },
    /// The request could not be sent or its answer not received.
    #[error("could not reach the {endpoint} endpoint: {source}")]
    Transport {
        /// Which request.
        endpoint: &'static str,
        /// The HTTP client's error (URLs only, no bodies).
        #[source]
        source: reqwest::Error,
    },
    /// A configured value is unusable (a base URL, a client ID).
    #[error("invalid sign-in configuration: {0}")]
    Config(String),
    /// The token cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl SignInError {
    /// The `XErr` code, when Xbox Live sent one.
    pub fn xerr(&self) -> Option<XErr> {
        match self {
            Self::Xbox { xerr, .. } => Some(*xerr),
            _ => None,
        }
    }

    /// True when only a new interactive sign-in can fix this.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            Self::SignInRequired { .. } | Self::DeviceCodeExpired | Self::Declined
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_advise() {
        for code in [
            0x8015_DC03u32,
            0x8015_DC05,
            0x8015_DC09,
            0x8015_DC0A,
            0x8015_DC0B,
            0x8015_DC0C,
            0x8015_DC0D,
            0x8015_DC0E,
            0x8015_DC13,
            0x8015_DC16,
            0x8015_DC1E,
            0x8015_DC20,
            0x8015_DC25,
            0x1234,
        ] {
            let x = XErr::from_code(code);
            assert_eq!(x.code(), code);
            assert!(!x.advice().is_empty());
        }
        assert_eq!(
            XErr::from_code(2_148_916_233),
            XErr::AccountCreationRequired
        );
        assert_eq!(XErr::from_code(2_148_916_238), XErr::ChildNotInFamily);
        assert!(matches!(XErr::from_code(0x8015_DC22), XErr::StaleToken(_)));
        assert!(
            XErr::AccountCreationRequired
                .to_string()
                .starts_with("XErr 0x8015DC09: this Microsoft account has no Xbox profile")
        );
    }
}
