//! The TLS back-end of the HTTP client, chosen by cargo feature.
//!
//! * `rustls` (default): rustls with the **aws-lc-rs** crypto provider (reqwest's own choice; it builds
//!   AWS-LC, a C library, so it needs a C compiler and, on some targets, CMake/NASM).
//! * `rustls-ring`: rustls with the **ring** crypto provider, for targets where AWS-LC does not build or a
//!   smaller build is wanted. Certificates are verified by the platform verifier in both cases. When both
//!   features are on, `rustls-ring` wins (the provider is set on this client only; no process-wide default
//!   is installed).
//! * neither: no TLS; only `http://` base URLs work (e.g. tests against the local emulator).

use crate::build_error::BuildError;

/// A reqwest client builder with the TLS back-end the features ask for.
#[cfg(feature = "rustls-ring")]
pub(crate) fn client_builder() -> Result<reqwest::ClientBuilder, BuildError> {
    use std::sync::Arc;

    use rustls_platform_verifier::BuilderVerifierExt as _;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| BuildError::Tls(e.to_string()))?
        .with_no_client_auth();
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// A reqwest client builder with the TLS back-end the features ask for.
#[cfg(not(feature = "rustls-ring"))]
pub(crate) fn client_builder() -> Result<reqwest::ClientBuilder, BuildError> {
    Ok(reqwest::Client::builder())
}
