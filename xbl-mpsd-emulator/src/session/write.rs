//! Applying a PUT body to a session: merge, membership changes, validation. Pure: the caller commits the result.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::merge::{constant_change, merge, merge_into_slot};
use super::timers;
use super::validate::{self, bag, member_patch, object};
use super::{Bag, Member, Session, TitleId, Visibility, empty_bag, repair_bag, system};
use crate::error::{ApiError, ApiResult};
use crate::model::{SessionRef, parse_xuid};
use crate::templates::Template;

/// Top-level fields a client may write.
const WRITABLE: &[&str] = &["constants", "properties", "members", "servers", "roleTypes"];
/// Top-level fields the server owns; present in a body (e.g. a re-sent document) they are ignored.
const READ_ONLY: &[&str] = &[
    "contractVersion",
    "branch",
    "changeNumber",
    "correlationId",
    "searchHandle",
    "startTime",
    "nextTimer",
    "initializing",
    "hostCandidates",
    "membersInfo",
    "key",
];

/// Who writes, and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteContext {
    /// The caller's XUID (`me`).
    pub(crate) caller: u64,
    /// The time of the write.
    pub(crate) now: DateTime<Utc>,
    /// The title ID members join from.
    pub(crate) title_id: u32,
    /// Whether the caller holds an invite or transfer grant for this session (may join when private).
    pub(crate) granted: bool,
}

/// The outcome of applying a write.
#[derive(Debug)]
pub(crate) enum Applied {
    /// The session exists after the write.
    Stored {
        /// The new session state, change number and ETag already advanced.
        session: Box<Session>,
        /// Whether the write created it.
        created: bool,
        /// XUIDs whose activity handles on this session end: members who left, and members who were active
        /// or ready and now are neither.
        departed: Vec<u64>,
    },
    /// The session does not exist after the write (it was emptied, or never got a member).
    Deleted {
        /// XUIDs of every member it had.
        departed: Vec<u64>,
    },
}

/// Applies `body` to `current` (or creates the session at `reference` when `current` is `None`).
pub(crate) fn apply(
    current: Option<&Session>,
    reference: &SessionRef,
    body: &Map<String, Value>,
    ctx: &WriteContext,
    template: &Template,
) -> ApiResult<Applied> {
    for key in body.keys() {
        if !WRITABLE.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "'{key}' is not a writable session field"
            )));
        }
    }
    let part = |key: &str| -> ApiResult<Option<&Map<String, Value>>> {
        body.get(key).map(|value| object(value, key)).transpose()
    };
    let constants = body
        .get("constants")
        .map(|value| bag(value, "constants"))
        .transpose()?;
    let properties = body
        .get("properties")
        .map(|value| bag(value, "properties"))
        .transpose()?;
    let members = part("members")?;
    let servers = part("servers")?;
    let role_types = part("roleTypes")?;

    let created = current.is_none();
    let mut session = match current {
        Some(existing) => existing.clone(),
        None => Session::new(reference, ctx.now),
    };
    let before = session.member_xuids();

    let me = members.and_then(|m| m.get("me"));
    let joins = me.is_some_and(Value::is_object);
    if !created && !joins && !session.has_member(ctx.caller) {
        return Err(ApiError::forbidden(
            "The caller is not a member of the session; only members can write it (join with members.me)",
        ));
    }

    if created {
        set_creation_constants(
            &mut session,
            constants.unwrap_or(&Map::new()),
            ctx.caller,
            template,
        )?;
        session.role_types = template.role_types.clone().map(Box::new);
    } else if let Some(patch) = constants
        && let Some(path) = constant_change(
            Some(&Value::Object(session.constants().to_map())),
            &Value::Object(patch.clone()),
            "constants",
        )
    {
        return Err(ApiError::conflict(format!(
            "{path} conflicts with the session: constants can only be set when the session is created"
        )));
    }

    // Merged here, validated and stored below (after the member changes, whose errors come first). A write
    // that does not touch the properties leaves them as they were validated when they were written.
    let properties = properties.map(|patch| {
        let mut merged = session.properties.to_map();
        merge(&mut merged, patch);
        repair_bag(&mut merged);
        merged
    });

    if let Some(members) = members {
        check_member_keys(members)?;
        match me {
            Some(Value::Null) => {
                if let Some((index, member)) = session.member(ctx.caller) {
                    if !member.reserved {
                        session.add_former_member(ctx.caller);
                    }
                    session.members.remove(&index);
                }
            }
            Some(patch) => join_or_update(&mut session, patch, ctx, current)?,
            None => {}
        }
        for (key, patch) in members
            .iter()
            .filter(|(key, _)| key.starts_with("reserve_"))
        {
            reserve(&mut session, key, patch, ctx)?;
        }
    }

    if let Some(patch) = servers {
        merge_into_box(&mut session.servers, patch);
    }
    if let Some(patch) = role_types {
        merge_into_box(&mut session.role_types, patch);
        validate::role_types(session.role_types.as_deref())?;
    }

    if let Some(properties) = properties {
        let large = session.capability("large");
        let private = session.visibility() == Visibility::Private;
        validate::session_properties(system(&properties).unwrap_or(&Map::new()), large, private)?;
        session.properties = Bag::from_map(&properties);
    }

    timers::on_write(&mut session, current, ctx.now)?;
    if session.members.is_empty() && session.deleted_when_empty() {
        return Ok(Applied::Deleted { departed: before });
    }
    let departed = current.map_or_else(Vec::new, |old| lost_activity(old, &session));
    timers::stamp(&mut session, current, ctx.now);
    session.touch();
    Ok(Applied::Stored {
        session: Box::new(session),
        created,
        departed,
    })
}

/// [`merge_into_slot`] for a boxed slot (the rarely written parts are boxed to keep sessions small).
fn merge_into_box(slot: &mut Option<Box<Value>>, patch: &Map<String, Value>) {
    let mut value = slot.take().map(|boxed| *boxed);
    merge_into_slot(&mut value, patch);
    *slot = value.map(Box::new);
}

/// Members of `old` whose activity ends in `new`: they left, or they were active or ready and are neither now.
pub(crate) fn lost_activity(old: &Session, new: &Session) -> Vec<u64> {
    old.members
        .iter()
        .filter(|(index, before)| {
            // A member the write did not touch is still shared with the old state.
            if new
                .members
                .get(index)
                .is_some_and(|after| Arc::ptr_eq(before, after))
            {
                return false;
            }
            match new.member(before.xuid) {
                None => true,
                Some((_, after)) => before.is_present() && !after.is_present(),
            }
        })
        .map(|(_, member)| member.xuid)
        .collect()
}

/// Sets the constants of a new session: the defaults, overlaid with the template's, then with what the body adds
/// (409 where it contradicts the template), then validated.
fn set_creation_constants(
    session: &mut Session,
    patch: &Map<String, Value>,
    caller: u64,
    template: &Template,
) -> ApiResult<()> {
    let mut constants = session.constants().to_map();
    template.merge_constants(&mut constants, patch)?;
    session.set_constants(&constants);
    let sys = system(&constants).cloned().unwrap_or_default();
    validate::session_constants(&sys)?;
    if let Some(Value::Array(initiators)) = sys.get("initiators") {
        let listed = initiators
            .iter()
            .filter_map(Value::as_str)
            .filter_map(parse_xuid)
            .any(|xuid| xuid == caller);
        if !listed {
            return Err(ApiError::forbidden(
                "constants.system.initiators is set, so the creator's XUID must be in it",
            ));
        }
    }
    Ok(())
}

/// Member keys a user may write: `me` and `reserve_<n>`. Indices need a server principal.
fn check_member_keys(members: &Map<String, Value>) -> ApiResult<()> {
    for key in members.keys() {
        let reserve = key
            .strip_prefix("reserve_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if key == "me" || reserve {
            continue;
        }
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::forbidden(format!(
                "members.{key}: writing members by index requires a server principal"
            )));
        }
        return Err(ApiError::bad_request(format!(
            "members.{key} is not allowed; use 'me' or 'reserve_<n>'"
        )));
    }
    Ok(())
}

/// Joins the caller (or accepts their reservation), or updates their member entry.
fn join_or_update(
    session: &mut Session,
    patch: &Value,
    ctx: &WriteContext,
    current: Option<&Session>,
) -> ApiResult<()> {
    const PATH: &str = "members.me";
    let patch = member_patch(patch, PATH)?;
    let constants = patch.get("constants").and_then(Value::as_object);
    if let Some(xuid) = constants.and_then(system).and_then(|sys| sys.get("xuid")) {
        match xuid.as_str().and_then(parse_xuid) {
            None => {
                return Err(ApiError::bad_request(format!(
                    "{PATH}.constants.system.xuid must be a decimal XUID string"
                )));
            }
            Some(xuid) if xuid != ctx.caller => {
                return Err(ApiError::forbidden(format!(
                    "{PATH}.constants.system.xuid must be the caller's own XUID"
                )));
            }
            Some(_) => {}
        }
    }

    // Whether the member's constants are set by this write (a join or an accepted reservation); an accepted
    // member's constants cannot change, and were checked when they were set.
    let mut constants_set = true;
    let index = match session.member(ctx.caller) {
        Some((index, member)) if !member.reserved => {
            constants_set = false;
            if let Some(constants) = constants {
                let existing = Value::Object(member.constants.to_map());
                let patch = Value::Object(constants.clone());
                if let Some(path) =
                    constant_change(Some(&existing), &patch, &format!("{PATH}.constants"))
                {
                    return Err(ApiError::conflict(format!(
                        "{path} conflicts with the member: member constants can only be set when joining"
                    )));
                }
            }
            index
        }
        Some((index, _)) => {
            accept_reservation(session, index, constants, ctx);
            index
        }
        None => add_member(session, constants, ctx, current)?,
    };

    let Some(member) = session.members.get_mut(&index).map(Member::make_mut) else {
        return Ok(());
    };
    let properties = match patch.get("properties") {
        Some(Value::Object(patch)) => {
            let mut merged = member.properties().to_map();
            merge(&mut merged, patch);
            repair_bag(&mut merged);
            member.set_properties(&merged);
            merged
        }
        _ => member.properties().to_map(),
    };
    if let Some(roles) = patch.get("roles") {
        match roles {
            Value::Object(roles) => merge_into_box(&mut member.roles, roles),
            _ => member.roles = None,
        }
    }
    let empty = Map::new();
    let constants = if constants_set {
        member.constants.to_map()
    } else {
        Map::new()
    };
    validate::member_system(
        system(&constants).unwrap_or(&empty),
        system(&properties).unwrap_or(&empty),
        PATH,
    )
}

/// Member constants for a join or reservation: `{system: {index, xuid, …}, custom}`.
fn member_constants(
    index: u32,
    xuid: u64,
    patch: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut sys = Map::new();
    sys.insert("index".to_owned(), json!(index));
    sys.insert("xuid".to_owned(), json!(xuid.to_string()));
    if let Some(Value::Object(given)) = patch.and_then(|p| p.get("system")) {
        for (key, value) in given {
            if key != "index" && key != "xuid" && !value.is_null() {
                sys.insert(key.clone(), value.clone());
            }
        }
    }
    let mut constants = empty_bag();
    constants.insert("system".to_owned(), Value::Object(sys));
    if let Some(custom) = patch.and_then(|p| p.get("custom")) {
        constants.insert("custom".to_owned(), custom.clone());
    }
    constants
}

/// Takes the index for a new member at `path`, refusing (400, as for a `full` session) when it has no room left.
fn next_member_index(session: &mut Session, path: &str) -> ApiResult<u32> {
    if session.members.len() as u64 >= session.max_members() {
        return Err(ApiError::bad_request(format!(
            "{path}: the session is full; it allows at most {} members (constants.system.maxMembersCount)",
            session.max_members()
        )));
    }
    let index = session.next_index;
    session.next_index = index.checked_add(1).ok_or_else(|| {
        ApiError::conflict(format!("{path}: the session has run out of member indices"))
    })?;
    Ok(index)
}

/// Turns the caller's reservation into a membership, in place.
fn accept_reservation(
    session: &mut Session,
    index: u32,
    constants: Option<&Map<String, Value>>,
    ctx: &WriteContext,
) {
    if let Some(member) = session.members.get_mut(&index).map(Member::make_mut) {
        if let Some(patch) = constants {
            let fresh = member_constants(index, ctx.caller, Some(patch));
            let mut stored = member.constants.to_map();
            if let (Some(Value::Object(given)), Some(Value::Object(target))) =
                (fresh.get("system"), stored.get_mut("system"))
            {
                for (key, value) in given {
                    target.insert(key.clone(), value.clone());
                }
            }
            if let Some(custom) = patch.get("custom") {
                stored.insert("custom".to_owned(), custom.clone());
            }
            member.constants = Bag::from_map(&stored);
        }
        member.reserved = false;
        member.active_title_id = Some(TitleId::Number(ctx.title_id));
        member.join_time = ctx.now;
    }
}

/// Adds the caller as a new member, if the session as it was before this write lets them in: not `closed`,
/// not `locked` unless they are a former member, and a visibility that admits them.
fn add_member(
    session: &mut Session,
    constants: Option<&Map<String, Value>>,
    ctx: &WriteContext,
    current: Option<&Session>,
) -> ApiResult<u32> {
    if let Some(before) = current {
        if before.is_closed() {
            return Err(ApiError::forbidden(
                "The session is closed (properties.system.closed): no new members can join until it is reopened",
            ));
        }
        if before.is_locked() && !before.is_former_member(ctx.caller) {
            return Err(ApiError::forbidden(
                "The session is locked (properties.system.locked): only members who left may rejoin",
            ));
        }
        match before.visibility() {
            Visibility::Private if !ctx.granted => {
                return Err(ApiError::forbidden(
                    "The session is private: only reserved users and invitees can join it",
                ));
            }
            Visibility::Visible => {
                return Err(ApiError::bad_request(
                    "The session's visibility is 'visible': it can be read but not joined",
                ));
            }
            _ => {}
        }
    }
    let index = next_member_index(session, "members.me")?;
    session.members.insert(
        index,
        Arc::new(Member::new(
            ctx.caller,
            &member_constants(index, ctx.caller, constants),
            &empty_bag(),
            false,
            Some(TitleId::Number(ctx.title_id)),
            ctx.now,
        )),
    );
    Ok(index)
}

/// Adds a reserved member from `members.reserve_N`.
fn reserve(session: &mut Session, key: &str, patch: &Value, ctx: &WriteContext) -> ApiResult<()> {
    let path = format!("members.{key}");
    let patch = member_patch(patch, &path)?;
    let constants = patch.get("constants").and_then(Value::as_object);
    let xuid = constants
        .and_then(system)
        .and_then(|sys| sys.get("xuid"))
        .and_then(Value::as_str)
        .and_then(parse_xuid)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{path}.constants.system.xuid is required and must be a decimal XUID string"
            ))
        })?;
    if session.capability("large") {
        return Err(ApiError::bad_request(format!(
            "{path}: reservations are not allowed on large sessions"
        )));
    }
    if session.has_member(xuid) {
        return Err(ApiError::conflict(format!(
            "{path}: user {xuid} is already a member of the session"
        )));
    }
    let index = next_member_index(session, &path)?;
    let member_constants = member_constants(index, xuid, constants);
    let empty = Map::new();
    validate::member_system(system(&member_constants).unwrap_or(&empty), &empty, &path)?;
    session.members.insert(
        index,
        Arc::new(Member::new(
            xuid,
            &member_constants,
            &empty_bag(),
            true,
            None,
            ctx.now,
        )),
    );
    Ok(())
}
