//! Which sessions and members a query's filters match, and the result documents.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::filters::{Filters, Reported};
use crate::model::timestamp;
use crate::session::{Member, Session};

/// The user's state in a session, as a result reports it.
pub(super) fn status(member: &Member) -> &'static str {
    if member.reserved {
        "reserved"
    } else if member.is_active() {
        "active"
    } else {
        "inactive"
    }
}

/// The session's keywords (`properties.system.keywords`).
pub(super) fn keywords(session: &Session) -> Vec<String> {
    session
        .property("keywords")
        .as_ref()
        .and_then(Value::as_array)
        .map(|words| {
            words
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The session's major version (`constants.system.version`; 1 when absent).
pub(super) fn version(session: &Session) -> u64 {
    crate::session::system(&session.constants().to_map())
        .and_then(|system| system.get("version"))
        .and_then(Value::as_u64)
        .unwrap_or(1)
}

/// Whether a session passes the filters that do not depend on a XUID.
pub(super) fn session_matches(session: &Session, filters: &Filters) -> bool {
    let reported = Reported::of(session);
    (filters.private || reported != Reported::Private)
        && filters.visibility.is_none_or(|wanted| wanted == reported)
        && filters
            .version
            .is_none_or(|highest| version(session) <= highest)
        && filters.keyword.as_ref().is_none_or(|keyword| {
            keywords(session)
                .iter()
                .any(|word| word.eq_ignore_ascii_case(keyword))
        })
}

/// Whether `member` is a member the filters let a session be found by.
pub(super) fn member_matches(member: &Member, filters: &Filters) -> bool {
    match status(member) {
        "reserved" => filters.reservations,
        "inactive" => filters.inactive,
        _ => true,
    }
}

/// The results: per XUID in order (or once without one), the matching sessions oldest first, at most `take`
/// in all.
pub(super) fn results(sessions: &[Arc<Session>], filters: &Filters, xuids: &[u64]) -> Vec<Value> {
    let mut candidates: Vec<&Session> = sessions
        .iter()
        .map(|session| &**session)
        .filter(|session| session_matches(session, filters))
        .collect();
    candidates.sort_by_cached_key(|session| {
        let reference = &session.reference;
        (
            session.start_time,
            [
                reference.scid(),
                reference.template_name(),
                reference.name(),
            ]
            .map(|part| part.to_lowercase()),
        )
    });
    let mut out = Vec::new();
    if xuids.is_empty() {
        out.extend(candidates.iter().map(|session| result(session, None)));
    }
    for xuid in xuids {
        for session in &candidates {
            if let Some((index, member)) = session.member(*xuid)
                && member_matches(member, filters)
            {
                out.push(result(session, Some((*xuid, index, member))));
            }
        }
    }
    out.truncate(filters.take);
    out
}

/// One result: the session's reference and state, and for a XUID its status and turn.
pub(super) fn result(session: &Session, found_by: Option<(u64, u32, &Member)>) -> Value {
    let reported = Reported::of(session);
    let mut result = Map::new();
    if let Some((xuid, _, _)) = found_by {
        result.insert("xuid".to_owned(), json!(xuid.to_string()));
    }
    result.insert("startTime".to_owned(), json!(timestamp(session.start_time)));
    result.insert("sessionRef".to_owned(), session.reference.to_json());
    let accepted = session.members.values().filter(|m| !m.reserved).count();
    result.insert("accepted".to_owned(), json!(accepted));
    if let Some((_, _, member)) = found_by {
        result.insert("status".to_owned(), json!(status(member)));
    }
    result.insert("visibility".to_owned(), json!(reported.name()));
    if matches!(reported, Reported::Open | Reported::Full)
        && let Some(Value::String(restriction)) = session.property("joinRestriction")
        && !restriction.eq_ignore_ascii_case("none")
    {
        result.insert("joinRestriction".to_owned(), json!(restriction));
    }
    if let Some((_, index, _)) = found_by {
        let my_turn = session
            .property("turn")
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|turn| turn.iter().any(|i| i.as_u64() == Some(u64::from(index))));
        result.insert("myTurn".to_owned(), json!(my_turn));
    }
    result.insert("keywords".to_owned(), json!(keywords(session)));
    Value::Object(result)
}
