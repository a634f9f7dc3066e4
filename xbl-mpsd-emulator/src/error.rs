//! The error type every request handler returns: plain data (a status number and a message, or a failed
//! precondition with the current session). The HTTP layer (`response`) renders it; this module knows nothing of
//! HTTP types.

use crate::session::view::SessionView;

/// A request that could not be served as asked.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A status (as its number) with a plain-text message (400, 401, 403, 404, 405, 409, 413, 503, …).
    Text(u16, String),
    /// 412: a precondition failed. Carries the current session when it exists.
    PreconditionFailed(Option<Box<SessionView>>),
}

impl ApiError {
    /// 400 Bad Request.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::Text(400, message.into())
    }

    /// 401 Unauthorized.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::Text(401, message.into())
    }

    /// 403 Forbidden.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Text(403, message.into())
    }

    /// 404 Not Found.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::Text(404, message.into())
    }

    /// 405 Method Not Allowed.
    pub(crate) fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::Text(405, message.into())
    }

    /// 409 Conflict.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Text(409, message.into())
    }

    /// 413 Payload Too Large.
    pub(crate) fn payload_too_large(message: impl Into<String>) -> Self {
        Self::Text(413, message.into())
    }

    /// 503 Service Unavailable.
    pub(crate) fn service_unavailable(message: impl Into<String>) -> Self {
        Self::Text(503, message.into())
    }
}

/// The result type of request handling.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
