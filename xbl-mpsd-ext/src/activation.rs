//! Protocol-activation URIs a title receives when a user accepts a game invite
//! or joins a friend's game.
//!
//! ```text
//! ms-xbl-multiplayer://inviteHandleAccept?handle=…&invitedXuid=…&senderXuid=…&context=…
//! ms-xbl-multiplayer://activityHandleJoin?&handle=…&joinerXuid=…&joineeXuid=…
//! ms-xbl-<hex title id>://inviteAccept?invitedUser=…&sender=…&connectionString=…
//! ```
//!
//! Parsing follows what real titles receive: the scheme may carry the title id
//! in hex, names match in any case, a `/` may precede `?`, parameters come in
//! any order, empty pairs and unknown parameters are ignored, and values are
//! percent- (or `+`-) decoded.

use std::{borrow::Cow, fmt, str::FromStr};

use serde::{Serialize, Serializer};
use url::{Url, form_urlencoded};

use crate::ids::{HandleId, HandleIdError, TitleId, TitleIdError, Xuid, XuidError};

/// The scheme registered by titles that use MPSD handles.
pub const MULTIPLAYER_SCHEME: &str = "ms-xbl-multiplayer";

/// Prefix of the per-title scheme `ms-xbl-<hex title id>`.
const TITLE_SCHEME_PREFIX: &str = "ms-xbl-";

const INVITE_HANDLE_ACCEPT: &str = "inviteHandleAccept";
const ACTIVITY_HANDLE_JOIN: &str = "activityHandleJoin";
const INVITE_ACCEPT: &str = "inviteAccept";

/// A string that is never empty (an empty activation value means "absent").
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NonEmptyString(String);

impl NonEmptyString {
    /// `None` if `value` is empty.
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        (!value.is_empty()).then_some(Self(value))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the value, returning the string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for NonEmptyString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NonEmptyString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for NonEmptyString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// What the user did.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ActivationKind {
    /// `inviteHandleAccept`: the user accepted an MPSD game invite.
    InviteHandleAccept {
        /// The invite handle; join with `PUT /handles/{handle}/session`.
        handle: HandleId,
        /// The invited (local) user (`invitedXuid`).
        invited: Xuid,
        /// Who sent the invite (`senderXuid`).
        sender: Option<Xuid>,
        /// The sender's context string (`context`).
        context: Option<NonEmptyString>,
    },
    /// `activityHandleJoin`: the user joins a friend's game from their activity.
    ActivityHandleJoin {
        /// The activity handle; join with `PUT /handles/{handle}/session`.
        handle: HandleId,
        /// The joining (local) user (`joinerXuid`).
        joiner: Xuid,
        /// The user already in the session (`joineeXuid`).
        joinee: Option<Xuid>,
    },
    /// `inviteAccept`: a Multiplayer Activity (MPA) invite was accepted.
    InviteAccept {
        /// The invited (local) user (`invitedUser`).
        invited_user: Xuid,
        /// Who sent the invite (`sender`).
        sender: Option<Xuid>,
        /// The title's connection string (`connectionString`).
        connection_string: NonEmptyString,
    },
}

impl ActivationKind {
    /// The action (URI host) in canonical case, e.g. `inviteHandleAccept`.
    pub const fn action(&self) -> &'static str {
        match self {
            Self::InviteHandleAccept { .. } => INVITE_HANDLE_ACCEPT,
            Self::ActivityHandleJoin { .. } => ACTIVITY_HANDLE_JOIN,
            Self::InviteAccept { .. } => INVITE_ACCEPT,
        }
    }
}

/// A parsed protocol activation.
///
/// `Serialize` writes one flat object: `kind`, `handleId`, `invitedXuid`,
/// `senderXuid`, `joinerXuid`, `joineeXuid`, `context`, `connectionString`,
/// `titleId` (a number, or `null` for `ms-xbl-multiplayer`), with `null` for
/// whatever does not apply. For `inviteAccept`, `invitedUser`/`sender` are
/// written as `invitedXuid`/`senderXuid`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Activation {
    /// The title id from an `ms-xbl-<hex>` scheme; `None` for `ms-xbl-multiplayer`.
    pub title_id: Option<TitleId>,
    /// What the user did.
    pub kind: ActivationKind,
}

/// Why a string is not an Xbox multiplayer activation URI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// The input does not parse as an absolute URI.
    #[error("{input:?} is not a URI: {source}")]
    NotAUri {
        /// The offending input.
        input: String,
        /// The URL parser's complaint.
        source: url::ParseError,
    },
    /// The scheme is neither `ms-xbl-multiplayer` nor `ms-xbl-<hex title id>`.
    #[error(
        "scheme {scheme:?} is not an Xbox activation scheme (expected ms-xbl-multiplayer or ms-xbl-<hex title id>)"
    )]
    NotXboxScheme {
        /// The scheme (lower-cased).
        scheme: String,
    },
    /// An `ms-xbl-…` scheme whose suffix is not a 32-bit hex title id.
    #[error("scheme {scheme:?}: {source}")]
    InvalidTitleId {
        /// The scheme (lower-cased).
        scheme: String,
        /// What is wrong with the title id.
        source: TitleIdError,
    },
    /// There is no action (URI host).
    #[error(
        "the URI has no action (expected inviteHandleAccept, activityHandleJoin or inviteAccept after '://')"
    )]
    MissingAction,
    /// The action is not one of the known ones.
    #[error(
        "unknown action {action:?} (expected inviteHandleAccept, activityHandleJoin or inviteAccept)"
    )]
    UnknownAction {
        /// The action found.
        action: String,
    },
    /// Something other than an optional `/` follows the action.
    #[error("unexpected path {path:?} after the action")]
    UnexpectedPath {
        /// The path found.
        path: String,
    },
    /// A required parameter is absent.
    #[error("required parameter {name:?} is missing")]
    MissingParameter {
        /// The parameter (canonical case).
        name: &'static str,
    },
    /// A required parameter is present but empty.
    #[error("required parameter {name:?} is empty")]
    EmptyParameter {
        /// The parameter (canonical case).
        name: &'static str,
    },
    /// The `handle` parameter is not a GUID.
    #[error("parameter \"handle\": {source}")]
    InvalidHandle {
        /// What is wrong with it.
        source: HandleIdError,
    },
    /// A XUID parameter is not a non-zero decimal `u64`.
    #[error("parameter {name:?}: {source}")]
    InvalidXuid {
        /// The parameter (canonical case).
        name: &'static str,
        /// What is wrong with it.
        source: XuidError,
    },
    /// A parameter appears twice with different values.
    #[error("parameter {name:?} is given twice with different values {first:?} and {second:?}")]
    ConflictingParameter {
        /// The parameter (canonical case).
        name: &'static str,
        /// The first value.
        first: String,
        /// The conflicting value.
        second: String,
    },
}

/// The value of one hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `form_urlencoded` decoding of one key or value (`+` is a space, `%XX` a byte, a `%` not followed by
/// two hex digits kept as it is, invalid UTF-8 replaced), exactly as `Url::query_pairs` decodes.
/// `escaped` says whether `raw` holds a `+` or `%` (the caller saw it while splitting): without one the
/// text is borrowed as it is.
fn decode_component(raw: &str, escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        i += 1;
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => match (
                bytes.get(i).copied().and_then(hex_value),
                bytes.get(i + 1).copied().and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    decoded.push(high << 4 | low);
                    i += 2;
                }
                _ => decoded.push(b'%'),
            },
            other => decoded.push(other),
        }
    }
    Cow::Owned(match String::from_utf8(decoded) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// The decoded values of the parameters named in `names` in a (percent-encoded) query, matched
/// case-insensitively; repeated names must repeat the same value. One pass over the query bytes splits
/// the pairs (`&`, then the first `=`; empty pairs skipped, as `application/x-www-form-urlencoded`) and
/// notes which parts hold an escape; only the values of matched names are decoded, and keys only when
/// they hold an escape.
fn collect_params<'q, const N: usize>(
    query: &'q str,
    names: [&'static str; N],
) -> Result<[Option<Cow<'q, str>>; N], ActivationError> {
    let mut values: [Option<Cow<'q, str>>; N] = std::array::from_fn(|_| None);
    let bytes = query.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        // One pair: [start, end), `=` at `equals` (the first one), escapes noted per side.
        // The key: up to the first `=` or `&`.
        let mut end = start;
        let mut key_escaped = false;
        while end < bytes.len() && !matches!(bytes[end], b'=' | b'&') {
            key_escaped |= matches!(bytes[end], b'+' | b'%');
            end += 1;
        }
        let equals = (end < bytes.len() && bytes[end] == b'=').then_some(end);
        // The value, if any: up to the next `&`.
        let mut value_escaped = false;
        if equals.is_some() {
            end += 1;
            while end < bytes.len() && bytes[end] != b'&' {
                value_escaped |= matches!(bytes[end], b'+' | b'%');
                end += 1;
            }
        }
        let pair = (start, end);
        start = end + 1;
        if pair.0 == pair.1 {
            continue;
        }
        let (raw_key, raw_value) = match equals {
            Some(equals) => (&query[pair.0..equals], &query[equals + 1..pair.1]),
            None => (&query[pair.0..pair.1], ""),
        };
        let key = decode_component(raw_key, key_escaped);
        let Some(index) = names.iter().position(|n| n.eq_ignore_ascii_case(&key)) else {
            continue;
        };
        let value = decode_component(raw_value, value_escaped);
        match &values[index] {
            Some(first) if *first != value => {
                return Err(ActivationError::ConflictingParameter {
                    name: names[index],
                    first: first.clone().into_owned(),
                    second: value.into_owned(),
                });
            }
            Some(_) => {}
            None => values[index] = Some(value),
        }
    }
    Ok(values)
}

fn required<'v>(name: &'static str, value: Option<&'v str>) -> Result<&'v str, ActivationError> {
    match value {
        None => Err(ActivationError::MissingParameter { name }),
        Some("") => Err(ActivationError::EmptyParameter { name }),
        Some(value) => Ok(value),
    }
}

fn required_text(
    name: &'static str,
    value: Option<Cow<'_, str>>,
) -> Result<NonEmptyString, ActivationError> {
    let value = required(name, value.as_deref())?;
    Ok(NonEmptyString(value.to_owned()))
}

fn optional(value: Option<Cow<'_, str>>) -> Option<NonEmptyString> {
    value.and_then(NonEmptyString::new)
}

fn handle(value: Option<&str>) -> Result<HandleId, ActivationError> {
    required("handle", value)?
        .parse()
        .map_err(|source| ActivationError::InvalidHandle { source })
}

fn xuid(name: &'static str, value: &str) -> Result<Xuid, ActivationError> {
    value
        .parse()
        .map_err(|source| ActivationError::InvalidXuid { name, source })
}

fn required_xuid(name: &'static str, value: Option<&str>) -> Result<Xuid, ActivationError> {
    xuid(name, required(name, value)?)
}

fn optional_xuid(name: &'static str, value: Option<&str>) -> Result<Option<Xuid>, ActivationError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| xuid(name, v))
        .transpose()
}

/// The title of a scheme (ASCII case ignored; errors name it in lower case, as `url` reports it).
fn parse_scheme(scheme: &str) -> Result<Option<TitleId>, ActivationError> {
    if scheme.eq_ignore_ascii_case(MULTIPLAYER_SCHEME) {
        return Ok(None);
    }
    let prefix = TITLE_SCHEME_PREFIX.len();
    let hex = match (scheme.get(..prefix), scheme.get(prefix..)) {
        (Some(head), Some(hex)) if head.eq_ignore_ascii_case(TITLE_SCHEME_PREFIX) => hex,
        _ => {
            return Err(ActivationError::NotXboxScheme {
                scheme: scheme.to_ascii_lowercase(),
            });
        }
    };
    TitleId::from_hex(hex)
        .map(Some)
        .map_err(|source| ActivationError::InvalidTitleId {
            scheme: scheme.to_ascii_lowercase(),
            source: match source {
                TitleIdError::NotHex { input } => TitleIdError::NotHex {
                    input: input.to_ascii_lowercase(),
                },
                other => other,
            },
        })
}

/// What the rest of the parser needs of a URI, as `url::Url` would report it: the scheme (ASCII case
/// as given; `url` lower-cases it, compare ignoring case), the host (the action), the path and the query.
#[derive(Debug, PartialEq, Eq)]
struct UriParts<'a> {
    scheme: &'a str,
    action: Option<&'a str>,
    path: &'a str,
    query: &'a str,
}

impl<'a> UriParts<'a> {
    fn of_url(url: &'a Url) -> Self {
        Self {
            scheme: url.scheme(),
            action: url.host_str(),
            path: url.path(),
            query: url.query().unwrap_or(""),
        }
    }
}

/// Schemes the URL standard treats specially (host and path rules differ): always left to `url`.
const SPECIAL_SCHEMES: [&str; 6] = ["http", "https", "ws", "wss", "ftp", "file"];

/// The parts of `input` without the general URL parser, for the plain shape activation URIs have:
/// printable ASCII but `"<>` only, `scheme://action[/][?query][#fragment]` with a non-special scheme and an action
/// of RFC 3986 unreserved characters. `None` for anything else, which is then left to `url::Url`; on
/// what it accepts it reports exactly what `Url::parse` would (the test
/// `fast_split_agrees_with_url` checks it).
fn split_plain(input: &str) -> Option<UriParts<'_>> {
    let bytes = input.as_bytes();
    // Printable ASCII that `url` keeps as it is in a non-special query (it escapes `"`, `<` and `>`).
    // A fold without early exit, which the compiler vectorizes: the whole URI in a few instructions.
    let printable = bytes.iter().fold(true, |ok, &b| {
        ok & (0x21..=0x7e).contains(&b) & (b != b'"') & (b != b'<') & (b != b'>')
    });
    if !printable {
        return None;
    }
    let colon = input.find(':')?;
    let scheme = &input[..colon];
    let mut scheme_bytes = scheme.bytes();
    if !scheme_bytes.next()?.is_ascii_alphabetic()
        || !scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        || (scheme.len() <= 5
            && SPECIAL_SCHEMES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scheme)))
    {
        return None;
    }
    let rest = input[colon + 1..].strip_prefix("//")?;
    let host_end = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')))
        .unwrap_or(rest.len());
    let (action, rest) = rest.split_at(host_end);
    if action.is_empty() {
        return None;
    }
    let (path, rest) = match rest.as_bytes().first() {
        Some(b'/') => {
            let end = rest.find(['?', '#']).unwrap_or(rest.len());
            rest.split_at(end)
        }
        Some(b'?' | b'#') | None => ("", rest),
        Some(_) => return None,
    };
    if !matches!(path, "" | "/") {
        return None;
    }
    let query = match rest.strip_prefix('?') {
        Some(query) => query.split_once('#').map_or(query, |(query, _)| query),
        None => "",
    };
    Some(UriParts {
        scheme,
        action: Some(action),
        path,
        query,
    })
}

fn parse_kind(parts: &UriParts<'_>) -> Result<ActivationKind, ActivationError> {
    let action = parts
        .action
        .filter(|h| !h.is_empty())
        .ok_or(ActivationError::MissingAction)?;
    if !matches!(parts.path, "" | "/") {
        return Err(ActivationError::UnexpectedPath {
            path: parts.path.to_owned(),
        });
    }
    let query = parts.query;
    if action.eq_ignore_ascii_case(INVITE_HANDLE_ACCEPT) {
        let [h, invited, sender, context] =
            collect_params(query, ["handle", "invitedXuid", "senderXuid", "context"])?;
        Ok(ActivationKind::InviteHandleAccept {
            handle: handle(h.as_deref())?,
            invited: required_xuid("invitedXuid", invited.as_deref())?,
            sender: optional_xuid("senderXuid", sender.as_deref())?,
            context: optional(context),
        })
    } else if action.eq_ignore_ascii_case(ACTIVITY_HANDLE_JOIN) {
        let [h, joiner, joinee] = collect_params(query, ["handle", "joinerXuid", "joineeXuid"])?;
        Ok(ActivationKind::ActivityHandleJoin {
            handle: handle(h.as_deref())?,
            joiner: required_xuid("joinerXuid", joiner.as_deref())?,
            joinee: optional_xuid("joineeXuid", joinee.as_deref())?,
        })
    } else if action.eq_ignore_ascii_case(INVITE_ACCEPT) {
        let [invited, sender, connection] =
            collect_params(query, ["invitedUser", "sender", "connectionString"])?;
        Ok(ActivationKind::InviteAccept {
            invited_user: required_xuid("invitedUser", invited.as_deref())?,
            sender: optional_xuid("sender", sender.as_deref())?,
            connection_string: required_text("connectionString", connection)?,
        })
    } else {
        Err(ActivationError::UnknownAction {
            action: action.to_owned(),
        })
    }
}

impl FromStr for Activation {
    type Err = ActivationError;

    /// Parses an activation URI.
    ///
    /// ```
    /// use xbl_mpsd_ext::{Activation, ActivationKind};
    ///
    /// let a: Activation = "ms-xbl-7a970ea1://inviteHandleAccept/?invitedXuid=1234567890123456\
    ///     &handle=%7B0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D%7D&senderXuid=6543210987654321&context="
    ///     .parse()?;
    /// assert_eq!(a.title_id.map(|t| t.get()), Some(0x7a97_0ea1));
    /// assert_eq!(a.handle().map(|h| h.to_string()).as_deref(), Some("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"));
    /// assert_eq!(a.joining_user().get(), 1234567890123456);
    /// assert!(matches!(a.kind, ActivationKind::InviteHandleAccept { context: None, .. }));
    /// assert_eq!(
    ///     a.to_uri(),
    ///     "ms-xbl-7a970ea1://inviteHandleAccept?handle=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d\
    ///      &invitedXuid=1234567890123456&senderXuid=6543210987654321",
    /// );
    ///
    /// let err = "ms-xbl-multiplayer://activityHandleJoin?&handle=not-a-guid&joinerXuid=1"
    ///     .parse::<Activation>()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains(r#""not-a-guid" is not a GUID"#));
    /// # Ok::<(), xbl_mpsd_ext::ActivationError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The plain shape every real activation has is split in one pass; anything else goes through
        // the general URL parser, with the same result.
        let url;
        let parts = match split_plain(s) {
            Some(parts) => parts,
            None => {
                url = Url::parse(s).map_err(|source| ActivationError::NotAUri {
                    input: s.to_owned(),
                    source,
                })?;
                UriParts::of_url(&url)
            }
        };
        let title_id = parse_scheme(parts.scheme)?;
        let kind = parse_kind(&parts)?;
        Ok(Self { title_id, kind })
    }
}

impl Activation {
    /// The canonical URI: lower-case scheme (`ms-xbl-multiplayer` or
    /// `ms-xbl-` + 8 hex digits), canonical action and parameter names, and
    /// only the parameters that are present. It parses back equal.
    pub fn to_uri(&self) -> String {
        let scheme = match self.title_id {
            None => MULTIPLAYER_SCHEME.to_owned(),
            Some(t) => format!("{TITLE_SCHEME_PREFIX}{:08x}", t.get()),
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.params())
            .finish();
        format!("{scheme}://{}?{query}", self.kind.action())
    }

    /// The present parameters, canonically named, in canonical order.
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::with_capacity(4);
        let mut push = |name: &'static str, value: Option<&dyn fmt::Display>| {
            if let Some(value) = value {
                params.push((name, value.to_string()));
            }
        };
        match &self.kind {
            ActivationKind::InviteHandleAccept {
                handle,
                invited,
                sender,
                context,
            } => {
                push("handle", Some(handle));
                push("invitedXuid", Some(invited));
                push("senderXuid", sender.as_ref().map(|x| x as _));
                push("context", context.as_ref().map(|c| c as _));
            }
            ActivationKind::ActivityHandleJoin {
                handle,
                joiner,
                joinee,
            } => {
                push("handle", Some(handle));
                push("joinerXuid", Some(joiner));
                push("joineeXuid", joinee.as_ref().map(|x| x as _));
            }
            ActivationKind::InviteAccept {
                invited_user,
                sender,
                connection_string,
            } => {
                push("invitedUser", Some(invited_user));
                push("sender", sender.as_ref().map(|x| x as _));
                push("connectionString", Some(connection_string));
            }
        }
        params
    }

    /// The handle to join through (`PUT /handles/{id}/session`); `None` for
    /// `inviteAccept`, which carries a connection string instead.
    pub fn handle(&self) -> Option<HandleId> {
        match &self.kind {
            ActivationKind::InviteHandleAccept { handle, .. }
            | ActivationKind::ActivityHandleJoin { handle, .. } => Some(*handle),
            ActivationKind::InviteAccept { .. } => None,
        }
    }

    /// The local user who is joining: the invited user or the joiner.
    pub fn joining_user(&self) -> Xuid {
        match &self.kind {
            ActivationKind::InviteHandleAccept { invited, .. } => *invited,
            ActivationKind::ActivityHandleJoin { joiner, .. } => *joiner,
            ActivationKind::InviteAccept { invited_user, .. } => *invited_user,
        }
    }
}

impl fmt::Display for Activation {
    /// Writes [`Activation::to_uri`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

/// The flat JSON shape of an [`Activation`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FlatActivation<'a> {
    kind: &'static str,
    handle_id: Option<HandleId>,
    invited_xuid: Option<Xuid>,
    sender_xuid: Option<Xuid>,
    joiner_xuid: Option<Xuid>,
    joinee_xuid: Option<Xuid>,
    context: Option<&'a NonEmptyString>,
    connection_string: Option<&'a NonEmptyString>,
    title_id: Option<u32>,
}

impl Serialize for Activation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut flat = FlatActivation {
            kind: self.kind.action(),
            handle_id: self.handle(),
            invited_xuid: None,
            sender_xuid: None,
            joiner_xuid: None,
            joinee_xuid: None,
            context: None,
            connection_string: None,
            title_id: self.title_id.map(TitleId::get),
        };
        match &self.kind {
            ActivationKind::InviteHandleAccept {
                invited,
                sender,
                context,
                ..
            } => {
                flat.invited_xuid = Some(*invited);
                flat.sender_xuid = *sender;
                flat.context = context.as_ref();
            }
            ActivationKind::ActivityHandleJoin { joiner, joinee, .. } => {
                flat.joiner_xuid = Some(*joiner);
                flat.joinee_xuid = *joinee;
            }
            ActivationKind::InviteAccept {
                invited_user,
                sender,
                connection_string,
            } => {
                flat.invited_xuid = Some(*invited_user);
                flat.sender_xuid = *sender;
                flat.connection_string = Some(connection_string);
            }
        }
        flat.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const GUID: &str = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    const GUID_UPPER: &str = "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D";

    fn h() -> HandleId {
        GUID.parse().unwrap()
    }
    fn x(v: u64) -> Xuid {
        Xuid::new(v).unwrap()
    }
    fn text(s: &str) -> NonEmptyString {
        NonEmptyString::new(s).unwrap()
    }
    fn invite(sender: Option<u64>, context: Option<&str>) -> ActivationKind {
        ActivationKind::InviteHandleAccept {
            handle: h(),
            invited: x(1234567890123456),
            sender: sender.map(x),
            context: context.map(text),
        }
    }
    fn join(joinee: Option<u64>) -> ActivationKind {
        ActivationKind::ActivityHandleJoin {
            handle: h(),
            joiner: x(11),
            joinee: joinee.map(x),
        }
    }
    fn mpa(sender: Option<u64>, connection: &str) -> ActivationKind {
        ActivationKind::InviteAccept {
            invited_user: x(21),
            sender: sender.map(x),
            connection_string: text(connection),
        }
    }
    fn ok(kind: ActivationKind) -> Result<Activation, ActivationError> {
        Ok(Activation {
            title_id: None,
            kind,
        })
    }
    fn ok_title(title: u32, kind: ActivationKind) -> Result<Activation, ActivationError> {
        Ok(Activation {
            title_id: Some(TitleId::new(title)),
            kind,
        })
    }
    fn missing(name: &'static str) -> Result<Activation, ActivationError> {
        Err(ActivationError::MissingParameter { name })
    }
    fn empty(name: &'static str) -> Result<Activation, ActivationError> {
        Err(ActivationError::EmptyParameter { name })
    }
    fn bad_xuid(name: &'static str, source: XuidError) -> Result<Activation, ActivationError> {
        Err(ActivationError::InvalidXuid { name, source })
    }
    fn not_decimal(input: &str) -> XuidError {
        XuidError::NotDecimal {
            input: input.into(),
        }
    }
    fn bad_handle(input: &str) -> Result<Activation, ActivationError> {
        Err(ActivationError::InvalidHandle {
            source: HandleIdError::NotAGuid {
                input: input.into(),
            },
        })
    }

    #[test]
    fn table() {
        let inv = "ms-xbl-multiplayer://inviteHandleAccept";
        let act = "ms-xbl-multiplayer://activityHandleJoin";
        let cases: Vec<(String, Result<Activation, ActivationError>)> = vec![
            // --- valid: documented forms
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=6543210987654321&context="),
                ok(invite(Some(6543210987654321), None))),
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=6543210987654321&context=lobby%20A"),
                ok(invite(Some(6543210987654321), Some("lobby A")))),
            (format!("{act}?&handle={GUID}&joinerXuid=11&joineeXuid=12"), ok(join(Some(12)))),
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=22&connectionString=abc".into(),
                ok(mpa(Some(22), "abc"))),
            ("ms-xbl-7a970ea1://inviteAccept?invitedUser=21&sender=22&connectionString=abc".into(),
                ok_title(0x7a97_0ea1, mpa(Some(22), "abc"))),
            // --- valid: real-world variations
            (format!("ms-xbl-7a970ea1://inviteHandleAccept/?invitedXuid=1234567890123456&handle={GUID}&senderXuid=5"),
                ok_title(0x7a97_0ea1, invite(Some(5), None))),
            (format!("MS-XBL-MULTIPLAYER://INVITEHANDLEACCEPT?HANDLE={GUID}&INVITEDXUID=1234567890123456"),
                ok(invite(None, None))),
            (format!("ms-xbl-7A970EA1://inviteHandleAccept?handle={GUID}&invitedXuid=1234567890123456"),
                ok_title(0x7a97_0ea1, invite(None, None))),
            (format!("ms-xbl-1://activityhandlejoin?joinerxuid=11&handle={GUID}"), ok_title(1, join(None))),
            (format!("{inv}?handle={GUID_UPPER}&invitedXuid=1234567890123456"), ok(invite(None, None))),
            (format!("{inv}?handle={{{GUID_UPPER}}}&invitedXuid=1234567890123456"), ok(invite(None, None))),
            (format!("{inv}?handle=%7B{GUID}%7D&invitedXuid=1234567890123456"), ok(invite(None, None))),
            (format!("{inv}?handle=%30a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d&invitedXuid=%31234567890123456"),
                ok(invite(None, None))),
            (format!("{inv}?&&handle={GUID}&&invitedXuid=1234567890123456&"), ok(invite(None, None))),
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&context=a+b%2Bc%26d%3De"),
                ok(invite(None, Some("a b+c&d=e")))),
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&unknown=1&handle2=x&foo"),
                ok(invite(None, None))),
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456&senderXuid=&context="), ok(invite(None, None))),
            (format!("{inv}?handle={GUID}&handle={GUID}&invitedXuid=1234567890123456"), ok(invite(None, None))),
            (format!("{inv}?handle={GUID}&Handle={GUID}&invitedXuid=1234567890123456"), ok(invite(None, None))),
            (format!("{inv}?handle={GUID}&invitedXuid=1234567890123456#fragment"), ok(invite(None, None))),
            (format!("{act}?handle={GUID}&joinerXuid=11&joineeXuid="), ok(join(None))),
            ("ms-xbl-multiplayer://inviteAccept/?connectionString=ip%3D1.2.3.4%3A3074&invitedUser=21".into(),
                ok(mpa(None, "ip=1.2.3.4:3074"))),
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=&connectionString=%E2%9C%93".into(),
                ok(mpa(None, "✓"))),
            // handle/xuid params of other actions are ignored
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&connectionString=c&handle=zzz&invitedXuid=q".into(),
                ok(mpa(None, "c"))),
            // --- invalid: not a URI / scheme / title id
            ("".into(), Err(ActivationError::NotAUri { input: "".into(), source: url::ParseError::RelativeUrlWithoutBase })),
            ("ms-xbl-multiplayer//inviteHandleAccept?handle=x".into(), Err(ActivationError::NotAUri {
                input: "ms-xbl-multiplayer//inviteHandleAccept?handle=x".into(),
                source: url::ParseError::RelativeUrlWithoutBase,
            })),
            (format!("https://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::NotXboxScheme { scheme: "https".into() })),
            (format!("ms-xbox-multiplayer://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::NotXboxScheme { scheme: "ms-xbox-multiplayer".into() })),
            (format!("ms-xbl-123456789://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::InvalidTitleId {
                    scheme: "ms-xbl-123456789".into(),
                    source: TitleIdError::NotHex { input: "123456789".into() },
                })),
            (format!("ms-xbl-7g://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::InvalidTitleId {
                    scheme: "ms-xbl-7g".into(),
                    source: TitleIdError::NotHex { input: "7g".into() },
                })),
            (format!("ms-xbl-://inviteHandleAccept?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::InvalidTitleId { scheme: "ms-xbl-".into(), source: TitleIdError::Empty })),
            // --- invalid: action / path
            (format!("ms-xbl-multiplayer://?handle={GUID}&invitedXuid=1"), Err(ActivationError::MissingAction)),
            (format!("ms-xbl-multiplayer:inviteHandleAccept?handle={GUID}&invitedXuid=1"), Err(ActivationError::MissingAction)),
            (format!("ms-xbl-multiplayer://inviteHandleDecline?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::UnknownAction { action: "inviteHandleDecline".into() })),
            (format!("ms-xbl-multiplayer://inviteHandleAccept/extra?handle={GUID}&invitedXuid=1"),
                Err(ActivationError::UnexpectedPath { path: "/extra".into() })),
            // --- invalid: parameters
            ("ms-xbl-multiplayer://inviteHandleAccept?invitedXuid=1".into(), missing("handle")),
            ("ms-xbl-multiplayer://inviteHandleAccept".into(), missing("handle")),
            (format!("{inv}?handle=&invitedXuid=1"), empty("handle")),
            (format!("{inv}?handle={GUID}"), missing("invitedXuid")),
            (format!("{inv}?handle={GUID}&invitedXuid="), empty("invitedXuid")),
            (format!("{act}?handle={GUID}&joineeXuid=12"), missing("joinerXuid")),
            (format!("{act}?joinerXuid=11"), missing("handle")),
            ("ms-xbl-multiplayer://inviteAccept?sender=22&connectionString=c".into(), missing("invitedUser")),
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&sender=22".into(), missing("connectionString")),
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=21&connectionString=".into(), empty("connectionString")),
            (format!("{inv}?handle=00000000-0000-1234-5678&invitedXuid=1"), bad_handle("00000000-0000-1234-5678")),
            (format!("{inv}?handle={GUID}x&invitedXuid=1"), bad_handle(&format!("{GUID}x"))),
            (format!("{inv}?handle=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d&invitedXuid=1"),
                bad_handle("0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d")),
            (format!("{inv}?handle=+{GUID}&invitedXuid=1"), bad_handle(&format!(" {GUID}"))),
            (format!("{inv}?handle={GUID}&invitedXuid=-1"), bad_xuid("invitedXuid", not_decimal("-1"))),
            (format!("{inv}?handle={GUID}&invitedXuid=+1"), bad_xuid("invitedXuid", not_decimal(" 1"))),
            (format!("{inv}?handle={GUID}&invitedXuid=0x10"), bad_xuid("invitedXuid", not_decimal("0x10"))),
            (format!("{inv}?handle={GUID}&invitedXuid=0"),
                bad_xuid("invitedXuid", XuidError::Zero { input: "0".into() })),
            (format!("{inv}?handle={GUID}&invitedXuid=18446744073709551616"),
                bad_xuid("invitedXuid", XuidError::OutOfRange { input: "18446744073709551616".into() })),
            (format!("{inv}?handle={GUID}&invitedXuid=1&senderXuid=abc"), bad_xuid("senderXuid", not_decimal("abc"))),
            (format!("{act}?handle={GUID}&joinerXuid=11&joineeXuid=1.5"), bad_xuid("joineeXuid", not_decimal("1.5"))),
            ("ms-xbl-multiplayer://inviteAccept?invitedUser=me&connectionString=c".into(),
                bad_xuid("invitedUser", not_decimal("me"))),
            (format!("{inv}?handle={GUID}&invitedXuid=1&invitedXuid=2"), Err(ActivationError::ConflictingParameter {
                name: "invitedXuid",
                first: "1".into(),
                second: "2".into(),
            })),
            (format!("{inv}?handle={GUID}&HANDLE={GUID_UPPER}&invitedXuid=1"), Err(ActivationError::ConflictingParameter {
                name: "handle",
                first: GUID.into(),
                second: GUID_UPPER.into(),
            })),
            (format!("{inv}?handle={GUID}&invitedXuid=1&context=&context=x"), Err(ActivationError::ConflictingParameter {
                name: "context",
                first: "".into(),
                second: "x".into(),
            })),
        ];
        assert!(cases.len() >= 40, "{} cases", cases.len());
        for (input, expected) in &cases {
            assert_eq!(&input.parse::<Activation>(), expected, "{input}");
            if Url::parse(input).is_ok() {
                assert_eq!(&parse_via_url(input), expected, "{input} through url::Url");
            }
        }
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        let msg = |s: &str| s.parse::<Activation>().unwrap_err().to_string();
        assert_eq!(
            msg("ms-xbl-multiplayer://inviteHandleAccept?handle=abc&invitedXuid=1"),
            r#"parameter "handle": handle id "abc" is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in braces)"#
        );
        assert_eq!(
            msg(&format!(
                "ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=x1"
            )),
            r#"parameter "joinerXuid": XUID "x1" is not a decimal number (only the digits 0-9 are allowed)"#
        );
        assert_eq!(
            msg("ms-xbl-zz://inviteAccept"),
            r#"scheme "ms-xbl-zz": title id "zz" is not a 32-bit hex number (expected 1 to 8 hex digits)"#
        );
        assert_eq!(
            msg("ms-xbl-multiplayer://inviteAccept?invitedUser=1"),
            r#"required parameter "connectionString" is missing"#
        );
        assert!(msg("nope").starts_with(r#""nope" is not a URI"#));
    }

    #[test]
    fn helpers() {
        let a: Activation =
            format!("ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=11")
                .parse()
                .unwrap();
        assert_eq!((a.handle(), a.joining_user()), (Some(h()), x(11)));
        let a = Activation {
            title_id: None,
            kind: mpa(None, "c"),
        };
        assert_eq!((a.handle(), a.joining_user()), (None, x(21)));
        let a = Activation {
            title_id: None,
            kind: invite(None, None),
        };
        assert_eq!(
            (a.handle(), a.joining_user()),
            (Some(h()), x(1234567890123456))
        );
        assert_eq!(NonEmptyString::new(""), None);
    }

    #[test]
    fn canonical_uri() {
        let a = Activation {
            title_id: Some(TitleId::new(0xabc)),
            kind: invite(Some(5), Some("a b&c")),
        };
        assert_eq!(
            a.to_uri(),
            format!(
                "ms-xbl-00000abc://inviteHandleAccept?handle={GUID}&invitedXuid=1234567890123456&senderXuid=5&context=a+b%26c"
            )
        );
        assert_eq!(a.to_string(), a.to_uri());
        let j = Activation {
            title_id: None,
            kind: join(None),
        };
        assert_eq!(
            j.to_uri(),
            format!("ms-xbl-multiplayer://activityHandleJoin?handle={GUID}&joinerXuid=11")
        );
    }

    #[test]
    fn serializes_flat() {
        let a = Activation {
            title_id: None,
            kind: invite(Some(5), Some("ctx")),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({
                "kind": "inviteHandleAccept", "handleId": GUID, "invitedXuid": "1234567890123456",
                "senderXuid": "5", "joinerXuid": null, "joineeXuid": null, "context": "ctx",
                "connectionString": null, "titleId": null,
            })
        );
        let j = Activation {
            title_id: Some(TitleId::new(0x7a97_0ea1)),
            kind: join(Some(12)),
        };
        assert_eq!(
            serde_json::to_value(&j).unwrap(),
            json!({
                "kind": "activityHandleJoin", "handleId": GUID, "invitedXuid": null, "senderXuid": null,
                "joinerXuid": "11", "joineeXuid": "12", "context": null, "connectionString": null,
                "titleId": 2056720033u32,
            })
        );
        let m = Activation {
            title_id: None,
            kind: mpa(None, "conn"),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"inviteAccept","handleId":null,"invitedXuid":"21","senderXuid":null,"joinerXuid":null,"joineeXuid":null,"context":null,"connectionString":"conn","titleId":null}"#
        );
    }

    fn arb_xuid() -> impl Strategy<Value = Xuid> {
        (1..=u64::MAX).prop_map(x)
    }
    fn arb_text() -> impl Strategy<Value = NonEmptyString> {
        any::<String>().prop_filter_map("empty", NonEmptyString::new)
    }
    fn arb_activation() -> impl Strategy<Value = Activation> {
        let handle = any::<u128>().prop_map(|v| HandleId::new(uuid::Uuid::from_u128(v)));
        let kind = prop_oneof![
            (
                handle.clone(),
                arb_xuid(),
                proptest::option::of(arb_xuid()),
                proptest::option::of(arb_text())
            )
                .prop_map(|(handle, invited, sender, context)| {
                    ActivationKind::InviteHandleAccept {
                        handle,
                        invited,
                        sender,
                        context,
                    }
                }),
            (handle, arb_xuid(), proptest::option::of(arb_xuid())).prop_map(
                |(handle, joiner, joinee)| ActivationKind::ActivityHandleJoin {
                    handle,
                    joiner,
                    joinee
                }
            ),
            (arb_xuid(), proptest::option::of(arb_xuid()), arb_text()).prop_map(
                |(invited_user, sender, connection_string)| ActivationKind::InviteAccept {
                    invited_user,
                    sender,
                    connection_string
                }
            ),
        ];
        (
            proptest::option::of(any::<u32>().prop_map(TitleId::new)),
            kind,
        )
            .prop_map(|(title_id, kind)| Activation { title_id, kind })
    }

    /// The one-pass split reports exactly what `url::Url` reports, wherever it answers at all.
    /// `input` parsed through `url::Url` only (the path the one-pass split falls back to).
    fn parse_via_url(input: &str) -> Result<Activation, ActivationError> {
        let url = Url::parse(input).map_err(|source| ActivationError::NotAUri {
            input: input.to_owned(),
            source,
        })?;
        let parts = UriParts::of_url(&url);
        let title_id = parse_scheme(parts.scheme)?;
        let kind = parse_kind(&parts)?;
        Ok(Activation { title_id, kind })
    }

    fn assert_split_agrees(input: &str) -> Result<(), TestCaseError> {
        if let Some(parts) = split_plain(input) {
            let url = Url::parse(input);
            prop_assert!(
                url.is_ok(),
                "{input:?}: split, but Url::parse fails: {url:?}"
            );
            if let Ok(url) = url {
                let of_url = UriParts::of_url(&url);
                // `url` lower-cases the scheme; the split keeps it as given (compared ignoring case).
                prop_assert_eq!(
                    parts.scheme.to_ascii_lowercase(),
                    of_url.scheme,
                    "{}",
                    input
                );
                prop_assert_eq!(
                    (parts.action, parts.path, parts.query),
                    (of_url.action, of_url.path, of_url.query),
                    "{}",
                    input
                );
            }
        }
        Ok(())
    }

    #[test]
    fn fast_split_agrees_with_url_on_edge_cases() {
        for input in [
            "ms-xbl-multiplayer://inviteHandleAccept?handle=a",
            "MS-XBL-Multiplayer://INVITEHANDLEACCEPT/?a=%22%3C&b=\"<>'`{}|^\\",
            "ms-xbl-7A970EA1://inviteAccept/#frag?x=1",
            "ms-xbl-1://a.b~c_d-e?%%3C%2%3#x#y",
            "foo+bar.baz-1://x?",
            "ms-xbl-multiplayer://inviteAccept/.?a=b",
            "ms-xbl-multiplayer://inviteAccept/./?a=b",
            "ms-xbl-multiplayer://inviteAccept:80/?a=b",
            "ms-xbl-multiplayer://u@inviteAccept/?a=b",
            "ms-xbl-multiplayer:///inviteAccept",
            "http://inviteAccept/?a=b",
            "ms-xbl-multiplayer://inviteAccept?a=b c",
        ] {
            assert_split_agrees(input).unwrap();
        }
        assert!(split_plain("ms-xbl-multiplayer://inviteHandleAccept/?handle=x#f").is_some());
    }

    proptest! {
        #[test]
        fn formatted_activations_parse_back_equal(a in arb_activation()) {
            prop_assert_eq!(a.to_uri().parse::<Activation>(), Ok(a));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = s.parse::<Activation>();
        }

        #[test]
        fn fast_split_agrees_with_url(
            input in "(ms-xbl-multiplayer|MS-XBL-7a970EA1|ms-xbl-|[a-zA-Z][a-zA-Z0-9+.-]{0,3}|https|[0-9_]x):(//|/|)[a-zA-Z0-9._~%:@-]{0,6}(/|/[a-z.]{1,2}|)(\\?[ -~]{0,12}|)(#[ -~]{0,4}|)"
        ) {
            assert_split_agrees(&input)?;
        }

        #[test]
        fn decoding_agrees_with_form_urlencoded(raw in "[a-zA-Z0-9%+éç~ -]{0,24}") {
            let escaped = raw.contains(['+', '%']);
            let expected = form_urlencoded::parse(raw.as_bytes()).next().map(|(key, _)| key.into_owned());
            prop_assert_eq!(Some(decode_component(&raw, escaped).into_owned()).filter(|k| !k.is_empty()), expected.filter(|k| !k.is_empty()));
        }

        #[test]
        fn arbitrary_queries_never_panic(
            action in prop_oneof![
                Just("inviteHandleAccept".to_owned()),
                Just("ACTIVITYHANDLEJOIN/".to_owned()),
                Just("inviteAccept".to_owned()),
                "\\PC*",
            ],
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(format!("handle={GUID}")),
                    Just(format!("Handle=%7B{GUID_UPPER}%7D")),
                    Just("handle=".to_owned()),
                    Just("invitedXuid=1".to_owned()),
                    Just("invitedUser=2".to_owned()),
                    Just("joinerXuid=18446744073709551615".to_owned()),
                    Just("senderXuid=0".to_owned()),
                    Just("sender=3".to_owned()),
                    Just("connectionString=%E2%9C%93+x".to_owned()),
                    "(context|joineeXuid|[a-z]{0,3})=[a-zA-Z%0-9+{}-]{0,6}",
                    "\\PC{0,6}",
                ],
                0..8,
            ),
        ) {
            let uri = format!("ms-xbl-multiplayer://{action}?{}", pieces.join("&"));
            // The one-pass parser answers exactly what the general URL parser's path answers.
            prop_assert_eq!(uri.parse::<Activation>(), parse_via_url(&uri), "{}", uri);
            if let Ok(a) = uri.parse::<Activation>() {
                // Whatever parses must format to a URI that parses back equal.
                prop_assert_eq!(a.to_uri().parse::<Activation>(), Ok(a));
            }
        }
    }
}
