//! The error type every request handler returns, and its HTTP rendering.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::response::{self, SessionView};

/// A request that could not be served as asked.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A status with a plain-text message (400, 401, 403, 404, 405, 409, 413, …).
    Text(StatusCode, String),
    /// 412: a precondition failed. Carries the current session when it exists.
    PreconditionFailed(Option<Box<SessionView>>),
}

impl ApiError {
    /// 400 Bad Request.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::Text(StatusCode::BAD_REQUEST, message.into())
    }

    /// 401 Unauthorized.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::Text(StatusCode::UNAUTHORIZED, message.into())
    }

    /// 403 Forbidden.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Text(StatusCode::FORBIDDEN, message.into())
    }

    /// 404 Not Found.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::Text(StatusCode::NOT_FOUND, message.into())
    }

    /// 409 Conflict.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::Text(StatusCode::CONFLICT, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Text(status, message) => response::text(status, message),
            Self::PreconditionFailed(Some(view)) => {
                response::session(StatusCode::PRECONDITION_FAILED, *view)
            }
            Self::PreconditionFailed(None) => response::empty(StatusCode::PRECONDITION_FAILED),
        }
    }
}

/// The result type of request handling.
pub(crate) type ApiResult<T> = Result<T, ApiError>;
