//! Type and value checks of the system parts of a session document. Every error is a 400 naming the field.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::model::{SessionRef, parse_xuid};

/// The writable visibility values (`full` is only ever reported).
const VISIBILITIES: &[&str] = &["private", "visible", "open"];
/// The join and read restriction values.
const RESTRICTIONS: &[&str] = &["none", "local", "followed"];
/// The largest `maxMembersCount` of a normal session.
pub(crate) const MAX_MEMBERS_NORMAL: u64 = 100;
/// The largest `maxMembersCount` of a large session.
pub(crate) const MAX_MEMBERS_LARGE: u64 = 1000;

/// Requires `value` to be a JSON object.
pub(crate) fn object<'a>(value: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| ApiError::bad_request(format!("{path} must be a JSON object")))
}

/// Requires a property bag: an object with at most the keys `system` (an object) and `custom` (any JSON).
pub(crate) fn bag<'a>(value: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    let map = object(value, path)?;
    if let Some(key) = map
        .keys()
        .find(|key| !matches!(key.as_str(), "system" | "custom"))
    {
        return Err(ApiError::bad_request(format!(
            "{path}.{key} is not allowed; {path} holds only 'system' and 'custom'"
        )));
    }
    if let Some(system) = map.get("system").filter(|system| !system.is_null()) {
        object(system, &format!("{path}.system"))?;
    }
    Ok(map)
}

/// A present, non-null field of `map`.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|value| !value.is_null())
}

fn fail(path: &str, key: &str, what: &str) -> ApiError {
    ApiError::bad_request(format!("{path}.{key} must be {what}"))
}

fn opt_bool(map: &Map<String, Value>, key: &str, path: &str) -> ApiResult<()> {
    match field(map, key) {
        Some(value) if !value.is_boolean() => Err(fail(path, key, "a boolean")),
        _ => Ok(()),
    }
}

fn opt_string(map: &Map<String, Value>, key: &str, path: &str) -> ApiResult<()> {
    match field(map, key) {
        Some(value) if !value.is_string() => Err(fail(path, key, "a string")),
        _ => Ok(()),
    }
}

fn opt_enum(map: &Map<String, Value>, key: &str, allowed: &[&str], path: &str) -> ApiResult<()> {
    match field(map, key) {
        Some(value) if !value.as_str().is_some_and(|text| one_of(text, allowed)) => {
            Err(fail(path, key, &format!("one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Whether `text` is one of `allowed`, ignoring ASCII case.
pub(crate) fn one_of(text: &str, allowed: &[&str]) -> bool {
    allowed
        .iter()
        .any(|candidate| candidate.eq_ignore_ascii_case(text))
}

fn opt_array_of(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    what: &str,
    valid: impl Fn(&Value) -> bool,
) -> ApiResult<()> {
    match field(map, key) {
        Some(Value::Array(items)) if items.iter().all(valid) => Ok(()),
        Some(_) => Err(fail(path, key, what)),
        None => Ok(()),
    }
}

/// Whether `value` is an integer from 0 to `i64::MAX` (the spec's `format: int64`, non-negative).
fn non_negative_int64(value: &Value) -> bool {
    value.as_i64().is_some_and(|number| number >= 0)
}

/// The typed fields of a role type, `roleTypes.<type>` (`RoleType`; a role's `max` and `target` are
/// checked in [`role_types`]).
const ROLE_TYPE: &[(&str, Shape)] = &[
    ("ownerManaged", Shape::Bool),
    ("mutableRoleSettings", Shape::Strings),
    ("roles", Shape::MapOf(&[])),
];

/// Checks `roleTypes` as the spec types it (`RoleType`): each role type an object with a boolean
/// `ownerManaged`, an array of strings `mutableRoleSettings` and an object of role objects `roles`, whose
/// `max` and `target` are integers from 0 to `i64::MAX` when present.
pub(crate) fn role_types(role_types: Option<&Value>) -> ApiResult<()> {
    if let Some(role_types) = role_types {
        shape_of(role_types, Shape::MapOf(ROLE_TYPE), "roleTypes")?;
    }
    let types = role_types.and_then(Value::as_object).into_iter().flatten();
    for (type_name, role_type) in types {
        let roles = role_type.get("roles").and_then(Value::as_object);
        for (role, settings) in roles.into_iter().flatten() {
            for key in ["max", "target"] {
                if let Some(value) = settings.get(key).filter(|value| !value.is_null())
                    && !non_negative_int64(value)
                {
                    return Err(ApiError::bad_request(format!(
                        "roleTypes.{type_name}.roles.{role}.{key} must be an integer from 0 to {}",
                        i64::MAX
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A millisecond timeout: `null` (infinite) or a non-negative integer.
fn timeout(map: &Map<String, Value>, key: &str, path: &str) -> ApiResult<()> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(value) if non_negative_int64(value) => Ok(()),
        Some(_) => Err(fail(
            path,
            key,
            "null or a non-negative integer (milliseconds)",
        )),
    }
}

/// The JSON type the spec gives a field of a system object.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Bool,
    /// An integer the spec's `format: int64` holds (from `i64::MIN` to `i64::MAX`).
    Int,
    Str,
    /// An array of strings.
    Strings,
    /// An array of [`Int`](Shape::Int)s.
    Ints,
    /// An object whose listed fields have these shapes (others are not checked).
    Object(&'static [(&'static str, Shape)]),
    /// An object whose every value is an object whose listed fields have these shapes (others are not
    /// checked).
    MapOf(&'static [(&'static str, Shape)]),
    /// An object whose every value is an integer the spec's `format: int32` holds.
    MapOfInt32s,
    /// A session reference, `{scid, templateName, name}` (the spec's `SessionReference`).
    Reference,
}

/// The typed fields of `constants.system` beyond those checked one by one in [`session_constants`], as the
/// spec types them (`SessionConstantsSystem`).
const SESSION_CONSTANTS: &[(&str, Shape)] = &[
    (
        "metrics",
        Shape::Object(&[
            ("latency", Shape::Bool),
            ("bandwidthDown", Shape::Bool),
            ("bandwidthUp", Shape::Bool),
            ("custom", Shape::Bool),
        ]),
    ),
    (
        "memberInitialization",
        Shape::Object(&[
            ("joinTimeout", Shape::Int),
            ("measurementTimeout", Shape::Int),
            ("evaluationTimeout", Shape::Int),
            ("externalEvaluation", Shape::Bool),
            ("membersNeededToStart", Shape::Int),
        ]),
    ),
    (
        "peerToPeerRequirements",
        Shape::Object(&[
            ("latencyMaximum", Shape::Int),
            ("bandwidthMinimum", Shape::Int),
        ]),
    ),
    (
        "peerToHostRequirements",
        Shape::Object(&[
            ("latencyMaximum", Shape::Int),
            ("bandwidthDownMinimum", Shape::Int),
            ("bandwidthUpMinimum", Shape::Int),
            ("hostSelectionMetric", Shape::Str),
        ]),
    ),
    (
        "measurementServerAddresses",
        Shape::MapOf(&[("secureDeviceAddress", Shape::Str)]),
    ),
    ("cloudComputePackage", Shape::Object(&[])),
    (
        "arbitration",
        Shape::Object(&[
            ("forfeitTimeout", Shape::Int),
            ("arbitrationTimeout", Shape::Int),
        ]),
    ),
    ("broadcastViewerTitleIds", Shape::Strings),
    (
        "ownershipPolicies",
        Shape::Object(&[
            ("migration", Shape::Str),
            ("allowNonOwnerInviteHandles", Shape::Bool),
            ("nonOwnerModifiableSystemProperties", Shape::Strings),
        ]),
    ),
];

/// The typed fields of `properties.system` beyond those checked one by one (`SessionPropertiesSystem`).
const SESSION_PROPERTIES: &[(&str, Shape)] = &[(
    "matchmaking",
    Shape::Object(&[
        ("targetSessionConstants", Shape::Object(&[])),
        ("serverConnectionString", Shape::Str),
        (
            "clientResult",
            Shape::Object(&[
                ("lockId", Shape::Str),
                ("status", Shape::Str),
                ("statusDetails", Shape::Str),
                ("typicalWait", Shape::Int),
                ("targetSessionRef", Shape::Reference),
            ]),
        ),
    ]),
)];

/// The typed fields of a member's `constants.system` (`MemberConstantsSystem`).
const MEMBER_CONSTANTS: &[(&str, Shape)] = &[
    ("index", Shape::Int),
    ("team", Shape::Str),
    ("matchmakingResult", Shape::Object(&[])),
];

/// The typed fields of a member's `properties.system` (`MemberPropertiesSystem`).
const MEMBER_PROPERTIES: &[(&str, Shape)] = &[
    (
        "subscription",
        Shape::Object(&[("id", Shape::Str), ("changeTypes", Shape::Strings)]),
    ),
    (
        "subscriptions",
        Shape::MapOf(&[("profile", Shape::Str), ("onBehalfOfTitleId", Shape::Str)]),
    ),
    ("initializationGroup", Shape::Ints),
    ("groups", Shape::Strings),
    ("encounters", Shape::Strings),
    (
        "measurements",
        Shape::MapOf(&[
            ("latency", Shape::Int),
            ("bandwidthDown", Shape::Int),
            ("bandwidthUp", Shape::Int),
        ]),
    ),
    ("serverMeasurements", Shape::MapOf(&[])),
    (
        "arbitration",
        Shape::Object(&[(
            "results",
            Shape::MapOf(&[("outcome", Shape::Str), ("ranking", Shape::Int)]),
        )]),
    ),
    ("RolePreference", Shape::MapOfInt32s),
];

/// Checks the fields of `map` listed in `fields` (`null` and absent fields pass): 400 naming the first that
/// does not have its shape.
fn shapes(map: &Map<String, Value>, fields: &[(&str, Shape)], path: &str) -> ApiResult<()> {
    for (key, shape) in fields {
        if let Some(value) = field(map, key) {
            shape_of(value, *shape, &format!("{path}.{key}"))?;
        }
    }
    Ok(())
}

fn shape_of(value: &Value, shape: Shape, path: &str) -> ApiResult<()> {
    let is = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!("{path} must be {what}")))
        }
    };
    match shape {
        Shape::Bool => is(value.is_boolean(), "a boolean"),
        Shape::Int => is(value.is_i64(), "an integer (int64)"),
        Shape::Str => is(value.is_string(), "a string"),
        Shape::Strings => is(
            value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            "an array of strings",
        ),
        Shape::Ints => is(
            value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_i64)),
            "an array of integers (int64)",
        ),
        Shape::Object(fields) => shapes(object(value, path)?, fields, path),
        Shape::MapOf(fields) => {
            let map = value.as_object().ok_or_else(|| {
                ApiError::bad_request(format!("{path} must be an object whose values are objects"))
            })?;
            for (key, entry) in map {
                if entry.is_null() {
                    // `null` deletes the entry (a subscription, a server measurement).
                    continue;
                }
                let entry_path = format!("{path}.{key}");
                shapes(object(entry, &entry_path)?, fields, &entry_path)?;
            }
            Ok(())
        }
        Shape::Reference => SessionRef::from_value(Some(value), path).map(drop),
        Shape::MapOfInt32s => is(
            value.as_object().is_some_and(|map| {
                map.values()
                    .all(|v| v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()))
            }),
            "an object whose values are integers (int32)",
        ),
    }
}

/// Checks `constants.system` of a new session (after defaults were filled in).
pub(crate) fn session_constants(system: &Map<String, Value>) -> ApiResult<()> {
    const PATH: &str = "constants.system";
    shapes(system, SESSION_CONSTANTS, PATH)?;
    match field(system, "version") {
        Some(value)
            if value
                .as_i64()
                .is_none_or(|v| !(1..=i64::from(i32::MAX)).contains(&v)) =>
        {
            return Err(fail(PATH, "version", "a positive integer (int32)"));
        }
        _ => {}
    }
    let capabilities = match field(system, "capabilities") {
        Some(Value::Object(caps)) => {
            if let Some((key, _)) = caps.iter().find(|(_, value)| !value.is_boolean()) {
                return Err(fail(PATH, &format!("capabilities.{key}"), "a boolean"));
            }
            Some(caps)
        }
        Some(_) => return Err(fail(PATH, "capabilities", "an object of booleans")),
        None => None,
    };
    let capability = |name: &str| {
        capabilities
            .and_then(|caps| caps.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let large = capability("large");
    if large && capability("connectivity") {
        return Err(ApiError::bad_request(
            "constants.system.capabilities.connectivity is not allowed together with capabilities.large",
        ));
    }
    if let Some(value) = field(system, "maxMembersCount") {
        let limit = if large {
            MAX_MEMBERS_LARGE
        } else {
            MAX_MEMBERS_NORMAL
        };
        if !value
            .as_u64()
            .is_some_and(|count| (1..=limit).contains(&count))
        {
            let hint = if large {
                ""
            } else {
                " (up to 1000 requires capabilities.large)"
            };
            return Err(fail(
                PATH,
                "maxMembersCount",
                &format!("an integer from 1 to {limit}{hint}"),
            ));
        }
    }
    opt_enum(system, "visibility", VISIBILITIES, PATH)?;
    for key in [
        "reservedRemovalTimeout",
        "inactiveRemovalTimeout",
        "readyRemovalTimeout",
        "sessionEmptyTimeout",
    ] {
        timeout(system, key, PATH)?;
    }
    opt_array_of(
        system,
        "initiators",
        PATH,
        "an array of decimal XUID strings",
        |item| item.as_str().and_then(parse_xuid).is_some(),
    )?;
    opt_string(system, "inviteProtocol", PATH)?;
    if let Some(init) = field(system, "memberInitialization").and_then(Value::as_object) {
        if large {
            return Err(ApiError::bad_request(
                "constants.system.memberInitialization is not allowed on large sessions",
            ));
        }
        member_initialization(init, system)?;
    }
    Ok(())
}

/// Checks `constants.system.memberInitialization` (DOCS `live-session-template-constants.md`; the evaluation
/// and threshold rules from `live-xbox-multiplayer-session-directory.md`).
fn member_initialization(init: &Map<String, Value>, system: &Map<String, Value>) -> ApiResult<()> {
    const PATH: &str = "constants.system.memberInitialization";
    for key in [
        "joinTimeout",
        "measurementTimeout",
        "evaluationTimeout",
        "membersNeededToStart",
    ] {
        if field(init, key).is_some_and(|value| !non_negative_int64(value)) {
            return Err(fail(PATH, key, "a non-negative integer"));
        }
    }
    let external = field(init, "externalEvaluation").and_then(Value::as_bool) == Some(true);
    if field(init, "evaluationTimeout").is_some() && !external {
        return Err(ApiError::bad_request(format!(
            "{PATH}.evaluationTimeout can only be set when externalEvaluation is true"
        )));
    }
    let max = field(system, "maxMembersCount")
        .and_then(Value::as_u64)
        .unwrap_or(MAX_MEMBERS_NORMAL);
    if let Some(needed) = field(init, "membersNeededToStart").and_then(Value::as_u64)
        && needed > max
    {
        return Err(fail(
            PATH,
            "membersNeededToStart",
            &format!("at most maxMembersCount ({max})"),
        ));
    }
    Ok(())
}

/// Checks `properties.system` of a session after a write was merged.
pub(crate) fn session_properties(
    system: &Map<String, Value>,
    large: bool,
    private: bool,
) -> ApiResult<()> {
    const PATH: &str = "properties.system";
    shapes(system, SESSION_PROPERTIES, PATH)?;
    opt_enum(system, "joinRestriction", RESTRICTIONS, PATH)?;
    opt_enum(system, "readRestriction", RESTRICTIONS, PATH)?;
    for key in [
        "closed",
        "locked",
        "matchmakingResubmit",
        "allocateCloudCompute",
        "initializationSucceeded",
    ] {
        opt_bool(system, key, PATH)?;
    }
    opt_string(system, "host", PATH)?;
    opt_array_of(
        system,
        "keywords",
        PATH,
        "an array of strings",
        Value::is_string,
    )?;
    opt_array_of(
        system,
        "serverConnectionStringCandidates",
        PATH,
        "an array of strings",
        Value::is_string,
    )?;
    opt_array_of(
        system,
        "turn",
        PATH,
        "an array of member indices",
        non_negative_int64,
    )?;
    opt_array_of(
        system,
        "owners",
        PATH,
        "an array of member indices",
        non_negative_int64,
    )?;
    if private && field(system, "keywords").is_some() {
        return Err(ApiError::bad_request(
            "properties.system.keywords cannot be set on a session whose visibility is 'private'",
        ));
    }
    if large {
        let restricted = field(system, "joinRestriction")
            .and_then(Value::as_str)
            .is_some_and(|value| !value.eq_ignore_ascii_case("none"));
        if restricted {
            return Err(ApiError::bad_request(
                "properties.system.joinRestriction must be 'none' on a large session",
            ));
        }
        for key in ["turn", "host"] {
            if field(system, key).is_some() {
                return Err(ApiError::bad_request(format!(
                    "{PATH}.{key} is not allowed on a large session"
                )));
            }
        }
    }
    Ok(())
}

/// Checks the shape of a member write (`members.me` or `members.reserve_N`).
pub(crate) fn member_patch<'a>(value: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    let map = object(value, path)?;
    for (key, value) in map {
        match key.as_str() {
            "constants" | "properties" => {
                bag(value, &format!("{path}.{key}"))?;
            }
            "roles" => {
                if !value.is_null() {
                    let roles = object(value, &format!("{path}.roles"))?;
                    if let Some((name, _)) = roles
                        .iter()
                        .find(|(_, role)| !role.is_string() && !role.is_null())
                    {
                        return Err(ApiError::bad_request(format!(
                            "{path}.roles.{name} must be a string"
                        )));
                    }
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "{path}.{other} is not allowed; a member write holds 'constants', 'properties' and 'roles'"
                )));
            }
        }
    }
    Ok(map)
}

/// Checks a member's merged `constants.system` and `properties.system`.
pub(crate) fn member_system(
    constants: &Map<String, Value>,
    properties: &Map<String, Value>,
    path: &str,
) -> ApiResult<()> {
    let constants_path = format!("{path}.constants.system");
    opt_bool(constants, "initialize", &constants_path)?;
    shapes(constants, MEMBER_CONSTANTS, &constants_path)?;
    let props_path = format!("{path}.properties.system");
    shapes(properties, MEMBER_PROPERTIES, &props_path)?;
    opt_bool(properties, "active", &props_path)?;
    opt_bool(properties, "ready", &props_path)?;
    opt_string(properties, "connection", &props_path)?;
    opt_string(properties, "secureDeviceAddress", &props_path)?;
    let truthy = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if truthy("active") && truthy("ready") {
        return Err(ApiError::bad_request(format!(
            "{props_path}.active and {props_path}.ready cannot both be true"
        )));
    }
    Ok(())
}
