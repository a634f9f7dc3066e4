//! The JSON body extractor: maps every body problem to a plain-text 4xx instead of axum's default rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body that must be a JSON object.
#[derive(Debug, Clone)]
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                // Chiefly 413 when the body is over the limit; the status comes from axum.
                ApiError::Text(rejection.status().as_u16(), rejection.body_text())
            })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "The request body is empty; a JSON object is required",
            ));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::bad_request(
                "The request body must be a JSON object",
            )),
            Err(error) => Err(ApiError::bad_request(format!(
                "The request body is not valid JSON: {error}"
            ))),
        }
    }
}
