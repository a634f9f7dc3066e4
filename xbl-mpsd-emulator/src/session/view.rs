//! A snapshot of a stored session to answer with, and the metadata its response headers need. Plain data: the
//! HTTP layer (`response`) renders it.

use std::sync::Arc;

use super::Session;

/// A session to answer with: a snapshot of the stored session, whom it is rendered for, and the
/// metadata its response headers need.
#[derive(Debug, Clone)]
pub(crate) struct SessionView {
    /// The session as it was when the view was taken (never changes: writers replace, not mutate).
    pub(crate) session: Arc<Session>,
    /// The contract version of the request.
    pub(crate) contract_version: u32,
    /// The caller (large sessions list only them).
    pub(crate) caller: u64,
    /// The ETag to send (the stored session's, also for a `nocommit` preview).
    pub(crate) etag: String,
    /// The session URI path, for `Content-Location`.
    pub(crate) location: String,
}

impl SessionView {
    /// The session document as JSON bytes.
    pub(crate) fn body(&self) -> Vec<u8> {
        self.session.document(self.contract_version, self.caller)
    }
}
