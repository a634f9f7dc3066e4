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

use url::{Url, form_urlencoded};

use crate::ids::{HandleId, HandleIdError, TitleId, TitleIdError, Xuid, XuidError};
pub use crate::text::NonEmptyString;
use lexer::{UriParts, collect_params, split_plain};

mod lexer;

/// The scheme registered by titles that use MPSD handles.
pub const MULTIPLAYER_SCHEME: &str = "ms-xbl-multiplayer";

/// Prefix of the per-title scheme `ms-xbl-<hex title id>`.
const TITLE_SCHEME_PREFIX: &str = "ms-xbl-";

const INVITE_HANDLE_ACCEPT: &str = "inviteHandleAccept";
const ACTIVITY_HANDLE_JOIN: &str = "activityHandleJoin";
const INVITE_ACCEPT: &str = "inviteAccept";

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

/// A parsed protocol activation (its JSON rendering for the command line is the CLI's `activation parse`).
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

#[cfg(test)]
mod tests;
