//! What changed between two snapshots of a session: a pure function from two documents to typed changes.
//!
//! It reports what XSAPI's `XblMultiplayerSessionCompare` reports (`Source/Services/Multiplayer/
//! multiplayer_session.cpp`, `CompareMultiplayerSessions`) — host device token, initialization stage,
//! matchmaking status and target, members joined and left (by XUID), member status, member custom
//! properties, joinability (closed, locked, join restriction, full) and custom properties — and says more:
//! which member, from what to what, and which custom keys. Visibility is reported too (a constant, so it only
//! changes when a session was deleted and created again).
//!
//! ```
//! use xbl_mpsd_ext::diff::{SessionChange, diff};
//! use xbl_mpsd_ext::types::MultiplayerSession;
//!
//! let before: MultiplayerSession = serde_json::from_value(serde_json::json!({
//!     "members": {"0": {"constants": {"system": {"xuid": "1"}}, "properties": {"system": {"active": true}}}},
//!     "properties": {"custom": {"map": "lava"}}
//! }))?;
//! let after: MultiplayerSession = serde_json::from_value(serde_json::json!({
//!     "members": {
//!         "0": {"constants": {"system": {"xuid": "1"}}, "properties": {"system": {"active": true}}},
//!         "1": {"constants": {"system": {"xuid": "2"}}, "properties": {"system": {"active": true}}}
//!     },
//!     "properties": {"custom": {"map": "ice"}}
//! }))?;
//! let changes = diff(&before, &after);
//! assert!(changes.contains(&SessionChange::MemberJoined { xuid: "2".parse()? }));
//! assert!(changes.contains(&SessionChange::CustomChanged { keys: vec!["map".into()] }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use xbl_mpsd_api::types::{
    Custom, InitializationStage, MatchmakingStatus, MultiplayerSession, Restriction, SessionMember,
    Visibility,
};
use xbl_mpsd_api::{Nullable, SessionReference};

use crate::ids::Xuid;
use crate::session::{MemberStatus, member_xuid};

/// One change between two snapshots of a session. As JSON: `{"change": "memberJoined", "xuid": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "change",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum SessionChange {
    /// A member (by XUID) is listed now and was not before (XSAPI: `MemberListChange`).
    MemberJoined {
        /// The member.
        xuid: Xuid,
    },
    /// A member (by XUID) was listed and is not now (XSAPI: `MemberListChange`).
    MemberLeft {
        /// The member.
        xuid: Xuid,
    },
    /// A member's status changed, e.g. active → inactive, reserved → active (XSAPI: `MemberStatusChange`).
    MemberStatusChanged {
        /// The member.
        xuid: Xuid,
        /// Its status before.
        from: MemberStatus,
        /// Its status now.
        to: MemberStatus,
    },
    /// Keys of a member's `properties.custom` were added, removed or changed (XSAPI:
    /// `MemberCustomPropertyChange`).
    MemberCustomChanged {
        /// The member.
        xuid: Xuid,
        /// The keys, sorted (`""` when the section itself is not an object on one side).
        keys: Vec<String>,
    },
    /// Keys of the session's `properties.custom` were added, removed or changed (XSAPI:
    /// `CustomPropertyChange`).
    CustomChanged {
        /// The keys, sorted (`""` when the section itself is not an object on one side).
        keys: Vec<String>,
    },
    /// The host's device token changed, compared ignoring case (XSAPI: `HostDeviceTokenChange`).
    HostChanged {
        /// The token before.
        from: Option<String>,
        /// The token now.
        to: Option<String>,
    },
    /// Who may join changed (XSAPI: `SessionJoinabilityChange`).
    JoinabilityChanged {
        /// Before.
        from: Joinability,
        /// Now.
        to: Joinability,
    },
    /// The visibility changed (a constant: the session was created again).
    VisibilityChanged {
        /// Before.
        from: Option<Visibility>,
        /// Now.
        to: Option<Visibility>,
    },
    /// The member-initialization stage changed, or initialization began or ended (XSAPI:
    /// `InitializationStateChange`).
    InitializationChanged {
        /// The stage before (`None`: not initializing).
        from: Option<InitializationStage>,
        /// The stage now.
        to: Option<InitializationStage>,
    },
    /// The matchmaking service's status or target session changed, or its section appeared or went
    /// (`servers.matchmaking`; XSAPI: `MatchmakingStatusChange`).
    MatchmakingChanged {
        /// Before (`None`: no matchmaking section).
        from: Option<Matchmaking>,
        /// Now.
        to: Option<Matchmaking>,
    },
}

/// What decides whether a session can be joined, as XSAPI compares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Joinability {
    /// `properties.system.closed`.
    pub closed: bool,
    /// `properties.system.locked`.
    pub locked: bool,
    /// `properties.system.joinRestriction`.
    pub join_restriction: Option<Restriction>,
    /// Whether the members listed fill `maxMembersCount`.
    pub full: bool,
}

/// The matchmaking service's section of a session (`servers.matchmaking.properties.system`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Matchmaking {
    /// The ticket's status.
    pub status: Option<MatchmakingStatus>,
    /// The session the match was found in.
    pub target: Option<SessionReference>,
}

/// The changes from `before` to `after`, in a fixed order: members (joined, left, status, custom, by XUID),
/// then the session (custom, host, joinability, visibility, initialization, matchmaking). Empty when the
/// documents are equal in everything compared.
pub fn diff(before: &MultiplayerSession, after: &MultiplayerSession) -> Vec<SessionChange> {
    let mut changes = Vec::new();
    let (old, new) = (members(before), members(after));
    for xuid in new.keys().filter(|x| !old.contains_key(*x)) {
        changes.push(SessionChange::MemberJoined { xuid: *xuid });
    }
    for xuid in old.keys().filter(|x| !new.contains_key(*x)) {
        changes.push(SessionChange::MemberLeft { xuid: *xuid });
    }
    for (xuid, was) in &old {
        let Some(is) = new.get(xuid) else {
            continue;
        };
        let (from, to) = (MemberStatus::of(was), MemberStatus::of(is));
        if from != to {
            changes.push(SessionChange::MemberStatusChanged {
                xuid: *xuid,
                from,
                to,
            });
        }
    }
    for (xuid, was) in &old {
        let Some(is) = new.get(xuid) else {
            continue;
        };
        let keys = custom_keys(member_custom(was), member_custom(is));
        if !keys.is_empty() {
            changes.push(SessionChange::MemberCustomChanged { xuid: *xuid, keys });
        }
    }
    let keys = custom_keys(session_custom(before), session_custom(after));
    if !keys.is_empty() {
        changes.push(SessionChange::CustomChanged { keys });
    }
    let (from, to) = (host(before), host(after));
    if !from
        .as_deref()
        .zip(to.as_deref())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && from != to
    {
        changes.push(SessionChange::HostChanged { from, to });
    }
    let (from, to) = (joinability(before), joinability(after));
    if from != to {
        changes.push(SessionChange::JoinabilityChanged { from, to });
    }
    let (from, to) = (visibility(before), visibility(after));
    if from != to {
        changes.push(SessionChange::VisibilityChanged { from, to });
    }
    let (from, to) = (stage(before), stage(after));
    if from != to {
        changes.push(SessionChange::InitializationChanged { from, to });
    }
    let (from, to) = (matchmaking(before), matchmaking(after));
    if from != to {
        changes.push(SessionChange::MatchmakingChanged { from, to });
    }
    changes
}

/// The members listed with a valid XUID, by XUID (XSAPI compares members by XUID).
fn members(session: &MultiplayerSession) -> BTreeMap<Xuid, &SessionMember> {
    session
        .members
        .as_ref()
        .into_iter()
        .flatten()
        .filter_map(|(_, member)| Some((member_xuid(member)?, member)))
        .collect()
}

fn member_custom(member: &SessionMember) -> Option<&Custom> {
    member.properties.as_ref()?.custom.as_ref()
}

fn session_custom(session: &MultiplayerSession) -> Option<&Custom> {
    session.properties.as_ref()?.custom.as_ref()
}

/// The keys whose values differ between two custom sections (absent and `{}` are the same); `[""]` when
/// one of them is not an object and they differ.
fn custom_keys(before: Option<&Custom>, after: Option<&Custom>) -> Vec<String> {
    static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);
    fn object(custom: Option<&Custom>) -> Option<&serde_json::Map<String, Value>> {
        match custom.map(|c| &c.0) {
            None | Some(Value::Null) => Some(&EMPTY),
            Some(Value::Object(map)) => Some(map),
            Some(_) => None,
        }
    }
    match (object(before), object(after)) {
        (Some(a), Some(b)) => {
            let mut keys: Vec<String> = a
                .iter()
                .filter(|(k, v)| b.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
                .collect();
            keys.sort();
            keys
        }
        _ if before.map(|c| &c.0) == after.map(|c| &c.0) => Vec::new(),
        _ => vec![String::new()],
    }
}

fn system(session: &MultiplayerSession) -> Option<&xbl_mpsd_api::types::SessionPropertiesSystem> {
    session.properties.as_ref()?.system.as_ref()
}

fn host(session: &MultiplayerSession) -> Option<String> {
    system(session)?.host.as_ref().cloned()
}

fn flag(field: Option<&Nullable<bool>>) -> bool {
    field.and_then(Nullable::as_ref).copied().unwrap_or(false)
}

fn joinability(session: &MultiplayerSession) -> Joinability {
    let system = system(session);
    let max = session
        .constants
        .as_ref()
        .and_then(|c| c.system.as_ref())
        .and_then(|s| s.max_members_count.as_ref())
        .and_then(|n| usize::try_from(*n).ok());
    let listed = session.members.as_ref().map_or(0, |m| m.len());
    Joinability {
        closed: flag(system.map(|s| &s.closed)),
        locked: flag(system.map(|s| &s.locked)),
        join_restriction: system.and_then(|s| s.join_restriction.as_ref()).cloned(),
        full: max.is_some_and(|max| listed >= max),
    }
}

fn visibility(session: &MultiplayerSession) -> Option<Visibility> {
    session
        .constants
        .as_ref()?
        .system
        .as_ref()?
        .visibility
        .as_ref()
        .cloned()
}

fn stage(session: &MultiplayerSession) -> Option<InitializationStage> {
    session.initializing.as_ref()?.stage.as_ref().cloned()
}

fn matchmaking(session: &MultiplayerSession) -> Option<Matchmaking> {
    let system = session
        .servers
        .as_ref()?
        .matchmaking
        .as_ref()?
        .properties
        .as_ref()
        .and_then(|p| p.system.as_ref());
    Some(Matchmaking {
        status: system.and_then(|s| s.status.as_ref()).cloned(),
        target: system.and_then(|s| s.target_session_ref.as_ref()).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> MultiplayerSession {
        serde_json::from_value(value).unwrap()
    }

    fn member(xuid: &str, system: Value, custom: Value) -> Value {
        json!({"constants": {"system": {"xuid": xuid}}, "properties": {"system": system, "custom": custom}})
    }

    fn xuid(text: &str) -> Xuid {
        text.parse().unwrap()
    }

    #[test]
    fn equal_documents_have_no_change() {
        let a = doc(json!({"members": {"0": member("1", json!({"active": true}), json!({}))}}));
        assert_eq!(diff(&a, &a), []);
        assert_eq!(
            diff(
                &MultiplayerSession::default(),
                &MultiplayerSession::default()
            ),
            []
        );
    }

    #[test]
    fn members_are_followed_by_xuid_not_by_index() {
        let before = doc(json!({"members": {
            "0": member("1", json!({"active": true}), json!({"team": "red"})),
            "1": member("2", json!({"active": true}), json!({}))
        }}));
        // Member 2 left, 3 joined at index 1 (an index is reused); 1 went inactive and changed team.
        let after = doc(json!({"members": {
            "0": member("1", json!({"active": false}), json!({"team": "blue", "ready": true})),
            "1": member("3", json!({"active": true}), json!({}))
        }}));
        assert_eq!(
            diff(&before, &after),
            [
                SessionChange::MemberJoined { xuid: xuid("3") },
                SessionChange::MemberLeft { xuid: xuid("2") },
                SessionChange::MemberStatusChanged {
                    xuid: xuid("1"),
                    from: MemberStatus::Active,
                    to: MemberStatus::Inactive
                },
                SessionChange::MemberCustomChanged {
                    xuid: xuid("1"),
                    keys: vec!["ready".into(), "team".into()]
                },
            ]
        );
    }

    #[test]
    fn session_properties_joinability_host_stage_and_matchmaking() {
        let before = doc(json!({
            "constants": {"system": {"maxMembersCount": 2, "visibility": "open"}},
            "properties": {"system": {"host": "ABC", "joinRestriction": "followed"},
                           "custom": {"map": "lava", "gone": 1}},
            "members": {"0": member("1", json!({"active": true}), json!({}))},
            "initializing": {"stage": "joining"}
        }));
        let after = doc(json!({
            "constants": {"system": {"maxMembersCount": 2, "visibility": "open"}},
            "properties": {"system": {"host": "abc", "joinRestriction": "followed", "closed": true},
                           "custom": {"map": "ice", "new": 2}},
            "members": {
                "0": member("1", json!({"active": true}), json!({})),
                "1": member("2", json!({"ready": true}), json!({}))
            },
            "initializing": {"stage": "measuring"},
            "servers": {"matchmaking": {"properties": {"system": {"status": "searching"}}}}
        }));
        let changes = diff(&before, &after);
        assert_eq!(changes[0], SessionChange::MemberJoined { xuid: xuid("2") });
        assert!(changes.contains(&SessionChange::CustomChanged {
            keys: vec!["gone".into(), "map".into(), "new".into()]
        }));
        // The host token is compared ignoring case, as XSAPI does.
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, SessionChange::HostChanged { .. }))
        );
        let Some(SessionChange::JoinabilityChanged { from, to }) = changes
            .iter()
            .find(|c| matches!(c, SessionChange::JoinabilityChanged { .. }))
        else {
            panic!("{changes:?}");
        };
        assert!(!from.closed && to.closed && !from.full && to.full);
        assert!(changes.contains(&SessionChange::InitializationChanged {
            from: Some(InitializationStage::JOINING),
            to: Some(InitializationStage::MEASURING)
        }));
        assert!(changes.contains(&SessionChange::MatchmakingChanged {
            from: None,
            to: Some(Matchmaking {
                status: Some(MatchmakingStatus::SEARCHING),
                target: None
            })
        }));
        // The host leaving: a change from a token to none.
        let mut no_host = after.clone();
        if let Some(system) = no_host.properties.as_mut().and_then(|p| p.system.as_mut()) {
            system.host = Nullable::Null;
        }
        assert_eq!(
            diff(&after, &no_host),
            [SessionChange::HostChanged {
                from: Some("abc".into()),
                to: None
            }]
        );
    }

    #[test]
    fn changes_serialize_as_tagged_json() {
        let change = SessionChange::MemberStatusChanged {
            xuid: xuid("7"),
            from: MemberStatus::Active,
            to: MemberStatus::Inactive,
        };
        assert_eq!(
            serde_json::to_value(&change).unwrap(),
            json!({"change": "memberStatusChanged", "xuid": "7", "from": "active", "to": "inactive"})
        );
    }

    #[test]
    fn a_custom_section_that_is_not_an_object_is_one_change() {
        let a = doc(json!({"properties": {"custom": "text"}}));
        let b = doc(json!({"properties": {"custom": {"k": 1}}}));
        assert_eq!(
            diff(&a, &b),
            [SessionChange::CustomChanged {
                keys: vec![String::new()]
            }]
        );
        assert_eq!(diff(&a, &a), []);
    }
}
