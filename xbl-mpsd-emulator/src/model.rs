//! Small shared types: session references, XUIDs, timestamps, identifiers.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The longest scid, template name or session name accepted (XSAPI's buffers hold 99 characters).
const MAX_REF_PART_LEN: usize = 99;

/// A session reference as the caller spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRef {
    /// Service configuration ID.
    pub(crate) scid: String,
    /// Session template name.
    pub(crate) template_name: String,
    /// Session name.
    pub(crate) name: String,
}

/// The case-insensitive identity of a session: its scid, template name and name in lower case, joined by
/// U+001F (which no part can hold: parts are printable). One shared allocation, so the maps that index a
/// session (the session map, the session owners) hold one copy of it between them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SessionKey(Arc<str>);

/// The separator of the parts of a [`SessionKey`].
const KEY_SEPARATOR: char = '\u{1f}';

impl SessionKey {
    /// The lower-case scid and template name.
    fn scid_and_template(&self) -> (&str, &str) {
        let mut parts = self.0.split(KEY_SEPARATOR);
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// Whether this session belongs to `scid` (ignoring case).
    pub(crate) fn in_scid(&self, scid: &str) -> bool {
        self.scid_and_template().0 == scid.to_lowercase()
    }

    /// Whether this session belongs to `scid` and `template_name` (ignoring case).
    pub(crate) fn in_template(&self, scid: &str, template_name: &str) -> bool {
        let (own_scid, own_template) = self.scid_and_template();
        own_scid == scid.to_lowercase() && own_template == template_name.to_lowercase()
    }
}

impl SessionRef {
    /// Builds a reference from path or body parts, checking that each is non-empty and not too long.
    pub(crate) fn new(
        scid: &str,
        template_name: &str,
        name: &str,
        context: &str,
    ) -> ApiResult<Self> {
        for (part, field) in [
            (scid, "scid"),
            (template_name, "templateName"),
            (name, "name"),
        ] {
            if part.is_empty()
                || part.chars().count() > MAX_REF_PART_LEN
                || part.chars().any(char::is_control)
            {
                return Err(ApiError::bad_request(format!(
                    "{context}.{field} must be a non-empty string of at most {MAX_REF_PART_LEN} printable characters"
                )));
            }
        }
        Ok(Self {
            scid: scid.to_owned(),
            template_name: template_name.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Reads a `{scid, templateName, name}` object found at `field` of `body`.
    pub(crate) fn from_json(body: &Map<String, Value>, field: &str) -> ApiResult<Self> {
        Self::read_json(body, field, false)
    }

    /// Like [`SessionRef::from_json`], but an empty `name` is replaced by a new GUID, as MPSD does for the
    /// `sessionRef` of a create-handle request ("if not specified, MPSD fills in a GUID").
    pub(crate) fn from_json_filling_name(
        body: &Map<String, Value>,
        field: &str,
    ) -> ApiResult<Self> {
        Self::read_json(body, field, true)
    }

    fn read_json(body: &Map<String, Value>, field: &str, fill_name: bool) -> ApiResult<Self> {
        let Some(Value::Object(obj)) = body.get(field) else {
            return Err(ApiError::bad_request(format!(
                "{field} is required and must be an object {{scid, templateName, name}}"
            )));
        };
        let part = |key: &str| -> ApiResult<&str> {
            obj.get(key).and_then(Value::as_str).ok_or_else(|| {
                ApiError::bad_request(format!("{field}.{key} is required and must be a string"))
            })
        };
        let name = part("name")?;
        if fill_name && name.is_empty() {
            let generated = Uuid::new_v4().to_string();
            return Self::new(part("scid")?, part("templateName")?, &generated, field);
        }
        Self::new(part("scid")?, part("templateName")?, name, field)
    }

    /// The case-insensitive identity.
    ///
    /// Built in one buffer (every request takes it at least once): an ASCII part is lowered byte by byte,
    /// any other through `str::to_lowercase`, as a whole, for the same result.
    pub(crate) fn key(&self) -> SessionKey {
        let parts = [&self.scid, &self.template_name, &self.name];
        let mut key = String::with_capacity(
            parts.iter().map(|part| part.len()).sum::<usize>() + 2 * KEY_SEPARATOR.len_utf8(),
        );
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                key.push(KEY_SEPARATOR);
            }
            if part.is_ascii() {
                key.extend(part.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                key.push_str(&part.to_lowercase());
            }
        }
        SessionKey(key.into())
    }

    /// The JSON form `{scid, templateName, name}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({ "scid": self.scid, "templateName": self.template_name, "name": self.name })
    }

    /// The session URI path, as sent in `Content-Location`.
    pub(crate) fn uri_path(&self) -> String {
        format!(
            "/serviceconfigs/{}/sessionTemplates/{}/sessions/{}",
            percent_encode(&self.scid),
            percent_encode(&self.template_name),
            percent_encode(&self.name)
        )
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Parses a XUID: a non-zero decimal `u64` without sign or padding characters.
pub(crate) fn parse_xuid(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|xuid| *xuid != 0)
}

/// Reads a XUID held as a JSON string; `path` names the field in the error.
pub(crate) fn xuid_from_json(value: Option<&Value>, path: &str) -> ApiResult<u64> {
    value
        .and_then(Value::as_str)
        .and_then(parse_xuid)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{path} is required and must be a decimal XUID string"
            ))
        })
}

/// An ISO-8601 UTC timestamp with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A fresh opaque ETag: an upper-case (version 4) GUID. Its random bytes come from the thread-local generator,
/// not a system call: a new ETag is made under the session's lock on every write.
pub(crate) fn new_etag() -> String {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    id.hyphenated()
        .encode_upper(&mut Uuid::encode_buffer())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The key as it was first defined: each part lowered as a whole, joined by the separator.
    fn reference_key(scid: &str, template: &str, name: &str) -> String {
        format!(
            "{}{KEY_SEPARATOR}{}{KEY_SEPARATOR}{}",
            scid.to_lowercase(),
            template.to_lowercase(),
            name.to_lowercase()
        )
    }

    #[test]
    fn keys_lower_ascii_and_unicode_parts_as_str_to_lowercase_does() {
        for (scid, template, name) in [
            ("MockScid", "Lobby", "Game-1"),
            ("ΣΑΣ", "ÖDE", "İstanbul"),
            ("a", "ΟΔΟΣ", "x"),
        ] {
            let reference = SessionRef::new(scid, template, name, "sessionRef").expect("valid");
            assert_eq!(&*reference.key().0, reference_key(scid, template, name));
        }
    }

    proptest! {
        #[test]
        fn keys_equal_the_reference_definition(
            scid in "[^\\p{Cc}]{1,20}",
            template in "[a-zA-Z0-9_Σσ-]{1,20}",
            name in "[^\\p{Cc}]{1,20}",
        ) {
            let reference = SessionRef::new(&scid, &template, &name, "sessionRef").expect("valid");
            prop_assert_eq!(&*reference.key().0, reference_key(&scid, &template, &name));
        }
    }
}
