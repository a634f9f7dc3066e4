//! The session document: its stored form, rendering, merge, validation and membership rules.

pub(crate) mod bag;
pub(crate) mod members;
pub(crate) mod merge;
pub(crate) mod render;
pub(crate) mod timers;
pub(crate) mod validate;
pub(crate) mod view;
pub(crate) mod write;

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub(crate) use self::bag::Bag;
pub(crate) use self::members::Members;
use self::view::SessionView;
use crate::model::{Etag, SessionRef};

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

/// `{system: <the 107 defaults>}`: the constants a session starts from before its template and creator.
pub(crate) fn default_constants() -> Map<String, Value> {
    let mut constants = Map::new();
    constants.insert(
        "system".to_owned(),
        Value::Object(default_constants_system()),
    );
    constants
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

/// The entry of `member`'s user in `other` (looked up at the same index first: indices do not move).
pub(crate) fn counterpart<'a>(
    other: &'a Session,
    index: u32,
    member: &Member,
) -> Option<&'a Arc<Member>> {
    match other.members.get(&index) {
        Some(found) if found.xuid == member.xuid => Some(found),
        _ => other.members.values().find(|m| m.xuid == member.xuid),
    }
}

/// What the emulator reads from a member's properties on every write or commit, cached whenever they are set
/// (with the member's [`Link`], a field of its own so these flags pack with `reserved`).
#[derive(Debug, Clone, Copy, Default)]
struct MemberFacts {
    /// `properties.system.active` is `true`.
    active: bool,
    /// `properties.system.ready` is `true`.
    ready: bool,
}

impl MemberFacts {
    /// The flags of `properties`, and its link when `system.connection` is a non-empty string.
    fn of(properties: &Map<String, Value>) -> (Self, Option<Box<Link>>) {
        let sys = system(properties);
        let flag = |key: &str| {
            sys.and_then(|sys| sys.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let facts = Self {
            active: flag("active"),
            ready: flag("ready"),
        };
        let link = sys
            .and_then(|sys| sys.get("connection"))
            .and_then(Value::as_str)
            .filter(|cid| !cid.is_empty())
            .map(|cid| {
                Box::new(Link {
                    connection: cid.to_lowercase().into_boxed_str(),
                    subscription: sys
                        .and_then(|sys| sys.get("subscription"))
                        .and_then(Value::as_object)
                        .map(Subscription::of),
                })
            });
        (facts, link)
    }
}

/// A member's RTA link, `properties.system.connection` and `subscription`: what a commit reads for every
/// connected member to decide whom to tap (cached, so that a commit does not parse each member's properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The ConnectionId, lower case.
    pub(crate) connection: Box<str>,
    /// `subscription`, when set.
    pub(crate) subscription: Option<Subscription>,
}

/// A member's `properties.system.subscription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// `id` (a GUID: validated as a string), echoed in the member's taps.
    pub(crate) id: Option<Box<str>>,
    /// `changeTypes`.
    pub(crate) kinds: ChangeKinds,
}

impl Subscription {
    fn of(subscription: &Map<String, Value>) -> Self {
        let kinds = subscription
            .get("changeTypes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(ChangeKinds::named)
            .fold(ChangeKinds::NONE, ChangeKinds::with);
        Self {
            id: subscription
                .get("id")
                .and_then(Value::as_str)
                .map(Box::from),
            kinds,
        }
    }
}

/// Kinds of session change a subscription names in `changeTypes` (XSAPI `XblMultiplayerSessionChangeTypes`
/// in `Include/xsapi-c/multiplayer_c.h`), as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChangeKinds(u16);

impl ChangeKinds {
    /// No kind.
    pub(crate) const NONE: Self = Self(0);
    /// `everything`: any change.
    pub(crate) const EVERYTHING: Self = Self(1);
    /// `host`.
    pub(crate) const HOST: Self = Self(1 << 1);
    /// `initialization`.
    pub(crate) const INITIALIZATION: Self = Self(1 << 2);
    /// `matchmakingStatus`.
    pub(crate) const MATCHMAKING_STATUS: Self = Self(1 << 3);
    /// `membersList`.
    pub(crate) const MEMBERS_LIST: Self = Self(1 << 4);
    /// `membersStatus`.
    pub(crate) const MEMBERS_STATUS: Self = Self(1 << 5);
    /// `joinability`.
    pub(crate) const JOINABILITY: Self = Self(1 << 6);
    /// `customProperty`.
    pub(crate) const CUSTOM_PROPERTY: Self = Self(1 << 7);
    /// `membersCustomProperty`.
    pub(crate) const MEMBERS_CUSTOM_PROPERTY: Self = Self(1 << 8);

    const NAMES: [(&'static str, Self); 9] = [
        ("everything", Self::EVERYTHING),
        ("host", Self::HOST),
        ("initialization", Self::INITIALIZATION),
        ("matchmakingStatus", Self::MATCHMAKING_STATUS),
        ("membersList", Self::MEMBERS_LIST),
        ("membersStatus", Self::MEMBERS_STATUS),
        ("joinability", Self::JOINABILITY),
        ("customProperty", Self::CUSTOM_PROPERTY),
        ("membersCustomProperty", Self::MEMBERS_CUSTOM_PROPERTY),
    ];

    /// The kind named `name`, ignoring ASCII case; [`NONE`](Self::NONE) for a name MPSD does not define
    /// (it matches no change).
    pub(crate) fn named(name: &str) -> Self {
        Self::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or(Self::NONE, |(_, kind)| *kind)
    }

    /// These kinds and `other`.
    pub(crate) const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether a kind is in both.
    pub(crate) const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// A member's `activeTitleId`: the emulator writes a title ID's decimal spelling, held as the number (no
/// allocation per member); any other text (from a record written elsewhere) is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TitleId {
    /// A title ID, spelled in decimal without padding.
    Number(u32),
    /// Any other spelling (boxed twice so the type stays two words).
    Text(Box<Box<str>>),
}

impl TitleId {
    /// The title ID spelled `text`.
    pub(crate) fn from_text(text: &str) -> Self {
        match text.parse::<u32>() {
            Ok(number) if itoa::Buffer::new().format(number) == text => Self::Number(number),
            _ => Self::Text(Box::new(text.into())),
        }
    }
}

impl std::fmt::Display for TitleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(number) => f.write_str(itoa::Buffer::new().format(*number)),
            Self::Text(text) => f.write_str(text),
        }
    }
}

impl serde::Serialize for TitleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(number) => serializer.serialize_str(itoa::Buffer::new().format(*number)),
            Self::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// One member of a session.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The member's XUID.
    pub(crate) xuid: u64,
    /// `{system: {index, xuid, …}, custom}`; write-once.
    pub(crate) constants: Bag,
    /// `{system, custom}`; writable by the member. Set through [`Member::set_properties`].
    properties: Bag,
    /// Cached from `properties`.
    facts: MemberFacts,
    /// `properties.system.connection` and `subscription`, when the connection is a non-empty string (cached
    /// from `properties`; boxed: most members have none).
    link: Option<Box<Link>>,
    /// `roles`, when written (boxed: most members have none).
    pub(crate) roles: Option<Box<Value>>,
    /// True until the reserved user joins.
    pub(crate) reserved: bool,
    /// The title the member joined from.
    pub(crate) active_title_id: Option<TitleId>,
    /// Join (or reservation) time.
    pub(crate) join_time: DateTime<Utc>,
    /// Since when the member is in its current state (reserved, inactive, ready, active): its timers count from
    /// here.
    pub(crate) state_since: DateTime<Utc>,
    /// `initializationEpisode`: the initialization episode the member takes part in (or waits for).
    pub(crate) episode: Option<u32>,
    /// `initializationFailure`: why the member failed initialization.
    pub(crate) failure: Option<Box<str>>,
    /// The rendered entry, once a session large enough to keep it was rendered.
    rendered: RenderCache,
}

/// A member's rendered entry (everything but `next`), built on first use. A copy of a member starts without
/// it, and every change to a stored member goes through a copy ([`Member::make_mut`]), so it is never stale.
/// Behind a thin pointer: the cache costs every member 16 bytes, not 24, and only members of large sessions
/// fill it.
#[derive(Debug, Default)]
struct RenderCache(OnceLock<Box<Box<[u8]>>>);

impl Clone for RenderCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Member {
    /// The member behind `member` to change: copied first if it is shared (with the stored state or a
    /// snapshot), and without its rendered entry.
    pub(crate) fn make_mut(member: &mut Arc<Self>) -> &mut Self {
        let member = Arc::make_mut(member);
        member.rendered = RenderCache::default();
        member
    }

    /// The member's entry as the session document renders it, without its `next` field and closing brace
    /// (kept once built).
    pub(crate) fn rendered(&self) -> &[u8] {
        self.rendered.0.get_or_init(|| {
            let mut out = Vec::new();
            render::write_member_head(&mut out, self);
            Box::new(out.into_boxed_slice())
        })
    }

    /// A member with `constants` and `properties`, no roles.
    pub(crate) fn new(
        xuid: u64,
        constants: &Map<String, Value>,
        properties: &Map<String, Value>,
        reserved: bool,
        active_title_id: Option<TitleId>,
        join_time: DateTime<Utc>,
    ) -> Self {
        let (facts, link) = MemberFacts::of(properties);
        Self {
            xuid,
            constants: Bag::from_map(constants),
            properties: Bag::from_map(properties),
            facts,
            link,
            roles: None,
            reserved,
            active_title_id,
            join_time,
            state_since: join_time,
            episode: None,
            failure: None,
            rendered: RenderCache::default(),
        }
    }

    /// `properties`.
    pub(crate) fn properties(&self) -> &Bag {
        &self.properties
    }

    /// Replaces `properties`.
    pub(crate) fn set_properties(&mut self, properties: &Map<String, Value>) {
        self.properties = Bag::from_map(properties);
        (self.facts, self.link) = MemberFacts::of(properties);
        self.rendered = RenderCache::default();
    }

    /// Whether `properties.system.active` is true.
    pub(crate) fn is_active(&self) -> bool {
        self.facts.active
    }

    /// Whether the member is active or ready: anything else is inactive, and an inactive member has no
    /// activity.
    pub(crate) fn is_present(&self) -> bool {
        self.facts.active || self.facts.ready
    }

    /// `properties.system.connection`, lower case, when it is a non-empty string.
    pub(crate) fn connection(&self) -> Option<&str> {
        self.link.as_ref().map(|link| &*link.connection)
    }

    /// `properties.system.subscription`, when the member also has a [`connection`](Self::connection).
    pub(crate) fn subscription(&self) -> Option<&Subscription> {
        self.link.as_ref()?.subscription.as_ref()
    }
}

/// What the emulator reads from a session's (write-once) constants on reads and writes, cached when they are
/// set.
#[derive(Debug, Clone)]
struct ConstantFacts {
    visibility: Visibility,
    /// `maxMembersCount` (validated to at most 1000; a larger stored value saturates, which no member count
    /// reaches either).
    max_members: u32,
    large: bool,
    connection_required: bool,
    /// The removal timeouts; `None` when they are the defaults (most sessions), so the session carries 8 bytes
    /// for them instead of 72.
    timeouts: Option<Box<timers::Timeouts>>,
    /// `memberInitialization`, boxed (rarely set).
    init: Option<Box<timers::InitConfig>>,
}

impl ConstantFacts {
    fn of(constants: &Map<String, Value>) -> Self {
        let constant = |key: &str| system(constants).and_then(|sys| sys.get(key));
        let capability = |name: &str| {
            constant("capabilities")
                .and_then(|caps| caps.get(name))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        Self {
            visibility: match constant("visibility").and_then(Value::as_str) {
                Some(text) if text.eq_ignore_ascii_case("private") => Visibility::Private,
                Some(text) if text.eq_ignore_ascii_case("visible") => Visibility::Visible,
                _ => Visibility::Open,
            },
            max_members: u32::try_from(
                constant("maxMembersCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(validate::MAX_MEMBERS_NORMAL),
            )
            .unwrap_or(u32::MAX),
            large: capability("large"),
            connection_required: capability("connectionRequiredForActiveMembers"),
            timeouts: Some(timers::Timeouts::of(system(constants)))
                .filter(|timeouts| *timeouts != timers::Timeouts::DEFAULT)
                .map(Box::new),
            init: timers::InitConfig::of(system(constants)).map(Box::new),
        }
    }
}

/// A stored session.
///
/// Stored behind an `Arc` and never changed in place while shared: a write changes a copy (whose members are
/// shared with the stored state and copied only when the write changes them) and stores that, so a snapshot
/// taken under the session's lock can be rendered after the lock is released.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The reference as spelled at creation.
    pub(crate) reference: SessionRef,
    pub(crate) branch: Uuid,
    pub(crate) correlation_id: Uuid,
    pub(crate) start_time: DateTime<Utc>,
    /// Number of committed writes.
    pub(crate) change_number: u64,
    pub(crate) etag: Etag,
    /// `{system, custom}`; write-once. Set through [`Session::set_constants`].
    constants: Bag,
    /// Cached from `constants`.
    facts: ConstantFacts,
    /// `{system, custom}`.
    pub(crate) properties: Bag,
    /// `roleTypes`, when written (boxed, like `servers`: most sessions have none).
    pub(crate) role_types: Option<Box<Value>>,
    /// `servers`, when written.
    pub(crate) servers: Option<Box<Value>>,
    /// Members by index, each shared with earlier snapshots until a write changes it.
    pub(crate) members: Members,
    /// The index the next member gets.
    pub(crate) next_index: u32,
    /// The session's search handle, if one exists.
    /// (Boxed: most sessions have none, and the box keeps `Session` in a smaller allocation size class.)
    search_handle: Option<Box<Uuid>>,
    /// XUIDs of accepted members who left; they may rejoin a `locked` session.
    /// (Boxed and made on the first: most sessions have none.)
    #[expect(
        clippy::box_collection,
        reason = "one pointer in every session instead of a 24-byte set most never fill"
    )]
    former_members: Option<Box<BTreeSet<u64>>>,
    /// `nextTimer`: the earliest pending timer (computed whenever the session is committed).
    pub(crate) next_timer: Option<DateTime<Utc>>,
    /// Since when the session has no member (`sessionEmptyTimeout` counts from here).
    pub(crate) empty_since: Option<DateTime<Utc>>,
    /// `initializing`, while member initialization runs (or after episode 1 failed).
    /// (Boxed: most sessions never run it.)
    initializing: Option<Box<timers::Initializing>>,
    /// The number of initialization episodes started so far.
    pub(crate) episodes: u32,
    /// Who created the session (the per-user session limit); `None` for a restored session whose record names
    /// nobody. Kept here rather than in a map of every session.
    creator: Option<NonZeroU64>,
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
            etag: Etag::new(),
            constants: Bag::from_map(&constants),
            facts: ConstantFacts::of(&constants),
            properties: Bag::from_map(&empty_bag()),
            role_types: None,
            servers: None,
            members: Members::default(),
            next_index: 0,
            search_handle: None,
            former_members: None,
            next_timer: None,
            empty_since: None,
            initializing: None,
            episodes: 0,
            creator: None,
        }
    }

    /// `initializing`, while member initialization runs (or after episode 1 failed).
    pub(crate) fn initializing(&self) -> Option<timers::Initializing> {
        self.initializing.as_deref().copied()
    }

    /// Sets or clears `initializing`.
    pub(crate) fn set_initializing(&mut self, initializing: Option<timers::Initializing>) {
        self.initializing = initializing.map(Box::new);
    }

    /// Whether `xuid` is an accepted member who left.
    pub(crate) fn is_former_member(&self, xuid: u64) -> bool {
        self.former_members
            .as_ref()
            .is_some_and(|former| former.contains(&xuid))
    }

    /// Records that the accepted member `xuid` left.
    pub(crate) fn add_former_member(&mut self, xuid: u64) {
        self.former_members.get_or_insert_default().insert(xuid);
    }

    /// The accepted members who left, ascending.
    pub(crate) fn former_members(&self) -> impl Iterator<Item = u64> + '_ {
        self.former_members
            .iter()
            .flat_map(|former| former.iter().copied())
    }

    /// Replaces the accepted members who left (a restored session).
    pub(crate) fn set_former_members(&mut self, former: BTreeSet<u64>) {
        self.former_members = (!former.is_empty()).then(|| Box::new(former));
    }

    /// Who created the session, when known.
    pub(crate) fn creator(&self) -> Option<u64> {
        self.creator.map(NonZeroU64::get)
    }

    /// Records who created the session (a XUID of 0, which no caller has, records nobody).
    pub(crate) fn set_creator(&mut self, creator: Option<u64>) {
        self.creator = creator.and_then(NonZeroU64::new);
    }

    /// `constants`.
    pub(crate) fn constants(&self) -> &Bag {
        &self.constants
    }

    /// Replaces `constants` (when the session is created or restored).
    pub(crate) fn set_constants(&mut self, constants: &Map<String, Value>) {
        self.constants = Bag::from_map(constants);
        self.facts = ConstantFacts::of(constants);
    }

    /// `constants.system.<key>`, parsed (for the paths that are not on every request).
    fn constant(&self, key: &str) -> Option<Value> {
        system(&self.constants.to_map()).and_then(|sys| sys.get(key).cloned())
    }

    /// `properties.system.<key>`, parsed.
    pub(crate) fn property(&self, key: &str) -> Option<Value> {
        system(&self.properties.to_map()).and_then(|sys| sys.get(key).cloned())
    }

    /// Whether `properties.system.closed` is true: the session is closed for joining.
    pub(crate) fn is_closed(&self) -> bool {
        self.property("closed").and_then(|v| v.as_bool()) == Some(true)
    }

    /// Whether `properties.system.locked` is true: only members who left may (re)join.
    pub(crate) fn is_locked(&self) -> bool {
        self.property("locked").and_then(|v| v.as_bool()) == Some(true)
    }

    /// Records a committed change: advances `changeNumber` and issues a new ETag.
    pub(crate) fn touch(&mut self) {
        self.change_number += 1;
        self.etag = Etag::new();
    }

    /// Sets or clears the search handle; a change is a committed change of the session document.
    pub(crate) fn set_search_handle(&mut self, handle: Option<Uuid>) {
        if self.search_handle() != handle {
            self.put_search_handle(handle);
            self.touch();
        }
    }

    /// The session's search handle, if one exists.
    pub(crate) fn search_handle(&self) -> Option<Uuid> {
        self.search_handle.as_deref().copied()
    }

    /// Sets or clears the search handle without committing a change (a restored session, an undone commit).
    pub(crate) fn put_search_handle(&mut self, handle: Option<Uuid>) {
        self.search_handle = handle.map(Box::new);
    }

    /// `constants.system.capabilities.<name>`.
    pub(crate) fn capability(&self, name: &str) -> bool {
        match name {
            "large" => self.facts.large,
            "connectionRequiredForActiveMembers" => self.facts.connection_required,
            _ => self
                .constant("capabilities")
                .and_then(|caps| caps.get(name).and_then(Value::as_bool))
                .unwrap_or(false),
        }
    }

    /// `constants.system.maxMembersCount`.
    pub(crate) fn max_members(&self) -> u64 {
        u64::from(self.facts.max_members)
    }

    /// `constants.system.visibility`.
    pub(crate) fn visibility(&self) -> Visibility {
        self.facts.visibility
    }

    /// The four removal timeouts (`constants.system`).
    pub(crate) fn timeouts(&self) -> &timers::Timeouts {
        self.facts
            .timeouts
            .as_deref()
            .unwrap_or(&timers::Timeouts::DEFAULT)
    }

    /// `constants.system.memberInitialization` with its defaults, when the session has one.
    pub(crate) fn init_config(&self) -> Option<timers::InitConfig> {
        self.facts.init.as_deref().copied()
    }

    /// Whether an empty session is deleted at once (`sessionEmptyTimeout` is 0).
    pub(crate) fn deleted_when_empty(&self) -> bool {
        self.timeouts().empty == Some(0)
    }

    /// Whether a timeout is stored as `null` (infinite): the rendering leaves such keys out.
    pub(crate) fn has_null_timeout(&self) -> bool {
        self.timeouts().any_null
    }

    /// `constants.system.inviteProtocol`.
    pub(crate) fn invite_protocol(&self) -> Option<String> {
        match self.constant("inviteProtocol") {
            Some(Value::String(protocol)) => Some(protocol),
            _ => None,
        }
    }

    /// The index and member entry of `xuid`, reserved or not.
    pub(crate) fn member(&self, xuid: u64) -> Option<(u32, &Member)> {
        self.members
            .iter()
            .find(|(_, member)| member.xuid == xuid)
            .map(|(index, member)| (*index, &**member))
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

    /// The visibility as reported: `full` when an open session has no room left.
    fn reported_visibility(&self) -> Value {
        let stored = self.constant("visibility").unwrap_or(json!("open"));
        let full = self.members.len() as u64 >= self.max_members();
        if full && self.visibility() == Visibility::Open {
            json!("full")
        } else {
            stored
        }
    }

    /// The session as rendered to `caller` for a request of `contract_version`, with its header values. The
    /// document itself is serialized from this snapshot later, outside any lock ([`SessionView::body`]).
    pub(crate) fn view(self: &Arc<Self>, contract_version: u32, caller: u64) -> SessionView {
        SessionView {
            session: Arc::clone(self),
            contract_version,
            caller,
            etag: self.etag.to_string(),
            location: self.reference.uri_path(),
        }
    }

    /// The session document as rendered to `caller` for a request of `contract_version`, as JSON bytes.
    pub(crate) fn document(&self, contract_version: u32, caller: u64) -> Vec<u8> {
        render::Rendered {
            session: self,
            contract_version,
            caller,
        }
        .to_vec()
    }

    /// The session document as rendered to `caller` for a request of `contract_version`, as a `Value` (the
    /// server writes the bytes of [`SessionView::body`] instead).
    pub(crate) fn render(&self, contract_version: u32, caller: u64) -> Value {
        let bytes = self.document(contract_version, caller);
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }

    /// `relatedInfo` of a handle pointing at this session; `with_owners` adds `sessionOwners` (search handles).
    pub(crate) fn related_info(&self, with_owners: bool) -> Value {
        let mut info = Map::new();
        info.insert("visibility".to_owned(), self.reported_visibility());
        info.insert(
            "joinRestriction".to_owned(),
            self.property("joinRestriction").unwrap_or(json!("none")),
        );
        info.insert("closed".to_owned(), json!(self.is_closed()));
        info.insert("maxMembersCount".to_owned(), json!(self.max_members()));
        info.insert("membersCount".to_owned(), json!(self.members.len()));
        if with_owners {
            let owners: Vec<String> = self
                .property("owners")
                .as_ref()
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
        self.properties
            .to_map()
            .remove("custom")
            .unwrap_or(json!({}))
    }

    /// `roleInfo` of a search handle: `{roleTypes}`.
    pub(crate) fn role_info(&self) -> Value {
        json!({ "roleTypes": self.role_types.as_deref().cloned().unwrap_or(json!({})) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_ids_keep_their_spelling() {
        for (text, number) in [
            ("0", Some(0)),
            ("1234567", Some(1_234_567)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("01234", None),
            ("+12", None),
            ("-1", None),
            ("", None),
            ("title", None),
            (" 12", None),
        ] {
            let title = TitleId::from_text(text);
            assert_eq!(title.to_string(), text);
            assert_eq!(
                serde_json::to_string(&title).ok(),
                serde_json::to_string(text).ok()
            );
            match number {
                Some(number) => assert_eq!(title, TitleId::Number(number)),
                None => assert!(matches!(title, TitleId::Text(_)), "{text}"),
            }
        }
        assert_eq!(std::mem::size_of::<Option<TitleId>>(), 16);
    }

    /// A stored session and member stay within their allocation size classes (glibc rounds an allocation up to
    /// a multiple of 16 with an 8-byte header; an `Arc` adds 16 bytes): growing either costs every session.
    #[test]
    fn stored_types_stay_small() {
        assert!(
            std::mem::size_of::<Member>() <= 152,
            "{}",
            std::mem::size_of::<Member>()
        );
        assert!(
            std::mem::size_of::<Session>() <= 296,
            "{}",
            std::mem::size_of::<Session>()
        );
    }
}
