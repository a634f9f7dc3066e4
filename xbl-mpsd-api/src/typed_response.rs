//! [`from_response`]: a typed answer read without copying its headers.
//!
//! progenitor's `ResponseValue::from_response` clones the response's header map before it reads the body.
//! The generated code calls this function instead (`xtask/src/postprocess.rs`), which takes the headers out
//! of the response it owns, and decodes the body with the document's [`FromJson`] (compiled in this crate);
//! the value, the errors and what is read are otherwise the same.

use progenitor_client::{Error, ResponseValue};

use crate::FromJson;

/// Reads the body of `response` whole and decodes it as `T`; the status and headers come with it.
pub(crate) async fn from_response<T: FromJson, E>(
    mut response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let full = response.bytes().await.map_err(Error::ResponseBodyError)?;
    // Matched rather than `?`-ed: the document (a few KiB) goes straight into the value returned.
    match T::from_json(&full) {
        Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
        Err(e) => Err(Error::InvalidResponsePayload(full, e)),
    }
}
