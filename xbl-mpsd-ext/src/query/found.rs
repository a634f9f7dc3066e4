//! One session a query found.

use xbl_mpsd_api::types::{
    QueryMemberStatusKind, RestrictionKind, SessionQueryResult, VisibilityKind,
};
use xbl_mpsd_api::{Lenient, Timestamp};

use crate::ids::Xuid;
use crate::session_ref::SessionReference;

/// One session a query found, with the little of its state the service sends.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundSession {
    document: SessionQueryResult,
}

impl FoundSession {
    pub(super) fn new(document: SessionQueryResult) -> Self {
        Self { document }
    }

    /// The session.
    pub fn session_ref(&self) -> &SessionReference {
        &self.document.session_ref
    }

    /// The XUID that found it (none for a keyword-only query).
    pub fn xuid(&self) -> Option<Xuid> {
        self.document.xuid.as_ref().and_then(Lenient::value)
    }

    /// That user's state in the session: active, reserved or inactive (only when found by XUID).
    pub fn status(&self) -> Option<QueryMemberStatusKind> {
        self.document.status.as_ref().map(|status| status.kind())
    }

    /// The session's visibility; `Full` when an open session has no seat left.
    pub fn visibility(&self) -> Option<VisibilityKind> {
        self.document.visibility.as_ref().map(|v| v.kind())
    }

    /// The session's join restriction, when it is open (or full) and has one.
    pub fn join_restriction(&self) -> Option<RestrictionKind> {
        self.document.join_restriction.as_ref().map(|r| r.kind())
    }

    /// Whether it is the user's turn (absent means false).
    pub fn my_turn(&self) -> bool {
        self.document.my_turn.as_ref().copied().unwrap_or(false)
    }

    /// The approximate number of members who are not merely reserved.
    pub fn accepted(&self) -> Option<i64> {
        self.document.accepted.as_ref().copied()
    }

    /// The session's keywords.
    pub fn keywords(&self) -> &[String] {
        self.document.keywords.as_ref().map_or(&[], Vec::as_slice)
    }

    /// When the session began.
    pub fn start_time(&self) -> Option<&Timestamp> {
        self.document.start_time.as_ref()
    }

    /// Whether a new player could join it now: open and not full (a join restriction may still apply).
    pub fn is_open(&self) -> bool {
        self.visibility() == Some(VisibilityKind::Open)
    }

    /// The result as the service sent it (every field, unknown ones too).
    pub fn document(&self) -> &SessionQueryResult {
        &self.document
    }

    /// The result as the service sent it.
    pub fn into_document(self) -> SessionQueryResult {
        self.document
    }
}
