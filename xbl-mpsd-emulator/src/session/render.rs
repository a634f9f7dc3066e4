//! Rendering a session document straight from the stored session to JSON bytes: no intermediate `Value`
//! tree, and the stored constants and properties are copied in as the JSON text they are kept as. Runs on a
//! snapshot (`Arc<Session>`) after the session's lock is released.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};

use serde_json::{Map, Value};

use super::timers::{Initializing, TIMEOUT_KEYS};
use super::{Member, Session};
use crate::model::timestamp;

/// The document of `session` as rendered to `caller` for a request of `contract_version`.
pub(crate) struct Rendered<'a> {
    /// The session.
    pub(crate) session: &'a Session,
    /// The contract version of the request.
    pub(crate) contract_version: u32,
    /// The caller (a large session lists only them).
    pub(crate) caller: u64,
}

/// Sessions with at least this many members keep each member's rendered entry (see [`Member::rendered`]):
/// a write to such a session changes one member, and its answer repeats all the others. Smaller sessions
/// render their members afresh and keep no second copy of them.
const CACHE_FROM_MEMBERS: usize = 8;

impl Rendered<'_> {
    /// The document as JSON bytes.
    ///
    /// Everything but `members` (the last field) is serialized through [`Head`]; the members are appended as
    /// `"<index>":` + the member's entry up to its `next` field + `,"next":<n>}`.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let session = self.session;
        let large = session.capability("large");
        // Room for the stored texts plus the fields rendered around them, so the buffer rarely grows.
        let members: usize = if large {
            1024
        } else {
            session
                .members
                .values()
                .map(|m| m.constants.len() + m.properties().len() + 160)
                .sum()
        };
        let mut out = Vec::with_capacity(
            512 + session.constants().len() + session.properties.len() + members,
        );
        // Writing maps, strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &Head(self));
        // `Head` always writes a non-empty object: reopen it for `members`.
        out.pop();
        out.extend_from_slice(b",\"members\":{");
        let cache = session.members.len() >= CACHE_FROM_MEMBERS;
        // Indices are written without `core::fmt`, which cost more than the copied entries around them.
        let mut digits = itoa::Buffer::new();
        let mut first = true;
        let mut entries = session.members.iter().peekable();
        while let Some((index, member)) = entries.next() {
            let next = entries
                .peek()
                .map_or(session.next_index, |(index, _)| **index);
            if large && member.xuid != self.caller {
                // Large sessions list only the caller, as "me".
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            if large {
                out.extend_from_slice(b"\"me\":");
            } else {
                out.push(b'"');
                out.extend_from_slice(digits.format(*index).as_bytes());
                out.extend_from_slice(b"\":");
            }
            if cache {
                out.extend_from_slice(member.rendered());
            } else {
                write_member_head(&mut out, member);
            }
            out.extend_from_slice(b",\"next\":");
            out.extend_from_slice(digits.format(next).as_bytes());
            out.push(b'}');
        }
        out.extend_from_slice(b"}}");
        out
    }
}

/// Writes `member`'s entry without its closing brace: everything but `next`, which depends on its neighbour.
pub(crate) fn write_member_head(out: &mut Vec<u8>, member: &Member) {
    let _ = serde_json::to_writer(&mut *out, &MemberHead(member));
    out.pop();
}

/// A time as [`timestamp`] writes it (`2026-01-02T03:04:05.678Z`), formatted straight into the output.
struct Timestamp(DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let time = self.0;
        if !(0..=9999).contains(&time.year()) || time.nanosecond() >= 1_000_000_000 {
            // Years without four digits and leap seconds: chrono's own spelling.
            return serializer.serialize_str(&timestamp(time));
        }
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`, digit by digit (no `core::fmt`: this runs for every rendered member).
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, value: u32| {
            let mut value = value;
            for slot in text[at..at + width].iter_mut().rev() {
                // `value % 10` is a digit.
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, time.year().unsigned_abs());
        put(5, 2, time.month());
        put(8, 2, time.day());
        put(11, 2, time.hour());
        put(14, 2, time.minute());
        put(17, 2, time.second());
        put(20, 3, time.nanosecond() / 1_000_000);
        // Only ASCII digits and separators were written.
        serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

/// `membersInfo`.
struct MembersInfo<'a>(&'a Session);

impl Serialize for MembersInfo<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let session = self.0;
        let accepted = session.members.values().filter(|m| !m.reserved).count();
        let active = session.members.values().filter(|m| m.is_active()).count();
        let first = session
            .members
            .keys()
            .next()
            .copied()
            .unwrap_or(session.next_index);
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("first", &first)?;
        map.serialize_entry("next", &session.next_index)?;
        map.serialize_entry("count", &session.members.len())?;
        map.serialize_entry("accepted", &accepted)?;
        map.serialize_entry("active", &active)?;
        map.end()
    }
}

/// `initializing`.
struct InitializingView<'a>(&'a Initializing);

impl Serialize for InitializingView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("stage", self.0.stage.as_str())?;
        map.serialize_entry("stageStartTime", &Timestamp(self.0.stage_start))?;
        map.serialize_entry("episode", &self.0.episode)?;
        map.end()
    }
}

/// The session's constants without the timeouts stored as `null`.
fn without_null_timeouts(session: &Session) -> Map<String, Value> {
    let mut constants = session.constants().to_map();
    if let Some(Value::Object(system)) = constants.get_mut("system") {
        for key in TIMEOUT_KEYS {
            if system.get(key).is_some_and(Value::is_null) {
                system.shift_remove(key);
            }
        }
    }
    constants
}

/// One member entry but its `next` field.
struct MemberHead<'a>(&'a Member);

impl Serialize for MemberHead<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let member = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(roles) = &member.roles {
            map.serialize_entry("roles", roles)?;
        }
        map.serialize_entry("constants", &member.constants)?;
        map.serialize_entry("properties", member.properties())?;
        map.serialize_entry("reserved", &member.reserved)?;
        if let Some(title) = &member.active_title_id {
            map.serialize_entry("activeTitleId", title)?;
        }
        map.serialize_entry("joinTime", &Timestamp(member.join_time))?;
        if let Some(episode) = member.episode {
            map.serialize_entry("initializationEpisode", &episode)?;
        }
        if let Some(failure) = &member.failure {
            map.serialize_entry("initializationFailure", failure)?;
        }
        map.end()
    }
}

/// The document but `members`.
struct Head<'a, 'b>(&'a Rendered<'b>);

impl Serialize for Head<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let session = self.0.session;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("contractVersion", &self.0.contract_version)?;
        map.serialize_entry("branch", &session.branch)?;
        map.serialize_entry("changeNumber", &session.change_number)?;
        map.serialize_entry("correlationId", &session.correlation_id)?;
        if let Some(search) = &session.search_handle() {
            map.serialize_entry("searchHandle", search)?;
        }
        map.serialize_entry("startTime", &Timestamp(session.start_time))?;
        if let Some(next_timer) = session.next_timer {
            map.serialize_entry("nextTimer", &Timestamp(next_timer))?;
        }
        if let Some(init) = &session.initializing() {
            map.serialize_entry("initializing", &InitializingView(init))?;
        }
        map.serialize_entry("membersInfo", &MembersInfo(session))?;
        if let Some(role_types) = &session.role_types {
            map.serialize_entry("roleTypes", role_types)?;
        }
        if session.has_null_timeout() {
            // An infinite (`null`) timeout is left out: XSAPI fails to parse a session with a `null` timeout.
            map.serialize_entry("constants", &without_null_timeouts(session))?;
        } else {
            map.serialize_entry("constants", session.constants())?;
        }
        map.serialize_entry("properties", &session.properties)?;
        if let Some(servers) = &session.servers {
            map.serialize_entry("servers", servers)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::model::SessionRef;
    use crate::session::write::{Applied, WriteContext, apply};

    /// The renderer this module replaced (a `Value` tree, serialized with `to_string`), as the reference.
    fn reference_render(session: &Session, contract_version: u32, caller: u64) -> String {
        let member_value = |member: &Member, next: u32| {
            let mut out = Map::new();
            if let Some(roles) = &member.roles {
                out.insert("roles".to_owned(), (**roles).clone());
            }
            out.insert(
                "constants".to_owned(),
                Value::Object(member.constants.to_map()),
            );
            out.insert(
                "properties".to_owned(),
                Value::Object(member.properties().to_map()),
            );
            out.insert("reserved".to_owned(), Value::Bool(member.reserved));
            if let Some(title) = &member.active_title_id {
                out.insert("activeTitleId".to_owned(), Value::String(title.to_string()));
            }
            out.insert("joinTime".to_owned(), json!(timestamp(member.join_time)));
            out.insert("next".to_owned(), json!(next));
            Value::Object(out)
        };
        let mut doc = Map::new();
        doc.insert("contractVersion".to_owned(), json!(contract_version));
        doc.insert("branch".to_owned(), json!(session.branch.to_string()));
        doc.insert("changeNumber".to_owned(), json!(session.change_number));
        doc.insert(
            "correlationId".to_owned(),
            json!(session.correlation_id.to_string()),
        );
        if let Some(search) = session.search_handle() {
            doc.insert("searchHandle".to_owned(), json!(search.to_string()));
        }
        doc.insert("startTime".to_owned(), json!(timestamp(session.start_time)));
        if let Some(next_timer) = session.next_timer {
            doc.insert("nextTimer".to_owned(), json!(timestamp(next_timer)));
        }
        let first = session.members.keys().next().copied();
        doc.insert(
            "membersInfo".to_owned(),
            json!({
                "first": first.unwrap_or(session.next_index),
                "next": session.next_index,
                "count": session.members.len(),
                "accepted": session.members.values().filter(|m| !m.reserved).count(),
                "active": session.members.values().filter(|m| m.is_active()).count(),
            }),
        );
        if let Some(role_types) = &session.role_types {
            doc.insert("roleTypes".to_owned(), (**role_types).clone());
        }
        doc.insert(
            "constants".to_owned(),
            Value::Object(session.constants().to_map()),
        );
        doc.insert(
            "properties".to_owned(),
            Value::Object(session.properties.to_map()),
        );
        if let Some(servers) = &session.servers {
            doc.insert("servers".to_owned(), (**servers).clone());
        }
        let mut members = Map::new();
        let indices: Vec<u32> = session.members.keys().copied().collect();
        for (position, (index, member)) in session.members.iter().enumerate() {
            let next = indices
                .get(position + 1)
                .copied()
                .unwrap_or(session.next_index);
            if session.capability("large") {
                if member.xuid == caller {
                    members.insert("me".to_owned(), member_value(member, next));
                }
            } else {
                members.insert(index.to_string(), member_value(member, next));
            }
        }
        doc.insert("members".to_owned(), Value::Object(members));
        Value::Object(doc).to_string()
    }

    const FIRST: u64 = 2_533_274_790_000_000;

    /// A session built by `writes` (caller offset from `FIRST`, body), through the write path.
    fn session_of(writes: &[(u64, Value)]) -> Session {
        let reference = SessionRef::new("00000000-0000-0000-0000-00007a5b8c9d", "lobby", "r", "t")
            .expect("a valid reference");
        let mut current: Option<Session> = None;
        for (step, (offset, body)) in (0i64..).zip(writes) {
            let ctx = WriteContext {
                caller: FIRST + offset,
                now: Utc
                    .timestamp_opt(1_795_000_000 + step, 123_000_000)
                    .unwrap(),
                title_id: 1_234_567,
                granted: false,
            };
            match apply(
                current.as_ref(),
                &reference,
                body.as_object().unwrap(),
                &ctx,
                &crate::templates::Template::empty(),
            ) {
                Ok(Applied::Stored { session, .. }) => current = Some(*session),
                other => panic!("write {step} was not stored: {other:?}"),
            }
        }
        current.expect("a session")
    }

    fn join(offset: u64) -> Value {
        json!({ "members": { "me": {
            "constants": { "system": { "xuid": (FIRST + offset).to_string(), "initialize": true }, "custom": { "k": offset } },
            "properties": { "system": { "active": offset.is_multiple_of(2) }, "custom": { "score": offset, "s": "é\"\u{1}" } },
            "roles": { "lobby": "host" }
        } } })
    }

    #[test]
    fn documents_are_rendered_byte_for_byte_as_before() {
        let mut writes = vec![(
            0,
            json!({
                "constants": { "system": { "maxMembersCount": 20 }, "custom": { "map": "lava" } },
                "properties": { "custom": { "round": 1 } },
                "roleTypes": { "lobby": { "roles": { "host": { "max": 1 } } } },
                "servers": { "game": { "constants": { "x": 1 } } },
                "members": {
                    "me": { "constants": { "system": { "xuid": FIRST.to_string(), "initialize": true } } },
                    "reserve_0": { "constants": { "system": { "xuid": (FIRST + 99).to_string() } } }
                }
            }),
        )];
        for count in [1, 2, CACHE_FROM_MEMBERS as u64, 12] {
            while (writes.len() as u64) < count {
                writes.push((writes.len() as u64, join(writes.len() as u64)));
            }
            let mut session = session_of(&writes);
            for caller in [FIRST, FIRST + 1] {
                for _ in 0..2 {
                    // Twice: the second rendering of a large enough session uses the kept member entries.
                    let rendered = Rendered {
                        session: &session,
                        contract_version: 107,
                        caller,
                    }
                    .to_vec();
                    assert_eq!(
                        String::from_utf8(rendered).unwrap(),
                        reference_render(&session, 107, caller)
                    );
                }
            }
            // A member changed after it was rendered: its copy is rendered afresh.
            if let Some(member) = session.members.values_mut().next() {
                Member::make_mut(member).reserved = true;
            }
            assert_eq!(
                String::from_utf8(
                    Rendered {
                        session: &session,
                        contract_version: 105,
                        caller: FIRST
                    }
                    .to_vec()
                )
                .unwrap(),
                reference_render(&session, 105, FIRST)
            );
        }
        let large = session_of(&[
            (
                0,
                json!({
                    "constants": { "system": { "maxMembersCount": 1000, "capabilities": { "large": true } } },
                    "members": { "me": { "constants": { "system": { "xuid": FIRST.to_string() } } } }
                }),
            ),
            (1, json!({ "members": { "me": {} } })),
        ]);
        for caller in [FIRST, FIRST + 1, FIRST + 2] {
            assert_eq!(
                String::from_utf8(
                    Rendered {
                        session: &large,
                        contract_version: 107,
                        caller
                    }
                    .to_vec()
                )
                .unwrap(),
                reference_render(&large, 107, caller)
            );
        }
    }

    #[test]
    fn timestamps_are_spelled_as_chrono_spells_them() {
        let times = [
            Utc.timestamp_opt(0, 0).single(),
            Utc.timestamp_opt(1_795_000_000, 7_000_000).single(),
            Utc.timestamp_opt(1_795_000_000, 999_999_999).single(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).single(),
            Some(Utc::now()),
        ];
        for time in times.into_iter().flatten() {
            let written = serde_json::to_string(&Timestamp(time)).unwrap();
            assert_eq!(written, format!("\"{}\"", timestamp(time)));
        }
    }

    proptest::proptest! {
        /// Any time from year -9999 to 99999, leap seconds included, is spelled as chrono spells it.
        #[test]
        fn any_timestamp_is_spelled_as_chrono_spells_it(
            seconds in -377_705_116_800_i64..3_093_527_980_800,
            nanos in 0u32..2_000_000_000,
        ) {
            if let Some(time) = Utc.timestamp_opt(seconds, nanos).single() {
                let written = serde_json::to_string(&Timestamp(time)).unwrap();
                proptest::prop_assert_eq!(written, format!("\"{}\"", timestamp(time)));
            }
        }
    }
}
