//! Session writes without struct literals: [`SessionDelta`] builds the PUT body for the common changes.
//!
//! A delta is merged into the session: objects merge recursively, `null` deletes a key, and a value (also
//! `[]` or `{}`) replaces it. [`SessionDelta`] writes exactly the keys its methods name, so two methods that
//! touch different keys combine, and what it does not name stays as it is on the service. Each of MPSD's
//! merge meanings has a method: set (`keywords(["a"])`), clear (`keywords([])`), delete
//! (`delete_matchmaking()`, `delete_custom(key)`, `leave()`, `delete_server(name)`), leave unchanged (do not
//! call it). Everything else the spec allows is still reachable: [`SessionDelta::request_mut`] gives the
//! generated [`MultiplayerSessionRequest`] (every optional field a [`Nullable`]), and
//! [`SessionDelta::merge_json`] merges arbitrary JSON; nothing is lost on the way (`[]`, `{}` and `null`
//! are sent as written).
//!
//! ```
//! use xbl_mpsd_ext::{SessionDelta, Xuid};
//! use xbl_mpsd_ext::types::{Restriction, Visibility};
//!
//! let me: Xuid = "2533274792693551".parse()?;
//! let delta = SessionDelta::new()
//!     .join(me)
//!     .member_custom("skill", &1500)?
//!     .visibility(Visibility::OPEN)
//!     .join_restriction(Restriction::FOLLOWED)
//!     .set_custom("map", &"lava")?;
//! let json = serde_json::to_value(delta.into_request())?;
//! assert_eq!(json["members"]["me"]["constants"]["system"]["xuid"], "2533274792693551");
//! assert_eq!(json["members"]["me"]["properties"]["custom"]["skill"], 1500);
//! assert_eq!(json["properties"]["custom"]["map"], "lava");
//! assert_eq!(json["properties"]["system"]["joinRestriction"], "followed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;
use xbl_mpsd_api::types::{
    ChangeType, Custom, InviteProtocol, MemberConstants, MemberConstantsSystem, MemberProperties,
    MemberPropertiesSystem, MemberPropertiesSystemSubscription, MultiplayerSessionRequest,
    Restriction, SessionCapabilities, SessionConstants, SessionConstantsSystem,
    SessionMemberRequest, SessionProperties, SessionPropertiesSystem,
    SessionPropertiesSystemMatchmaking, Visibility,
};
use xbl_mpsd_api::{ConnectionId, FromJson, Lenient, MemberKey, Nullable};

use crate::changes::ChangeTypes;
use crate::ids::Xuid;

/// A custom property value that could not be turned into JSON.
#[derive(Debug, thiserror::Error)]
#[error("custom property {key:?} cannot be written as JSON: {source}")]
#[non_exhaustive]
pub struct CustomPropertyError {
    /// The property's key.
    pub key: String,
    /// What serde said.
    #[source]
    pub source: serde_json::Error,
}

/// A session delta (the body of a session write), built from named changes.
///
/// Each method sets only the keys it names. Constants (`visibility`, `max_members`, `capabilities`, a
/// member's XUID) only take effect when the session or member is created; changing one later is a 409.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use = "a delta does nothing until it is written"]
pub struct SessionDelta {
    request: MultiplayerSessionRequest,
}

/// Sets `key` in a `custom` section, making the section an object if it is not one.
fn insert_custom(slot: &mut Nullable<Custom>, key: &str, value: Value) {
    let custom = slot.get_or_insert_with(|| Value::Object(Map::new()).into());
    match &mut custom.0 {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        other => {
            let mut map = Map::new();
            map.insert(key.to_owned(), value);
            *other = Value::Object(map);
        }
    }
}

fn to_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value, CustomPropertyError> {
    serde_json::to_value(value).map_err(|source| CustomPropertyError {
        key: key.to_owned(),
        source,
    })
}

impl SessionDelta {
    /// An empty delta (`{}`): writing it changes nothing but still answers the session.
    pub fn new() -> Self {
        Self::default()
    }

    /// The generated request this delta is.
    pub fn into_request(self) -> MultiplayerSessionRequest {
        self.request
    }

    /// The generated request, to set a field this builder has no method for (every optional field is a
    /// [`Nullable`]: `Value` sets, `Null` deletes, `Absent` leaves unchanged).
    pub fn request_mut(&mut self) -> &mut MultiplayerSessionRequest {
        &mut self.request
    }

    fn member(&mut self, key: MemberKey) -> &mut SessionMemberRequest {
        self.request
            .members
            .get_or_insert_with(Default::default)
            .entry(key)
            .or_insert_with(|| Some(SessionMemberRequest::default()))
            .get_or_insert_with(SessionMemberRequest::default)
    }

    fn member_constants(&mut self, key: MemberKey) -> &mut MemberConstantsSystem {
        self.member(key)
            .constants
            .get_or_insert_with(MemberConstants::default)
            .system
            .get_or_insert_with(MemberConstantsSystem::default)
    }

    fn me_properties(&mut self) -> &mut MemberProperties {
        self.member(MemberKey::Me)
            .properties
            .get_or_insert_with(MemberProperties::default)
    }

    fn me_system(&mut self) -> &mut MemberPropertiesSystem {
        self.me_properties()
            .system
            .get_or_insert_with(MemberPropertiesSystem::default)
    }

    fn constants(&mut self) -> &mut SessionConstantsSystem {
        self.request
            .constants
            .get_or_insert_with(SessionConstants::default)
            .system
            .get_or_insert_with(SessionConstantsSystem::default)
    }

    fn properties(&mut self) -> &mut SessionProperties {
        self.request
            .properties
            .get_or_insert_with(SessionProperties::default)
    }

    fn system(&mut self) -> &mut SessionPropertiesSystem {
        self.properties()
            .system
            .get_or_insert_with(SessionPropertiesSystem::default)
    }

    // --- the caller's membership -------------------------------------------------------------------------

    /// Joins (or stays in) the session as `xuid`, active: `members.me` with `constants.system.xuid` and
    /// `properties.system.active`, as XSAPI writes a join. `xuid` must be the caller's.
    pub fn join(mut self, xuid: Xuid) -> Self {
        self.member_constants(MemberKey::Me).xuid = Lenient::from(xuid).into();
        self.me_system().active = true.into();
        self
    }

    /// Leaves the session: `members.me: null` (replaces anything else set on `me`).
    pub fn leave(mut self) -> Self {
        self.request
            .members
            .get_or_insert_with(Default::default)
            .insert(MemberKey::Me, None);
        self
    }

    /// Sets the caller's `active` flag (an inactive member keeps its slot).
    pub fn active(mut self, active: bool) -> Self {
        self.me_system().active = active.into();
        self
    }

    /// Sets the caller's `ready` flag (a ready member is removed after `readyRemovalTimeout` unless it
    /// becomes active).
    pub fn ready(mut self, ready: bool) -> Self {
        self.me_system().ready = ready.into();
        self
    }

    /// Joins the member-initialization episode (`constants.system.initialize`; creation only).
    pub fn initialize(mut self, initialize: bool) -> Self {
        self.member_constants(MemberKey::Me).initialize = initialize.into();
        self
    }

    /// Reserves a slot for another user: `members.reserve_<n>` with their XUID. Reserve several users
    /// by calling it once per user; `n` counts the reservations of this delta.
    pub fn reserve(mut self, xuid: Xuid) -> Self {
        let n = self.request.members.as_ref().map_or(0, |members| {
            members
                .keys()
                .filter(|k| matches!(k, MemberKey::Reserve(_)))
                .count()
        });
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.member_constants(MemberKey::Reserve(n)).xuid = Lenient::from(xuid).into();
        self
    }

    /// Removes the member at `index` (`members.<index>: null`; server principals only).
    pub fn remove_member(mut self, index: u32) -> Self {
        self.request
            .members
            .get_or_insert_with(Default::default)
            .insert(MemberKey::Index(index), None);
        self
    }

    /// Sets one of the caller's custom member properties (`members.me.properties.custom.<key>`).
    pub fn member_custom<T: Serialize + ?Sized>(
        mut self,
        key: &str,
        value: &T,
    ) -> Result<Self, CustomPropertyError> {
        let value = to_json(key, value)?;
        insert_custom(&mut self.me_properties().custom, key, value);
        Ok(self)
    }

    /// Deletes one of the caller's custom member properties (writes `null`).
    pub fn delete_member_custom(mut self, key: &str) -> Self {
        insert_custom(&mut self.me_properties().custom, key, Value::Null);
        self
    }

    /// Takes the role `role` of role type `role_type` for the caller (`members.me.roles.<type>`).
    pub fn role(mut self, role_type: &str, role: &str) -> Self {
        self.member(MemberKey::Me)
            .roles
            .get_or_insert_with(Default::default)
            .insert(role_type.to_owned(), Some(role.to_owned()));
        self
    }

    /// Leaves the caller's role of role type `role_type` (`members.me.roles.<type>: null`).
    pub fn leave_role(mut self, role_type: &str) -> Self {
        self.member(MemberKey::Me)
            .roles
            .get_or_insert_with(Default::default)
            .insert(role_type.to_owned(), None);
        self
    }

    /// Subscribes the caller to session changes over RTA: `members.me.properties.system.subscription`
    /// with `id` (sent upper-case, as go-xsapi requires) and the change types (`ChangeTypes::EVERYTHING`,
    /// `ChangeTypes::HOST | ChangeTypes::MEMBERS_LIST`, …).
    pub fn subscription(mut self, id: Uuid, changes: ChangeTypes) -> Self {
        let mut subscription = MemberPropertiesSystemSubscription::default();
        subscription.id =
            Lenient::parse(id.hyphenated().encode_upper(&mut Uuid::encode_buffer())).into();
        subscription.change_types =
            Nullable::Value(changes.names().into_iter().map(ChangeType::from).collect());
        self.me_system().subscription = subscription.into();
        self
    }

    /// Removes the caller's change subscription (`members.me.properties.system.subscription: null`).
    pub fn unsubscribe(mut self) -> Self {
        self.me_system().subscription = Nullable::Null;
        self
    }

    /// Sets the caller's RTA connection (`members.me.properties.system.connection`), which counts the
    /// member as connected in sessions that require it; `connection` is what the RTA client holds.
    pub fn connection(mut self, connection: &ConnectionId) -> Self {
        self.me_system().connection = Lenient::parse(connection.as_str()).into();
        self
    }

    /// Sets the caller's secure device address (base64, from the platform's networking API), used by
    /// peer-to-peer and peer-to-host sessions.
    pub fn secure_device_address(mut self, address: &str) -> Self {
        self.me_system().secure_device_address = address.to_owned().into();
        self
    }

    // --- session properties ------------------------------------------------------------------------------

    /// Sets a custom session property (`properties.custom.<key>`), writable by any member; a
    /// `serde_json::Value` is written as it is (`Value::Null` deletes, as [`delete_custom`](Self::delete_custom)).
    pub fn set_custom<T: Serialize + ?Sized>(
        mut self,
        key: &str,
        value: &T,
    ) -> Result<Self, CustomPropertyError> {
        let value = to_json(key, value)?;
        insert_custom(&mut self.properties().custom, key, value);
        Ok(self)
    }

    /// Deletes a custom session property (writes `null`).
    pub fn delete_custom(mut self, key: &str) -> Self {
        insert_custom(&mut self.properties().custom, key, Value::Null);
        self
    }

    /// Replaces the session's keywords (`properties.system.keywords`); no keywords clears them (`[]`).
    pub fn keywords<S: Into<String>>(mut self, keywords: impl IntoIterator<Item = S>) -> Self {
        self.system().keywords = Nullable::Value(keywords.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces whose turn it is (`properties.system.turn`, member indices); none clears it (`[]`).
    pub fn turn(mut self, members: impl IntoIterator<Item = u32>) -> Self {
        self.system().turn = Nullable::Value(members.into_iter().map(i64::from).collect());
        self
    }

    /// Sets the host's device token (`properties.system.host`; must be a member's `deviceToken`).
    pub fn host(mut self, device_token: &str) -> Self {
        self.system().host = device_token.to_owned().into();
        self
    }

    /// Removes the host (`properties.system.host: null`).
    pub fn delete_host(mut self) -> Self {
        self.system().host = Nullable::Null;
        self
    }

    /// Sets the client matchmaking state (`properties.system.matchmaking`).
    pub fn matchmaking(mut self, matchmaking: SessionPropertiesSystemMatchmaking) -> Self {
        self.system().matchmaking = matchmaking.into();
        self
    }

    /// Deletes the matchmaking state (`properties.system.matchmaking: null`).
    pub fn delete_matchmaking(mut self) -> Self {
        self.system().matchmaking = Nullable::Null;
        self
    }

    /// Temporarily closes (or reopens) the session for joining.
    pub fn closed(mut self, closed: bool) -> Self {
        self.system().closed = closed.into();
        self
    }

    /// Locks (or unlocks) the session: members who leave may rejoin, nobody new may join.
    pub fn locked(mut self, locked: bool) -> Self {
        self.system().locked = locked.into();
        self
    }

    /// Who may join: `none`, `local` or `followed`.
    pub fn join_restriction(mut self, restriction: Restriction) -> Self {
        self.system().join_restriction = restriction.into();
        self
    }

    /// Who may read: `none`, `local` or `followed`.
    pub fn read_restriction(mut self, restriction: Restriction) -> Self {
        self.system().read_restriction = restriction.into();
        self
    }

    /// Sets the server section `name` (`servers.<name>`, any JSON; server principals only).
    pub fn server<T: Serialize + ?Sized>(
        mut self,
        name: &str,
        section: &T,
    ) -> Result<Self, CustomPropertyError> {
        let value = to_json(name, section)?;
        self.request
            .servers
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), value);
        Ok(self)
    }

    /// Removes the server section `name` (`servers.<name>: null`; server principals only).
    pub fn delete_server(mut self, name: &str) -> Self {
        self.request
            .servers
            .get_or_insert_with(Map::new)
            .insert(name.to_owned(), Value::Null);
        self
    }

    // --- constants (taken when the session is created) ---------------------------------------------------

    /// Sets the session's visibility (a constant: only when the session is created).
    pub fn visibility(mut self, visibility: Visibility) -> Self {
        self.constants().visibility = visibility.into();
        self
    }

    /// Sets the invite protocol (a constant: only when the session is created; `game` enables invite
    /// toasts).
    pub fn invite_protocol(mut self, protocol: InviteProtocol) -> Self {
        self.constants().invite_protocol = protocol.into();
        self
    }

    /// Sets the maximum number of members (a constant: only when the session is created; 1–100, or up
    /// to 1000 for large sessions).
    pub fn max_members(mut self, count: u16) -> Self {
        self.constants().max_members_count = i32::from(count).into();
        self
    }

    /// Sets the session's capabilities (a constant: only when the session is created): a
    /// `SessionCapabilities::default()` with the fields set that should be.
    pub fn capabilities(mut self, capabilities: SessionCapabilities) -> Self {
        self.constants().capabilities = capabilities.into();
        self
    }

    /// Merges a JSON object into the delta (for what no method covers); keys it names replace the
    /// delta's. Fails when the result is not a valid session delta. Nothing it names is dropped: `[]`, `{}`
    /// and `null` are sent as written.
    ///
    /// ```
    /// let delta = xbl_mpsd_ext::SessionDelta::new()
    ///     .merge_json(serde_json::json!({"properties": {"system": {"turn": [0], "keywords": []}}}))?;
    /// let json = serde_json::to_value(delta.into_request())?;
    /// assert_eq!(json["properties"]["system"]["turn"][0], 0);
    /// assert_eq!(json["properties"]["system"]["keywords"], serde_json::json!([]));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn merge_json(self, json: Value) -> Result<Self, serde_json::Error> {
        // Through the JSON text rather than `to_value`/`from_value`: the request is encoded to bytes when it is
        // sent and its parts are decoded from bytes when a session is read, so this adds no second (`Value`)
        // copy of every document type's code to the SDK's build (BENCHMARKS.md, P7). Merging is rare.
        let mut current: Value = serde_json::from_slice(&serde_json::to_vec(&self.request)?)?;
        merge(&mut current, json);
        Ok(Self {
            request: MultiplayerSessionRequest::from_json(&serde_json::to_vec(&current)?)?,
        })
    }
}

/// Merges `patch` into `target` like MPSD merges a delta, except that `null` is kept (it deletes on the
/// service, not here).
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

impl Serialize for SessionDelta {
    /// The JSON body this delta is sent as.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.request.serialize(s)
    }
}

impl From<SessionDelta> for MultiplayerSessionRequest {
    fn from(delta: SessionDelta) -> Self {
        delta.request
    }
}

impl From<MultiplayerSessionRequest> for SessionDelta {
    fn from(request: MultiplayerSessionRequest) -> Self {
        Self { request }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn json(delta: SessionDelta) -> Value {
        serde_json::to_value(delta.into_request()).unwrap()
    }

    #[test]
    fn an_empty_delta_is_an_empty_object() {
        assert_eq!(json(SessionDelta::new()), json!({}));
    }

    #[test]
    fn join_with_custom_properties_matches_xsapis_join() {
        let me: Xuid = "2533274792693551".parse().unwrap();
        let delta = SessionDelta::new()
            .join(me)
            .member_custom("team", &"red")
            .unwrap()
            .initialize(true);
        assert_eq!(
            json(delta),
            json!({"members": {"me": {
                "constants": {"system": {"xuid": "2533274792693551", "initialize": true}},
                "properties": {"system": {"active": true}, "custom": {"team": "red"}}
            }}})
        );
    }

    #[test]
    fn custom_properties_set_and_delete() {
        #[derive(Serialize)]
        struct Map {
            name: &'static str,
            size: u8,
        }
        let delta = SessionDelta::new()
            .set_custom(
                "map",
                &Map {
                    name: "lava",
                    size: 4,
                },
            )
            .unwrap()
            .delete_custom("old")
            .delete_member_custom("ready");
        assert_eq!(
            json(delta),
            json!({
                "members": {"me": {"properties": {"custom": {"ready": null}}}},
                "properties": {"custom": {"map": {"name": "lava", "size": 4}, "old": null}}
            })
        );
    }

    #[test]
    fn a_value_serde_refuses_is_an_error_naming_the_key() {
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), 3);
        let err = SessionDelta::new().set_custom("grid", &bad).unwrap_err();
        assert_eq!(err.key, "grid");
        assert!(err.to_string().contains("\"grid\""), "{err}");
    }

    #[test]
    fn session_settings_leave_reserve_and_subscription() {
        let a: Xuid = "1".parse().unwrap();
        let b: Xuid = "2".parse().unwrap();
        let id = Uuid::parse_str("6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d").unwrap();
        let delta = SessionDelta::new()
            .visibility(Visibility::OPEN)
            .max_members(8)
            .closed(true)
            .locked(false)
            .read_restriction(Restriction::LOCAL)
            .invite_protocol(InviteProtocol::GAME)
            .set_custom("n", &Value::from(1))
            .unwrap()
            .reserve(a)
            .reserve(b)
            .subscription(id, ChangeTypes::EVERYTHING)
            .connection(&ConnectionId::new(id.to_string()).unwrap());
        assert_eq!(
            json(delta),
            json!({
                "constants": {"system": {"visibility": "open", "maxMembersCount": 8, "inviteProtocol": "game"}},
                "properties": {
                    "system": {"closed": true, "locked": false, "readRestriction": "local"},
                    "custom": {"n": 1}
                },
                "members": {
                    "reserve_0": {"constants": {"system": {"xuid": "1"}}},
                    "reserve_1": {"constants": {"system": {"xuid": "2"}}},
                    "me": {"properties": {"system": {
                        "subscription": {"id": "6FB2D1A6-2C3B-4A8E-9D5F-0E1F2A3B4C5D", "changeTypes": ["everything"]},
                        "connection": "6fb2d1a6-2c3b-4a8e-9d5f-0e1f2a3b4c5d"
                    }}}
                }
            })
        );
        assert_eq!(
            json(SessionDelta::new().join(a).leave()),
            json!({"members": {"me": null}})
        );
    }

    #[test]
    fn merge_json_combines_and_validates() {
        let delta = SessionDelta::new()
            .set_custom("a", &1)
            .unwrap()
            .merge_json(json!({"properties": {"custom": {"b": 2}}, "future": true}))
            .unwrap();
        assert_eq!(
            json(delta),
            json!({"properties": {"custom": {"a": 1, "b": 2}}, "future": true})
        );
        assert!(
            SessionDelta::new()
                .merge_json(json!({"members": []}))
                .is_err()
        );
    }
}
