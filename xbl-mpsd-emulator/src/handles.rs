//! Handle documents: parsing `POST /handles` and `POST /handles/query` bodies, building handle documents.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::EmulatorConfig;
use crate::error::{ApiError, ApiResult};
use crate::model::{SessionRef, check_ref_part, parse_xuid, timestamp, xuid_from_json};
use crate::session::Session;

/// The most results a handle query returns.
pub(crate) const MAX_QUERY_RESULTS: usize = 100;
/// The longest invite `context`.
const MAX_CONTEXT_LEN: usize = 256;
/// The longest search attribute name or tag.
const MAX_SEARCH_NAME_LEN: usize = 99;

/// The four handle types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandleKind {
    /// A user's current activity in a session.
    Activity,
    /// A game invite to one user.
    Invite,
    /// Makes a session browsable.
    Search,
    /// Extends access to an origin session's members to a target session.
    Transfer,
}

impl HandleKind {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "activity" => Some(Self::Activity),
            "invite" => Some(Self::Invite),
            "search" => Some(Self::Search),
            "transfer" => Some(Self::Transfer),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::Invite => "invite",
            Self::Search => "search",
            Self::Transfer => "transfer",
        }
    }
}

/// A stored handle.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    /// The handle ID.
    pub(crate) id: Uuid,
    /// Its type.
    pub(crate) kind: HandleKind,
    /// The user who created it: the only one who may delete it.
    pub(crate) creator: u64,
    /// The (target) session.
    pub(crate) session: SessionRef,
    /// A transfer handle's origin session.
    pub(crate) origin: Option<SessionRef>,
    /// An invite handle's invitee.
    pub(crate) invited: Option<u64>,
    /// The handle document as returned.
    pub(crate) doc: Map<String, Value>,
}

/// A validated `POST /handles` body.
#[derive(Debug, Clone)]
pub(crate) struct HandleRequest {
    /// The handle type.
    pub(crate) kind: HandleKind,
    /// `sessionRef`.
    pub(crate) session: SessionRef,
    /// `originSessionRef` (transfer).
    pub(crate) origin: Option<SessionRef>,
    /// `invitedXuid` (invite).
    pub(crate) invited: Option<u64>,
    /// `inviteAttributes` (invite).
    invite_attributes: Option<Map<String, Value>>,
    /// `searchAttributes` (search).
    search_attributes: Option<Value>,
}

/// Validates a `POST /handles` body.
pub(crate) fn parse_request(body: &Map<String, Value>) -> ApiResult<HandleRequest> {
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(HandleKind::parse)
        .ok_or_else(|| {
            ApiError::bad_request(
                "type is required and must be one of activity, invite, search, transfer",
            )
        })?;
    if body.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(ApiError::bad_request("version is required and must be 1"));
    }
    let session = SessionRef::from_json_filling_name(body, "sessionRef")?;
    // Every field the spec types is checked whatever the handle type, so that a field of the wrong type is
    // a 400 rather than silently ignored; each is then kept only by the handle type it belongs to.
    let present = |key: &str| body.get(key).filter(|value| !value.is_null());
    let invited = present("invitedXuid")
        .map(|value| xuid_from_json(Some(value), "invitedXuid"))
        .transpose()?;
    let invite = present("inviteAttributes")
        .map(invite_attributes)
        .transpose()?;
    let search = present("searchAttributes")
        .map(search_attributes)
        .transpose()?;
    let origin = present("originSessionRef")
        .map(|_| SessionRef::from_json(body, "originSessionRef"))
        .transpose()?;
    let mut request = HandleRequest {
        kind,
        session,
        origin: None,
        invited: None,
        invite_attributes: None,
        search_attributes: None,
    };
    match kind {
        HandleKind::Activity => {}
        HandleKind::Invite => {
            request.invited = Some(match invited {
                Some(xuid) => xuid,
                None => xuid_from_json(None, "invitedXuid")?,
            });
            request.invite_attributes = invite;
        }
        HandleKind::Search => request.search_attributes = search,
        HandleKind::Transfer => {
            request.origin = Some(match origin {
                Some(origin) => origin,
                None => SessionRef::from_json(body, "originSessionRef")?,
            });
        }
    }
    Ok(request)
}

/// Checks `inviteAttributes`: `{titleId, context, contextString, senderString}`, all strings.
fn invite_attributes(value: &Value) -> ApiResult<Map<String, Value>> {
    let map = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("inviteAttributes must be an object"))?;
    for (key, value) in map {
        if !matches!(
            key.as_str(),
            "titleId" | "context" | "contextString" | "senderString"
        ) {
            return Err(ApiError::bad_request(format!(
                "inviteAttributes.{key} is not allowed; use titleId, context, contextString, senderString"
            )));
        }
        let Some(text) = value.as_str() else {
            return Err(ApiError::bad_request(format!(
                "inviteAttributes.{key} must be a string"
            )));
        };
        if key == "titleId" && text.parse::<u32>().is_err() {
            return Err(ApiError::bad_request(
                "inviteAttributes.titleId must be a decimal title ID string",
            ));
        }
        if key == "context" && text.chars().count() > MAX_CONTEXT_LEN {
            return Err(ApiError::bad_request(format!(
                "inviteAttributes.context must be at most {MAX_CONTEXT_LEN} characters"
            )));
        }
    }
    Ok(map.clone())
}

/// Whether `name` is a valid search tag or attribute name: starts with a letter, no spaces, under 100 characters.
fn valid_search_name(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_alphabetic)
        && !name.chars().any(char::is_whitespace)
        && name.chars().count() <= MAX_SEARCH_NAME_LEN
}

/// Checks `searchAttributes`: `{tags: [string], strings: {name: string}, numbers: {name: number}}`.
fn search_attributes(value: &Value) -> ApiResult<Value> {
    let map = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("searchAttributes must be an object"))?;
    for (key, value) in map {
        let ok = match key.as_str() {
            "tags" => value.as_array().is_some_and(|tags| {
                tags.iter()
                    .all(|tag| tag.as_str().is_some_and(valid_search_name))
            }),
            "strings" => value.as_object().is_some_and(|strings| {
                strings
                    .iter()
                    .all(|(name, v)| valid_search_name(name) && v.is_string())
            }),
            "numbers" => value.as_object().is_some_and(|numbers| {
                numbers
                    .iter()
                    .all(|(name, v)| valid_search_name(name) && v.is_number())
            }),
            other => {
                return Err(ApiError::bad_request(format!(
                    "searchAttributes.{other} is not allowed; use tags, strings, numbers"
                )));
            }
        };
        if !ok {
            return Err(ApiError::bad_request(format!(
                "searchAttributes.{key} is invalid: names and tags must start with a letter, contain no spaces and be under 100 characters; strings hold strings, numbers hold numbers"
            )));
        }
    }
    Ok(value.clone())
}

impl HandleRequest {
    /// Builds the stored handle. `invite_protocol` is the session's `constants.system.inviteProtocol`.
    pub(crate) fn into_handle(
        self,
        creator: u64,
        now: DateTime<Utc>,
        config: &EmulatorConfig,
        invite_protocol: Option<String>,
    ) -> Handle {
        let id = Uuid::new_v4();
        let mut doc = Map::new();
        doc.insert("type".to_owned(), json!(self.kind.as_str()));
        doc.insert("sessionRef".to_owned(), self.session.to_json());
        if let Some(origin) = &self.origin {
            doc.insert("originSessionRef".to_owned(), origin.to_json());
        }
        if let Some(search) = &self.search_attributes {
            doc.insert("searchAttributes".to_owned(), search.clone());
        }
        doc.insert("version".to_owned(), json!(1));
        match self.kind {
            HandleKind::Activity => {
                doc.insert("titleId".to_owned(), json!(config.title_id.to_string()));
                doc.insert("ownerXuid".to_owned(), json!(creator.to_string()));
            }
            HandleKind::Invite => {
                let mut attributes = self.invite_attributes.clone().unwrap_or_default();
                if !attributes.contains_key("titleId") {
                    attributes.insert("titleId".to_owned(), json!(config.title_id.to_string()));
                }
                doc.insert("inviteAttributes".to_owned(), Value::Object(attributes));
                let expiration = chrono::Duration::from_std(config.invite_expiration)
                    .ok()
                    .and_then(|delta| now.checked_add_signed(delta))
                    .unwrap_or(now);
                doc.insert("expiration".to_owned(), json!(timestamp(expiration)));
            }
            HandleKind::Search | HandleKind::Transfer => {}
        }
        doc.insert("id".to_owned(), json!(id.to_string()));
        if let Some(invited) = self.invited {
            doc.insert("invitedXuid".to_owned(), json!(invited.to_string()));
            doc.insert("senderXuid".to_owned(), json!(creator.to_string()));
            if let Some(protocol) = invite_protocol {
                doc.insert("inviteProtocol".to_owned(), json!(protocol));
            }
        }
        doc.insert("createTime".to_owned(), json!(timestamp(now)));
        Handle {
            id,
            kind: self.kind,
            creator,
            session: self.session,
            origin: self.origin,
            invited: self.invited,
            doc,
        }
    }
}

/// Which extra fields `?include=` asks for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Include {
    related_info: bool,
    custom_properties: bool,
    role_info: bool,
}

impl Include {
    /// Parses the comma-separated `include` parameter (names compared ignoring case; unknown names ignored).
    pub(crate) fn parse(value: Option<&str>) -> Self {
        let mut include = Self::default();
        for name in value.unwrap_or("").split(',').map(str::trim) {
            if name.eq_ignore_ascii_case("relatedInfo") {
                include.related_info = true;
            } else if name.eq_ignore_ascii_case("customProperties") {
                include.custom_properties = true;
            } else if name.eq_ignore_ascii_case("roleInfo") {
                include.role_info = true;
            }
        }
        include
    }
}

/// A validated `POST /handles/query` body.
#[derive(Debug, Clone)]
pub(crate) enum HandleQuery {
    /// Activity handles of the given owners (`None`: `owners.people`, which needs a social graph).
    Activity {
        /// Optional SCID filter.
        scid: Option<String>,
        /// `owners.xuids`.
        owners: Option<Vec<u64>>,
    },
    /// Search handles of a template.
    Search {
        /// The SCID.
        scid: String,
        /// The template name.
        template_name: String,
        /// Whether `sessionMembers.people` restricts results to a social group (always empty here).
        social: bool,
        /// `sessionMembers.xuids`: only sessions with at least one of these accepted members.
        members: Option<Vec<u64>>,
    },
}

/// The owners (or session members) of a handle query, `HandleQueryOwners`.
enum Owners {
    /// `xuids`.
    Xuids(Vec<u64>),
    /// `people`: a social group, which needs a social graph the emulator does not have.
    People,
}

/// Checks `body[key]` as `HandleQueryOwners`: `{xuids: [XUID]}` (at most 100) or `{people: {moniker,
/// monikerXuid}}`, never both; `None` when absent.
fn query_owners(body: &Map<String, Value>, key: &str) -> ApiResult<Option<Owners>> {
    let Some(value) = body.get(key).filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let owners = value.as_object().ok_or_else(|| {
        ApiError::bad_request(format!("{key} must be an object with xuids or people"))
    })?;
    let xuids_error = || {
        ApiError::bad_request(format!(
            "{key}.xuids must be an array of decimal XUID strings"
        ))
    };
    match (owners.get("xuids"), owners.get("people")) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "{key} must hold either xuids or people, not both"
        ))),
        (Some(Value::Array(xuids)), None) => {
            if xuids.len() > MAX_QUERY_RESULTS {
                return Err(ApiError::bad_request(format!(
                    "{key}.xuids holds at most {MAX_QUERY_RESULTS} XUIDs"
                )));
            }
            let parsed: Option<Vec<u64>> = xuids
                .iter()
                .map(|x| x.as_str().and_then(parse_xuid))
                .collect();
            Ok(Some(Owners::Xuids(parsed.ok_or_else(xuids_error)?)))
        }
        (None, Some(Value::Object(people))) => {
            if people
                .get("moniker")
                .is_some_and(|moniker| !moniker.is_null() && !moniker.is_string())
            {
                return Err(ApiError::bad_request(format!(
                    "{key}.people.moniker must be a string"
                )));
            }
            if let Some(xuid) = people.get("monikerXuid").filter(|xuid| !xuid.is_null()) {
                xuid_from_json(Some(xuid), &format!("{key}.people.monikerXuid"))?;
            }
            Ok(Some(Owners::People))
        }
        (None, Some(_)) => Err(ApiError::bad_request(format!(
            "{key}.people must be an object {{moniker, monikerXuid}}"
        ))),
        _ => Err(xuids_error()),
    }
}

/// Validates a `POST /handles/query` body. Every field the spec types is checked whatever the query type (a
/// field of the wrong type is a 400, never silently ignored); each is then used by the query type it
/// belongs to.
pub(crate) fn parse_query(body: &Map<String, Value>) -> ApiResult<HandleQuery> {
    let string = |key: &str| -> ApiResult<Option<String>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
            Some(_) => Err(ApiError::bad_request(format!(
                "{key} must be a non-empty string"
            ))),
        }
    };
    let scid = string("scid")?;
    if let Some(scid) = &scid {
        check_ref_part(scid, &"scid")?;
    }
    let template_name = string("templateName")?;
    let filter = string("filter")?;
    string("orderBy")?;
    if body
        .get("global")
        .is_some_and(|global| !global.is_null() && !global.is_boolean())
    {
        return Err(ApiError::bad_request("global must be a boolean"));
    }
    let owners = query_owners(body, "owners")?;
    let session_members = query_owners(body, "sessionMembers")?;
    match body.get("type").and_then(Value::as_str) {
        Some("activity") => {
            let owners = match owners {
                Some(Owners::Xuids(xuids)) => Some(xuids),
                Some(Owners::People) => None,
                None => {
                    return Err(ApiError::bad_request(
                        "owners is required and must be an object with xuids or people",
                    ));
                }
            };
            Ok(HandleQuery::Activity { scid, owners })
        }
        Some("search") => {
            let scid =
                scid.ok_or_else(|| ApiError::bad_request("scid is required for a search query"))?;
            let template_name = template_name.ok_or_else(|| {
                ApiError::bad_request("templateName is required for a search query")
            })?;
            if filter.is_some() {
                return Err(ApiError::bad_request(
                    "filter: OData filters are not supported by the emulator; omit filter to list every search handle",
                ));
            }
            let (social, members) = match session_members {
                Some(Owners::People) => (true, None),
                Some(Owners::Xuids(xuids)) => (false, Some(xuids)),
                None => (false, None),
            };
            Ok(HandleQuery::Search {
                scid,
                template_name,
                social,
                members,
            })
        }
        _ => Err(ApiError::bad_request(
            "type is required and must be 'activity' or 'search'",
        )),
    }
}

/// A query result: the handle document plus what `include` asks for (when its session exists).
pub(crate) fn query_result(handle: &Handle, session: Option<&Session>, include: Include) -> Value {
    let mut doc = handle.doc.clone();
    if let Some(session) = session {
        if include.related_info {
            doc.insert(
                "relatedInfo".to_owned(),
                session.related_info(handle.kind == HandleKind::Search),
            );
        }
        if include.custom_properties {
            doc.insert("customProperties".to_owned(), session.custom_properties());
        }
        if include.role_info && handle.kind == HandleKind::Search {
            doc.insert("roleInfo".to_owned(), session.role_info());
        }
    }
    Value::Object(doc)
}
