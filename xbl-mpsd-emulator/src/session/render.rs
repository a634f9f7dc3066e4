//! Rendering a session document straight from the stored session to JSON bytes: no intermediate `Value`
//! tree, and the stored constants and properties are copied in as the JSON text they are kept as. Runs on a
//! snapshot (`Arc<Session>`) after the session's lock is released.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};

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

impl Rendered<'_> {
    /// The document as JSON bytes.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let session = self.session;
        // Room for the stored texts plus the fields rendered around them, so the buffer rarely grows.
        let members: usize = if session.capability("large") {
            1024
        } else {
            session
                .members
                .values()
                .map(|m| m.constants.len() + m.properties().len() + 160)
                .sum()
        };
        let estimate = 512 + session.constants().len() + session.properties.len() + members;
        let mut out = Vec::with_capacity(estimate);
        // Writing maps, strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, self);
        out
    }
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
        serializer.collect_str(&format_args!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            time.year(),
            time.month(),
            time.day(),
            time.hour(),
            time.minute(),
            time.second(),
            time.nanosecond() / 1_000_000
        ))
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

/// One member entry; `next` is the index of the following member (or the session's next index).
struct RenderedMember<'a> {
    member: &'a Member,
    next: u32,
}

impl Serialize for RenderedMember<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let member = self.member;
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
        map.serialize_entry("next", &self.next)?;
        map.end()
    }
}

/// `members`: every member by index, or only the caller as `me` in a large session.
struct Members<'a> {
    session: &'a Session,
    caller: u64,
}

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let session = self.session;
        let large = session.capability("large");
        let mut map = serializer.serialize_map(None)?;
        let mut entries = session.members.iter().peekable();
        while let Some((index, member)) = entries.next() {
            let next = entries
                .peek()
                .map_or(session.next_index, |(index, _)| **index);
            let rendered = RenderedMember { member, next };
            if large {
                // Large sessions list only the caller, as "me".
                if member.xuid == self.caller {
                    map.serialize_entry("me", &rendered)?;
                }
            } else {
                // An integer key is written as its decimal string.
                map.serialize_entry(index, &rendered)?;
            }
        }
        map.end()
    }
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let session = self.session;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("contractVersion", &self.contract_version)?;
        map.serialize_entry("branch", &session.branch)?;
        map.serialize_entry("changeNumber", &session.change_number)?;
        map.serialize_entry("correlationId", &session.correlation_id)?;
        if let Some(search) = &session.search_handle {
            map.serialize_entry("searchHandle", search)?;
        }
        map.serialize_entry("startTime", &Timestamp(session.start_time))?;
        map.serialize_entry("membersInfo", &MembersInfo(session))?;
        if let Some(role_types) = &session.role_types {
            map.serialize_entry("roleTypes", role_types)?;
        }
        map.serialize_entry("constants", session.constants())?;
        map.serialize_entry("properties", &session.properties)?;
        if let Some(servers) = &session.servers {
            map.serialize_entry("servers", servers)?;
        }
        map.serialize_entry(
            "members",
            &Members {
                session,
                caller: self.caller,
            },
        )?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

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
}
