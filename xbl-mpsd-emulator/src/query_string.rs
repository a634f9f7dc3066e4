//! The query string of a request as `(name, value)` pairs: the extractor the session, handle and query routes
//! share.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

/// The query string as `(name, value)` pairs, in order, repeated names kept. A query string that cannot be
/// decoded is a 400 with a text body (never axum's default rejection).
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Self(pairs))
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "The query string is invalid: {}",
                    rejection.body_text()
                ))
            })
    }
}
