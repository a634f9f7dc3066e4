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
///
/// Compact, as every stored session holds one: its three parts in one allocation, one after another, with the
/// byte lengths of the first two (24 bytes and one allocation, where three `String`s took 72 and three).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionRef {
    /// The scid, the template name and the name, concatenated.
    parts: Box<str>,
    /// The byte length of the scid.
    scid_len: u32,
    /// The byte length of the template name.
    template_len: u32,
}

impl std::fmt::Debug for SessionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRef")
            .field("scid", &self.scid())
            .field("template_name", &self.template_name())
            .field("name", &self.name())
            .finish()
    }
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
        Ok(Self::from_parts(scid, template_name, name))
    }

    /// A reference of these parts as they are, unchecked (restored records, fixed references).
    pub(crate) fn from_parts(scid: &str, template_name: &str, name: &str) -> Self {
        // A part longer than 4 GiB cannot reach here (requests and records are far smaller); the lengths
        // saturate rather than panic, and the accessors never slice out of bounds.
        let len = |part: &str| u32::try_from(part.len()).unwrap_or(u32::MAX);
        Self {
            parts: [scid, template_name, name].concat().into_boxed_str(),
            scid_len: len(scid),
            template_len: len(template_name),
        }
    }

    /// The byte offsets where the template name and the name start.
    fn bounds(&self) -> (usize, usize) {
        let scid_end = self.scid_len as usize;
        (
            scid_end,
            scid_end.saturating_add(self.template_len as usize),
        )
    }

    /// The service configuration ID.
    pub(crate) fn scid(&self) -> &str {
        self.parts.get(..self.bounds().0).unwrap_or("")
    }

    /// The session template name.
    pub(crate) fn template_name(&self) -> &str {
        let (start, end) = self.bounds();
        self.parts.get(start..end).unwrap_or("")
    }

    /// The session name.
    pub(crate) fn name(&self) -> &str {
        self.parts.get(self.bounds().1..).unwrap_or("")
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
        let parts = [self.scid(), self.template_name(), self.name()];
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
        json!({ "scid": self.scid(), "templateName": self.template_name(), "name": self.name() })
    }

    /// The session URI path, as sent in `Content-Location`.
    pub(crate) fn uri_path(&self) -> String {
        format!(
            "/serviceconfigs/{}/sessionTemplates/{}/sessions/{}",
            percent_encode(self.scid()),
            percent_encode(self.template_name()),
            percent_encode(self.name())
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

/// A session's opaque ETag.
///
/// The emulator issues upper-case (version 4) GUIDs and keeps them as their 16 bytes, spelled out when sent
/// (a `String` took 24 bytes and a 36-byte allocation per session); any other text (from a record written
/// elsewhere) is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Etag {
    /// A GUID, spelled upper case with hyphens.
    Guid(Uuid),
    /// Any other spelling, verbatim.
    Text(Box<str>),
}

impl Etag {
    /// A fresh ETag. Its random bytes come from the thread-local generator, not a system call: a new ETag is
    /// made under the session's lock on every write.
    pub(crate) fn new() -> Self {
        Self::Guid(uuid::Builder::from_random_bytes(rand::random()).into_uuid())
    }

    /// The ETag spelled `text` (a GUID only when `text` is exactly how a GUID ETag is spelled, so the text
    /// round-trips).
    pub(crate) fn from_text(text: &str) -> Self {
        match Uuid::try_parse(text) {
            Ok(id) if id.hyphenated().encode_upper(&mut Uuid::encode_buffer()) == text => {
                Self::Guid(id)
            }
            _ => Self::Text(text.into()),
        }
    }

    /// Runs `f` on the ETag's text (a GUID is spelled on the stack).
    pub(crate) fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Self::Guid(id) => f(id.hyphenated().encode_upper(&mut Uuid::encode_buffer())),
            Self::Text(text) => f(text),
        }
    }
}

impl std::fmt::Display for Etag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
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

    #[test]
    fn references_keep_their_parts() {
        for (scid, template, name) in [
            ("MockScid", "Lobby", "Game-1"),
            ("ΣΑΣ", "ÖDE", "İstanbul"),
            ("a", "b", "c"),
            ("", "", ""),
            ("", "t", ""),
        ] {
            let reference = SessionRef::from_parts(scid, template, name);
            assert_eq!(
                (
                    reference.scid(),
                    reference.template_name(),
                    reference.name()
                ),
                (scid, template, name)
            );
            assert_eq!(reference, reference.clone());
            assert_eq!(
                format!("{reference:?}"),
                format!(
                    "SessionRef {{ scid: {scid:?}, template_name: {template:?}, name: {name:?} }}"
                )
            );
        }
        // The boundaries belong to the parts: moving a character between parts is another reference.
        assert_ne!(
            SessionRef::from_parts("ab", "c", "d"),
            SessionRef::from_parts("a", "bc", "d")
        );
        assert_eq!(std::mem::size_of::<SessionRef>(), 24);
    }

    #[test]
    fn etags_are_guids_spelled_upper_case_or_kept_verbatim() {
        let fresh = Etag::new();
        assert!(matches!(fresh, Etag::Guid(_)));
        let text = fresh.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_uppercase());
        assert_eq!(Etag::from_text(&text), fresh);
        assert_ne!(Etag::new(), fresh);
        for other in [
            "",
            "abc",
            "\"quoted\"",
            // A GUID spelled otherwise (lower case, braces, no hyphens) keeps its spelling.
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "{0F8FAD5B-D9CB-469F-A165-70867728950E}",
            "0F8FAD5BD9CB469FA16570867728950E",
        ] {
            let etag = Etag::from_text(other);
            assert!(matches!(etag, Etag::Text(_)), "{other}");
            assert_eq!(etag.to_string(), other);
        }
        let guid = Etag::from_text("0F8FAD5B-D9CB-469F-A165-70867728950E");
        assert!(matches!(guid, Etag::Guid(_)));
        assert_eq!(guid.to_string(), "0F8FAD5B-D9CB-469F-A165-70867728950E");
        assert_eq!(guid.with_text(str::len), 36);
    }

    proptest! {
        #[test]
        fn etag_text_round_trips(text in "\\PC{0,40}") {
            prop_assert_eq!(Etag::from_text(&text).to_string(), text);
        }

        #[test]
        fn reference_parts_round_trip(
            scid in "\\PC{0,20}",
            template in "\\PC{0,20}",
            name in "\\PC{0,20}",
        ) {
            let reference = SessionRef::from_parts(&scid, &template, &name);
            prop_assert_eq!(reference.scid(), scid.as_str());
            prop_assert_eq!(reference.template_name(), template.as_str());
            prop_assert_eq!(reference.name(), name.as_str());
        }

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
