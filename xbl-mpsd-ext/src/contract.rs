//! The `x-xbl-contract-version` request header.

use std::{fmt, str::FromStr};

use reqwest::header::HeaderValue;

/// Name of the contract version header.
pub const HEADER: &str = "x-xbl-contract-version";

/// An MPSD contract version (`100 × session major + protocol minor`).
///
/// The default is 107, which XSAPI and every known client send.
///
/// ```
/// use xbl_mpsd_ext::contract::{ContractVersion, HEADER};
///
/// let v = ContractVersion::default();
/// assert_eq!(v, ContractVersion::V107);
/// assert_eq!((HEADER, v.header_value()), ("x-xbl-contract-version", "107".parse()?));
/// assert_eq!(ContractVersion::try_from(105)?, ContractVersion::V105);
/// assert_eq!(
///     "106".parse::<ContractVersion>().unwrap_err().to_string(),
///     r#"unknown x-xbl-contract-version "106"; known values are 104, 105, 107"#,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[non_exhaustive]
pub enum ContractVersion {
    /// 104: the documented minimum.
    V104,
    /// 105: identical to 104.
    V105,
    /// 107: renamed `memberInitialization`, flattened timeouts; what XSAPI sends.
    #[default]
    V107,
}

impl ContractVersion {
    /// Every known version, ascending.
    pub const ALL: [Self; 3] = [Self::V104, Self::V105, Self::V107];

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::V104 => 104,
            Self::V105 => 105,
            Self::V107 => 107,
        }
    }

    /// The header value as text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V104 => "104",
            Self::V105 => "105",
            Self::V107 => "107",
        }
    }

    /// The header value.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }
}

/// A contract version this crate does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown x-xbl-contract-version {input:?}; known values are {}",
    known_values()
)]
#[non_exhaustive]
pub struct UnknownContractVersion {
    /// The offending input.
    pub input: String,
}

/// `104, 105, 107`: the known values, from [`ContractVersion::ALL`].
fn known_values() -> String {
    ContractVersion::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl TryFrom<u16> for ContractVersion {
    type Error = UnknownContractVersion;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_u16() == value)
            .ok_or_else(|| UnknownContractVersion {
                input: value.to_string(),
            })
    }
}

impl FromStr for ContractVersion {
    type Err = UnknownContractVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownContractVersion {
                input: s.to_owned(),
            })
    }
}

impl From<ContractVersion> for u16 {
    fn from(value: ContractVersion) -> Self {
        value.as_u16()
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for v in ContractVersion::ALL {
            assert_eq!(ContractVersion::try_from(v.as_u16()), Ok(v));
            assert_eq!(v.to_string().parse(), Ok(v));
            assert_eq!(v.header_value().to_str().ok(), Some(v.as_str()));
            assert_eq!(v.as_str(), v.as_u16().to_string());
        }
    }

    #[test]
    fn unknown_values_list_known_ones() {
        for bad in ["", "1", "106", " 107", "107 ", "+107"] {
            let err = bad.parse::<ContractVersion>().unwrap_err();
            assert_eq!(err, UnknownContractVersion { input: bad.into() });
            assert!(err.to_string().ends_with("known values are 104, 105, 107"));
        }
        assert_eq!(
            ContractVersion::try_from(1),
            Err(UnknownContractVersion { input: "1".into() })
        );
        // The message is derived from ALL: keep them in sync.
        let listed = ContractVersion::ALL.map(|v| v.as_str()).join(", ");
        assert!(
            UnknownContractVersion {
                input: String::new()
            }
            .to_string()
            .ends_with(&listed)
        );
    }

    #[test]
    fn default_is_107() {
        assert_eq!(ContractVersion::default().as_u16(), 107);
    }
}
