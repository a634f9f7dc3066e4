//! Why an [`MpsdClient`](crate::MpsdClient) could not be built: shared by the client builder and the TLS
//! back-end that builder uses.

use crate::contract::UnknownContractVersion;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an absolute `http`/`https` URL without credentials, query or fragment.
    #[error("invalid base URL {input:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given, with any user name and password replaced by `***`.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// The contract version is not one MPSD knows.
    #[error(transparent)]
    UnknownContractVersion(#[from] UnknownContractVersion),
    /// A header value (user agent, language) is not valid HTTP.
    #[error("invalid {name} header value: {value:?}")]
    InvalidHeader {
        /// The header.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// The HTTP client could not be created (TLS back-end).
    #[error("the HTTP client could not be created: {0}")]
    Http(#[source] reqwest::Error),
    /// The TLS configuration could not be built (feature `rustls-ring`: no usable root certificates).
    #[error("the TLS configuration could not be built: {0}")]
    Tls(String),
}
