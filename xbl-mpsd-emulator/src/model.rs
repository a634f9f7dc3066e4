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
/// Compact, as every stored session holds one: one shared text holds the session's key, U+001E, then the three
/// parts as spelled, one after another, with the byte lengths needed to cut them out (24 bytes and one
/// allocation, where three `String`s and a separate key took 72 bytes and four). [`SessionRef::key`] shares the
/// text instead of building a new one, so the session map's key and the stored session's reference are one
/// allocation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionRef {
    /// `key` U+001E `scid` `template_name` `name`.
    text: Arc<str>,
    /// The byte length of the key.
    key_len: u16,
    /// The byte length of the scid.
    scid_len: u16,
    /// The byte length of the template name.
    template_len: u16,
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
/// U+001F (which no part can hold: parts are printable).
///
/// It shares the text of the [`SessionRef`] it was taken from (the key is that text up to U+001E), so a key is
/// made without allocating and the maps that index a session hold no copy of their own. Equality, hashing and
/// order look at the key only.
#[derive(Clone)]
pub(crate) struct SessionKey(Arc<str>);

/// The separator of the parts of a [`SessionKey`].
const KEY_SEPARATOR: char = '\u{1f}';

/// The separator of a reference's key and its spelled parts (a control character: no part holds one).
const SPELLING_SEPARATOR: char = '\u{1e}';

impl SessionKey {
    /// The key: the shared text up to the spelling.
    fn as_str(&self) -> &str {
        self.0
            .split_once(SPELLING_SEPARATOR)
            .map_or(&*self.0, |(key, _)| key)
    }

    /// The lower-case scid and template name.
    fn scid_and_template(&self) -> (&str, &str) {
        let mut parts = self.as_str().split(KEY_SEPARATOR);
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

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SessionKey {}

impl std::hash::Hash for SessionKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for SessionKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SessionKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SessionKey").field(&self.as_str()).finish()
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
            check_ref_part(part, &format_args!("{context}.{field}"))?;
        }
        Self::build(scid, template_name, name)
            .ok_or_else(|| ApiError::bad_request(format!("{context} is too long")))
    }

    /// The reference of these parts (`None` only when a length does not fit in 16 bits, which the checks of
    /// [`SessionRef::new`] rule out). The key is built in the same buffer: an ASCII part is lowered byte by
    /// byte, any other through `str::to_lowercase`, as a whole, for the same result.
    fn build(scid: &str, template_name: &str, name: &str) -> Option<Self> {
        let parts = [scid, template_name, name];
        let spelled: usize = parts.iter().map(|part| part.len()).sum();
        let mut text = String::with_capacity(2 * spelled + 3);
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                text.push(KEY_SEPARATOR);
            }
            if part.is_ascii() {
                text.extend(part.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                text.push_str(&part.to_lowercase());
            }
        }
        let key_len = u16::try_from(text.len()).ok()?;
        text.push(SPELLING_SEPARATOR);
        parts.into_iter().for_each(|part| text.push_str(part));
        Some(Self {
            text: text.into(),
            key_len,
            scid_len: u16::try_from(scid.len()).ok()?,
            template_len: u16::try_from(template_name.len()).ok()?,
        })
    }

    /// The byte offsets where the scid, the template name and the name start.
    fn bounds(&self) -> (usize, usize, usize) {
        let scid = usize::from(self.key_len) + SPELLING_SEPARATOR.len_utf8();
        let template = scid + usize::from(self.scid_len);
        (scid, template, template + usize::from(self.template_len))
    }

    /// The service configuration ID.
    pub(crate) fn scid(&self) -> &str {
        let (scid, template, _) = self.bounds();
        self.text.get(scid..template).unwrap_or("")
    }

    /// The session template name.
    pub(crate) fn template_name(&self) -> &str {
        let (_, template, name) = self.bounds();
        self.text.get(template..name).unwrap_or("")
    }

    /// The session name.
    pub(crate) fn name(&self) -> &str {
        self.text.get(self.bounds().2..).unwrap_or("")
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

    /// Reads `value` as a `{scid, templateName, name}` object, `path` naming it in errors.
    pub(crate) fn from_value(value: Option<&Value>, path: &str) -> ApiResult<Self> {
        Self::read(value, path, false)
    }

    fn read_json(body: &Map<String, Value>, field: &str, fill_name: bool) -> ApiResult<Self> {
        Self::read(body.get(field), field, fill_name)
    }

    fn read(value: Option<&Value>, field: &str, fill_name: bool) -> ApiResult<Self> {
        let Some(Value::Object(obj)) = value else {
            return Err(ApiError::bad_request(format!(
                "{field} is required and must be an object {{scid, templateName, name}}"
            )));
        };
        only_ref_keys(obj, field)?;
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

    /// The case-insensitive identity: shares the reference's text (no allocation).
    pub(crate) fn key(&self) -> SessionKey {
        SessionKey(Arc::clone(&self.text))
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

/// Checks one part of a session reference (a SCID, template name or session name) as the spec's `Scid`,
/// `SessionTemplateName` and `SessionName` do: 1 to 99 characters, none a control character.
pub(crate) fn check_ref_part(part: &str, path: &dyn std::fmt::Display) -> ApiResult<()> {
    if part.is_empty()
        || part.chars().count() > MAX_REF_PART_LEN
        || part.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "{path} must be a non-empty string of at most {MAX_REF_PART_LEN} printable characters"
        )));
    }
    Ok(())
}

/// Refuses a key other than `scid`, `templateName` and `name` in a session reference object (the spec's
/// `SessionReference` allows no other: a reference is an identity).
fn only_ref_keys(reference: &Map<String, Value>, path: &str) -> ApiResult<()> {
    match reference
        .keys()
        .find(|key| !matches!(key.as_str(), "scid" | "templateName" | "name"))
    {
        Some(key) => Err(ApiError::bad_request(format!(
            "{path}.{key} is not allowed; a session reference holds only scid, templateName and name"
        ))),
        None => Ok(()),
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
            assert_eq!(
                reference.key().as_str(),
                reference_key(scid, template, name)
            );
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
            let reference = SessionRef::build(scid, template, name).expect("short parts");
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
            SessionRef::build("ab", "c", "d"),
            SessionRef::build("a", "bc", "d")
        );
        assert_eq!(std::mem::size_of::<SessionRef>(), 24);
        // A part too long for the lengths is refused, not cut.
        let long = "x".repeat(usize::from(u16::MAX) + 1);
        assert!(SessionRef::build(&long, "t", "n").is_none());
        assert!(SessionRef::build("s", &long, "n").is_none());
    }

    #[test]
    fn keys_share_the_reference_text_and_compare_the_key_only() {
        use std::hash::BuildHasher as _;

        let one = SessionRef::new("MockScid", "Lobby", "Game-1", "t").expect("valid");
        let two = SessionRef::new("MOCKSCID", "lobby", "GAME-1", "t").expect("valid");
        assert_ne!(one, two);
        let (key_one, key_two) = (one.key(), two.key());
        assert!(Arc::ptr_eq(&key_one.0, &one.text));
        assert_eq!(key_one, key_two);
        assert_eq!(key_one.cmp(&key_two), std::cmp::Ordering::Equal);
        let hasher = std::collections::hash_map::RandomState::new();
        assert_eq!(hasher.hash_one(&key_one), hasher.hash_one(&key_two));
        assert_eq!(
            format!("{key_one:?}"),
            "SessionKey(\"mockscid\\u{1f}lobby\\u{1f}game-1\")"
        );
        assert!(key_one.in_template("mockSCID", "LOBBY"));
        assert!(!key_one.in_scid("other"));
        let other = SessionRef::new("MockScid", "Lobby", "Game-2", "t").expect("valid");
        assert_ne!(key_one, other.key());
        assert!(key_one < other.key());
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
            let reference = SessionRef::build(&scid, &template, &name).expect("short parts");
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
            let key = reference.key();
            prop_assert_eq!(key.as_str(), reference_key(&scid, &template, &name));
        }
    }
}
