//! The session document: its stored form, rendering, merge, validation and membership rules.

pub(crate) mod merge;
pub(crate) mod validate;
pub(crate) mod write;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::model::{SessionRef, new_etag, timestamp};
use crate::response::SessionView;

/// `constants.system` defaults filled in when a session is created (contract 107).
fn default_constants_system() -> Map<String, Value> {
    let defaults = json!({
        "version": 1,
        "maxMembersCount": 100,
        "visibility": "open",
        "reservedRemovalTimeout": 30000,
        "inactiveRemovalTimeout": 0,
        "readyRemovalTimeout": 180000,
        "sessionEmptyTimeout": 0,
        "capabilities": {}
    });
    match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// An empty property bag `{system: {}, custom: {}}`.
pub(crate) fn empty_bag() -> Map<String, Value> {
    let mut bag = Map::new();
    bag.insert("system".to_owned(), Value::Object(Map::new()));
    bag.insert("custom".to_owned(), Value::Object(Map::new()));
    bag
}

/// Makes sure a bag has an object `system` and a `custom` after a merge may have deleted them.
pub(crate) fn repair_bag(bag: &mut Map<String, Value>) {
    if !bag.get("system").is_some_and(Value::is_object) {
        bag.insert("system".to_owned(), Value::Object(Map::new()));
    }
    if !bag.contains_key("custom") {
        bag.insert("custom".to_owned(), Value::Object(Map::new()));
    }
}

/// The `system` object of a property bag.
pub(crate) fn system(bag: &Map<String, Value>) -> Option<&Map<String, Value>> {
    bag.get("system").and_then(Value::as_object)
}

/// A session's visibility (`constants.system.visibility`, compared ignoring case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Joinable and readable by anyone.
    Open,
    /// Readable and joinable only by members, reserved users and invitees.
    Private,
    /// Readable but not joinable.
    Visible,
}

/// One member of a session.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The member's XUID.
    pub(crate) xuid: u64,
    /// `{system: {index, xuid, …}, custom}`; write-once.
    pub(crate) constants: Map<String, Value>,
    /// `{system, custom}`; writable by the member.
    pub(crate) properties: Map<String, Value>,
    /// `roles`, when written.
    pub(crate) roles: Option<Value>,
    /// True until the reserved user joins.
    pub(crate) reserved: bool,
    /// The title the member joined from.
    pub(crate) active_title_id: Option<String>,
    /// Join (or reservation) time.
    pub(crate) join_time: DateTime<Utc>,
}

impl Member {
    /// Whether `properties.system.<key>` is `true`.
    fn flag(&self, key: &str) -> bool {
        system(&self.properties)
            .and_then(|sys| sys.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether `properties.system.active` is true.
    pub(crate) fn is_active(&self) -> bool {
        self.flag("active")
    }

    /// Whether the member is active or ready: anything else is inactive, and an inactive member has no
    /// activity.
    pub(crate) fn is_present(&self) -> bool {
        self.is_active() || self.flag("ready")
    }

    fn render(&self, next: u32) -> Value {
        let mut out = Map::new();
        if let Some(roles) = &self.roles {
            out.insert("roles".to_owned(), roles.clone());
        }
        out.insert(
            "constants".to_owned(),
            Value::Object(self.constants.clone()),
        );
        out.insert(
            "properties".to_owned(),
            Value::Object(self.properties.clone()),
        );
        out.insert("reserved".to_owned(), Value::Bool(self.reserved));
        if let Some(title) = &self.active_title_id {
            out.insert("activeTitleId".to_owned(), Value::String(title.clone()));
        }
        out.insert(
            "joinTime".to_owned(),
            Value::String(timestamp(self.join_time)),
        );
        out.insert("next".to_owned(), json!(next));
        Value::Object(out)
    }
}

/// A stored session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The reference as spelled at creation.
    pub(crate) reference: SessionRef,
    pub(crate) branch: Uuid,
    pub(crate) correlation_id: Uuid,
    pub(crate) start_time: DateTime<Utc>,
    /// Number of committed writes.
    pub(crate) change_number: u64,
    pub(crate) etag: String,
    /// `{system, custom}`; write-once.
    pub(crate) constants: Map<String, Value>,
    /// `{system, custom}`.
    pub(crate) properties: Map<String, Value>,
    pub(crate) role_types: Option<Value>,
    pub(crate) servers: Option<Value>,
    /// Members by index.
    pub(crate) members: BTreeMap<u32, Member>,
    /// The index the next member gets.
    pub(crate) next_index: u32,
    /// The session's search handle, if one exists.
    pub(crate) search_handle: Option<Uuid>,
    /// XUIDs of accepted members who left; they may rejoin a `locked` session.
    pub(crate) former_members: BTreeSet<u64>,
}

impl Session {
    /// A new, not yet committed session with default constants.
    pub(crate) fn new(reference: &SessionRef, now: DateTime<Utc>) -> Self {
        let mut constants = empty_bag();
        constants.insert(
            "system".to_owned(),
            Value::Object(default_constants_system()),
        );
        Self {
            reference: reference.clone(),
            branch: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            start_time: now,
            change_number: 0,
            etag: new_etag(),
            constants,
            properties: empty_bag(),
            role_types: None,
            servers: None,
            members: BTreeMap::new(),
            next_index: 0,
            search_handle: None,
            former_members: BTreeSet::new(),
        }
    }

    fn constant(&self, key: &str) -> Option<&Value> {
        system(&self.constants).and_then(|sys| sys.get(key))
    }

    fn property(&self, key: &str) -> Option<&Value> {
        system(&self.properties).and_then(|sys| sys.get(key))
    }

    /// Whether `properties.system.closed` is true: the session is closed for joining.
    pub(crate) fn is_closed(&self) -> bool {
        self.property("closed").and_then(Value::as_bool) == Some(true)
    }

    /// Whether `properties.system.locked` is true: only members who left may (re)join.
    pub(crate) fn is_locked(&self) -> bool {
        self.property("locked").and_then(Value::as_bool) == Some(true)
    }

    /// Records a committed change: advances `changeNumber` and issues a new ETag.
    pub(crate) fn touch(&mut self) {
        self.change_number += 1;
        self.etag = new_etag();
    }

    /// Sets or clears the search handle; a change is a committed change of the session document.
    pub(crate) fn set_search_handle(&mut self, handle: Option<Uuid>) {
        if self.search_handle != handle {
            self.search_handle = handle;
            self.touch();
        }
    }

    /// `constants.system.capabilities.<name>`.
    pub(crate) fn capability(&self, name: &str) -> bool {
        self.constant("capabilities")
            .and_then(|caps| caps.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `constants.system.maxMembersCount`.
    pub(crate) fn max_members(&self) -> u64 {
        self.constant("maxMembersCount")
            .and_then(Value::as_u64)
            .unwrap_or(validate::MAX_MEMBERS_NORMAL)
    }

    /// `constants.system.visibility`.
    pub(crate) fn visibility(&self) -> Visibility {
        match self.constant("visibility").and_then(Value::as_str) {
            Some(text) if text.eq_ignore_ascii_case("private") => Visibility::Private,
            Some(text) if text.eq_ignore_ascii_case("visible") => Visibility::Visible,
            _ => Visibility::Open,
        }
    }

    /// Whether an empty session is deleted at once (`sessionEmptyTimeout` is 0).
    pub(crate) fn deleted_when_empty(&self) -> bool {
        self.constant("sessionEmptyTimeout").and_then(Value::as_u64) == Some(0)
    }

    /// `constants.system.inviteProtocol`.
    pub(crate) fn invite_protocol(&self) -> Option<&str> {
        self.constant("inviteProtocol").and_then(Value::as_str)
    }

    /// The index and member entry of `xuid`, reserved or not.
    pub(crate) fn member(&self, xuid: u64) -> Option<(u32, &Member)> {
        self.members
            .iter()
            .find(|(_, member)| member.xuid == xuid)
            .map(|(index, member)| (*index, member))
    }

    /// Whether `xuid` has a member entry (reserved or accepted).
    pub(crate) fn has_member(&self, xuid: u64) -> bool {
        self.member(xuid).is_some()
    }

    /// Whether `xuid` is an accepted (not merely reserved) member.
    pub(crate) fn is_accepted_member(&self, xuid: u64) -> bool {
        self.member(xuid)
            .is_some_and(|(_, member)| !member.reserved)
    }

    /// Whether `xuid` may read the session; `granted` marks access through an invite or transfer handle.
    pub(crate) fn readable_by(&self, xuid: u64, granted: bool) -> bool {
        self.visibility() != Visibility::Private || granted || self.has_member(xuid)
    }

    /// The XUIDs of all members.
    pub(crate) fn member_xuids(&self) -> Vec<u64> {
        self.members.values().map(|member| member.xuid).collect()
    }

    fn members_info(&self) -> Value {
        let count = self.members.len();
        let accepted = self
            .members
            .values()
            .filter(|member| !member.reserved)
            .count();
        let active = self
            .members
            .values()
            .filter(|member| member.is_active())
            .count();
        let first = self
            .members
            .keys()
            .next()
            .copied()
            .unwrap_or(self.next_index);
        json!({ "first": first, "next": self.next_index, "count": count, "accepted": accepted, "active": active })
    }

    /// The visibility as reported: `full` when an open session has no room left.
    fn reported_visibility(&self) -> Value {
        let stored = self
            .constant("visibility")
            .cloned()
            .unwrap_or(json!("open"));
        let full = self.members.len() as u64 >= self.max_members();
        if full && self.visibility() == Visibility::Open {
            json!("full")
        } else {
            stored
        }
    }

    /// The session document as rendered to `caller` for a request of `contract_version`.
    pub(crate) fn render(&self, contract_version: u32, caller: u64) -> Value {
        let mut doc = Map::new();
        doc.insert("contractVersion".to_owned(), json!(contract_version));
        doc.insert("branch".to_owned(), json!(self.branch.to_string()));
        doc.insert("changeNumber".to_owned(), json!(self.change_number));
        doc.insert(
            "correlationId".to_owned(),
            json!(self.correlation_id.to_string()),
        );
        if let Some(search) = self.search_handle {
            doc.insert("searchHandle".to_owned(), json!(search.to_string()));
        }
        doc.insert("startTime".to_owned(), json!(timestamp(self.start_time)));
        doc.insert("membersInfo".to_owned(), self.members_info());
        if let Some(role_types) = &self.role_types {
            doc.insert("roleTypes".to_owned(), role_types.clone());
        }
        doc.insert(
            "constants".to_owned(),
            Value::Object(self.constants.clone()),
        );
        doc.insert(
            "properties".to_owned(),
            Value::Object(self.properties.clone()),
        );
        if let Some(servers) = &self.servers {
            doc.insert("servers".to_owned(), servers.clone());
        }
        let mut members = Map::new();
        let indices: Vec<u32> = self.members.keys().copied().collect();
        for (position, (index, member)) in self.members.iter().enumerate() {
            let next = indices
                .get(position + 1)
                .copied()
                .unwrap_or(self.next_index);
            if self.capability("large") {
                // Large sessions list only the caller, as "me".
                if member.xuid == caller {
                    members.insert("me".to_owned(), member.render(next));
                }
            } else {
                members.insert(index.to_string(), member.render(next));
            }
        }
        doc.insert("members".to_owned(), Value::Object(members));
        Value::Object(doc)
    }

    /// The rendered session with its header values.
    pub(crate) fn view(&self, contract_version: u32, caller: u64) -> SessionView {
        SessionView {
            body: self.render(contract_version, caller),
            etag: self.etag.clone(),
            location: self.reference.uri_path(),
        }
    }

    /// `relatedInfo` of a handle pointing at this session; `with_owners` adds `sessionOwners` (search handles).
    pub(crate) fn related_info(&self, with_owners: bool) -> Value {
        let mut info = Map::new();
        info.insert("visibility".to_owned(), self.reported_visibility());
        info.insert(
            "joinRestriction".to_owned(),
            self.property("joinRestriction")
                .cloned()
                .unwrap_or(json!("none")),
        );
        info.insert("closed".to_owned(), json!(self.is_closed()));
        info.insert("maxMembersCount".to_owned(), json!(self.max_members()));
        info.insert("membersCount".to_owned(), json!(self.members.len()));
        if with_owners {
            let owners: Vec<String> = self
                .property("owners")
                .and_then(Value::as_array)
                .map(|indices| {
                    indices
                        .iter()
                        .filter_map(Value::as_u64)
                        .filter_map(|index| u32::try_from(index).ok())
                        .filter_map(|index| self.members.get(&index))
                        .map(|member| member.xuid.to_string())
                        .collect()
                })
                .unwrap_or_default();
            info.insert("sessionOwners".to_owned(), json!(owners));
        }
        Value::Object(info)
    }

    /// `properties.custom`, for `customProperties` of handle query results.
    pub(crate) fn custom_properties(&self) -> Value {
        self.properties.get("custom").cloned().unwrap_or(json!({}))
    }

    /// `roleInfo` of a search handle: `{roleTypes}`.
    pub(crate) fn role_info(&self) -> Value {
        json!({ "roleTypes": self.role_types.clone().unwrap_or(json!({})) })
    }
}
