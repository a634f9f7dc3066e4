//! Turning the generated client's results into sessions, outcomes and errors.
//!
//! The generated client types only the 2xx answers with a JSON body (see `xtask/src/transform.rs`); every
//! other answer — 204, 304, 412, text errors — arrives as `Error::UnexpectedResponse` with the raw
//! response, and is decoded here. Session reads and writes take every answer raw (`send_untyped`) and
//! decode a session document straight into its boxed [`Session`] ([`session_answer`]).

use progenitor_client::{Error as ApiError, ResponseValue};
use reqwest::{Response, header::HeaderMap};
use xbl_mpsd_api::types::MultiplayerSession;
use xbl_mpsd_api::{AUTHORIZATION_FAILED, FromJson};

use crate::error::{Error, MAX_MESSAGE_BYTES, message_text};
use crate::session::Session;
use crate::session_ref::SessionReference;

/// A generated call's answer: typed, or raw for the statuses the generated client does not type.
pub(crate) enum Answer<T> {
    /// Boxed: a typed document is a few KiB, and the answer is moved through several layers.
    Typed(Box<ResponseValue<T>>),
    Raw(Response),
}

/// Splits a generated call's result into an [`Answer`] or a final [`Error`].
pub(crate) fn answer<T, E>(
    result: Result<ResponseValue<T>, ApiError<E>>,
) -> Result<Answer<T>, Error> {
    match result {
        Ok(value) => Ok(Answer::Typed(Box::new(value))),
        Err(ApiError::UnexpectedResponse(response)) => Ok(Answer::Raw(response)),
        Err(other) => Err(api_error(other)),
    }
}

/// Maps the generated client's error variants (an `UnexpectedResponse` — a status it does not type — is a
/// service error here; [`answer`] keeps it raw instead).
pub(crate) fn api_error<E>(error: ApiError<E>) -> Error {
    match error {
        ApiError::InvalidRequest(message) => Error::InvalidRequest(message),
        ApiError::CommunicationError(e) | ApiError::ResponseBodyError(e) => Error::transport(e),
        ApiError::InvalidResponsePayload(bytes, e) => Error::InvalidResponse {
            status: None,
            reason: format!("the body does not match the spec: {e}"),
            body: message_text(&bytes),
        },
        ApiError::Custom(message) => match message.strip_prefix(AUTHORIZATION_FAILED) {
            Some(reason) => Error::Authorization(reason.to_owned()),
            None => Error::InvalidRequest(message),
        },
        ApiError::ErrorResponse(value) => {
            Error::from_status(value.status(), value.headers(), String::new(), false)
        }
        ApiError::UnexpectedResponse(response) => Error::Service {
            status: response.status(),
            message: String::new(),
        },
        ApiError::InvalidUpgrade(e) => Error::Transport(e),
    }
}

/// Reads at most `limit` bytes of a body; the rest is not read. (Every body is also capped by the
/// client's `max_response_bytes` in the api crate's `exec` hook: past it the read fails with
/// [`Error::ResponseTooLarge`].)
async fn read_body(response: &mut Response, limit: usize) -> Result<(Vec<u8>, bool), Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Error::transport)? {
        let room = limit.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The error for a raw non-success answer, with the service's text message.
pub(crate) async fn error_from(mut response: Response, by_handle: bool) -> Error {
    let status = response.status();
    let headers = response.headers().clone();
    let message = match read_body(&mut response, MAX_MESSAGE_BYTES + 1).await {
        Ok((body, _)) => message_text(&body),
        Err(e) => format!("(the message could not be read: {e})"),
    };
    Error::from_status(status, &headers, message, by_handle)
}

/// A raw answer of a call whose typed success is `T`: any 2xx the generated client does not type (e.g.
/// 202) is a success — `Some` body when it decodes as `T`, else `None` — and anything else an error.
pub(crate) async fn raw_success<T: FromJson>(
    response: Response,
    by_handle: bool,
) -> Result<Option<T>, Error> {
    if !response.status().is_success() {
        return Err(error_from(response, by_handle).await);
    }
    let status = response.status();
    match json_body::<T>(response).await {
        Ok(body) => Ok(body.map(|(value, _)| value)),
        Err(e @ Error::InvalidResponse { .. }) => {
            tracing::debug!(status = status.as_u16(), error = %e, "a success whose body is not the typed one");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Decodes a JSON body read from a raw answer; `None` for an empty body. The body is read up to the
/// client's `max_response_bytes` (enforced by the api crate's `exec` hook, [`Error::ResponseTooLarge`]
/// past it).
pub(crate) async fn json_body<T: FromJson>(
    response: Response,
) -> Result<Option<(T, HeaderMap)>, Error> {
    Ok(json_body_raw(response)
        .await?
        .map(|(value, headers, _)| (value, headers)))
}

/// [`json_body`], with the body as received.
pub(crate) async fn json_body_raw<T: FromJson>(
    mut response: Response,
) -> Result<Option<(T, HeaderMap, bytes::Bytes)>, Error> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let (body, _) = read_body(&mut response, usize::MAX).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    // The document's decoder is compiled in the api crate (`FromJson`), not here.
    match T::from_json(&body) {
        Ok(value) => Ok(Some((value, headers, bytes::Bytes::from(body)))),
        Err(e) => Err(Error::InvalidResponse {
            status: Some(status),
            reason: format!("the body does not match the spec: {e}"),
            body: message_text(&body),
        }),
    }
}

/// A [`Session`] from a document and the headers it came with (read when asked for). The reference comes
/// from `Content-Location`, else from `known` (the reference the call addressed, if any).
pub(crate) fn session_from(
    document: MultiplayerSession,
    headers: HeaderMap,
    known: Option<&SessionReference>,
    raw: Option<bytes::Bytes>,
) -> Session {
    Session::from_answer(document, headers, known.cloned(), raw)
}

/// A session document answer (the statuses the spec types as `MultiplayerSession`) read from a raw
/// response and decoded straight into a boxed [`Session`]: the document is copied once, onto the heap,
/// rather than moved through progenitor's `ResponseValue` and each layer above it. Errors are the generated
/// client's, mapped by [`api_error`]: a body that cannot be read is a transport error (or
/// [`Error::ResponseTooLarge`]), one that does not decode is [`Error::InvalidResponse`].
pub(crate) async fn session_answer(
    mut response: Response,
    known: Option<&SessionReference>,
) -> Result<Box<Session>, Error> {
    let headers = std::mem::take(response.headers_mut());
    let body = response
        .bytes()
        .await
        .map_err(|e| api_error(ApiError::<()>::ResponseBodyError(e)))?;
    // The box is allocated before the document is decoded, and the document matched (not `?`-ed) into
    // it: the compiler then copies it twice (out of serde's `Result`, into the box), not once per layer.
    let session = Box::new_uninit();
    match MultiplayerSession::from_json(&body) {
        Ok(document) => Ok(Box::write(
            session,
            Session::from_answer(document, headers, known.cloned(), Some(body)),
        )),
        Err(e) => Err(api_error(ApiError::<()>::InvalidResponsePayload(body, e))),
    }
}
