//! The JSON body extractor: maps every body problem to a plain-text 4xx instead of axum's default rejections.

use axum::extract::{FromRequest, Request};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body that must be a JSON object.
#[derive(Debug, Clone)]
pub(crate) struct JsonObject(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        // The body was already read within the emulator's limits (`body_limit`, run by the router's one
        // middleware), so it is taken as it is, without axum's limit layer.
        let bytes = request
            .into_body()
            .collect()
            .await
            .map_err(|error| {
                ApiError::bad_request(format!("The request body could not be read: {error}"))
            })?
            .to_bytes();
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
