//! The MPSD session reference (`scid` / `templateName` / `name`) and its URI path.

use std::{fmt, str::FromStr, sync::LazyLock};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ids::{NameError, NameKind, Scid, string_schema, validate_name, validated_name};

/// Maximum length of a session template name or session name (XSAPI's buffers
/// are 100 bytes including the NUL).
pub const SESSION_NAME_MAX_LEN: usize = 99;

fn name_char_allowed(c: char) -> bool {
    !matches!(c, '/' | '?' | '#') && !c.is_control()
}

/// [`name_char_allowed`] for ASCII, as a lookup table.
const NAME_ASCII: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = !matches!(b as u8, b'/' | b'?' | b'#') && !(b as u8).is_ascii_control();
        b += 1;
    }
    table
};

fn validate_template_name(s: &str) -> Result<(), NameError> {
    validate_name(
        NameKind::SessionTemplateName,
        s,
        SESSION_NAME_MAX_LEN,
        &NAME_ASCII,
        name_char_allowed,
    )
}

fn validate_session_name(s: &str) -> Result<(), NameError> {
    validate_name(
        NameKind::SessionName,
        s,
        SESSION_NAME_MAX_LEN,
        &NAME_ASCII,
        name_char_allowed,
    )
}

validated_name!(
    /// A session template name: 1–99 bytes, no `/`, `?`, `#` or control characters.
    SessionTemplateName,
    validate_template_name
);

validated_name!(
    /// A session name: 1–99 bytes, no `/`, `?`, `#` or control characters.
    SessionName,
    validate_session_name
);

string_schema!(
    SessionTemplateName,
    "A session template name (at most 99 characters)."
);
string_schema!(
    SessionName,
    "A session name (at most 99 characters; case-insensitive)."
);

/// Identifies one MPSD session (`MultiplayerSessionReference`).
///
/// Serializes as `{"scid": …, "templateName": …, "name": …}`. Derived equality
/// is exact; MPSD itself compares references case-insensitively, see
/// [`SessionReference::matches_ignore_case`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionReference {
    /// The service configuration id.
    pub scid: Scid,
    /// The session template name.
    pub template_name: SessionTemplateName,
    /// The session name.
    pub name: SessionName,
}

/// Why a `Content-Location` value is not a session reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionRefError {
    /// Neither a path starting with a single `/` nor an absolute URL.
    NotAUri {
        /// The offending input.
        input: String,
    },
    /// An absolute URL whose scheme is not `http` or `https`.
    UnsupportedScheme {
        /// The offending input.
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// The path does not have the six segments of a session path.
    WrongShape {
        /// The offending input.
        input: String,
    },
    /// A literal segment (`serviceconfigs`, `sessionTemplates`, `sessions`) is wrong.
    UnexpectedSegment {
        /// The offending input.
        input: String,
        /// The literal that was expected.
        expected: &'static str,
        /// The segment found.
        found: String,
    },
    /// A segment does not percent-decode to UTF-8.
    NotUtf8 {
        /// The offending input.
        input: String,
        /// The raw segment.
        segment: String,
    },
    /// The scid, template name or session name is invalid.
    InvalidPart {
        /// The offending input.
        input: String,
        /// What is wrong with the part.
        source: NameError,
    },
}

impl fmt::Display for SessionRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAUri { input } => write!(
                f,
                "{input:?} is neither a path starting with '/' nor an absolute URL"
            ),
            Self::UnsupportedScheme { input, scheme } => {
                write!(f, "{input:?} has scheme {scheme:?}; expected https")
            }
            Self::WrongShape { input } => write!(
                f,
                "{input:?} is not of the form /serviceconfigs/{{scid}}/sessionTemplates/{{template}}/sessions/{{name}}"
            ),
            Self::UnexpectedSegment {
                input,
                expected,
                found,
            } => write!(
                f,
                "{input:?}: expected the path segment {expected:?}, found {found:?}"
            ),
            Self::NotUtf8 { input, segment } => write!(
                f,
                "{input:?}: path segment {segment:?} does not percent-decode to UTF-8"
            ),
            Self::InvalidPart { input, source } => write!(f, "{input:?}: {source}"),
        }
    }
}

impl std::error::Error for SessionRefError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidPart { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Characters left unencoded in path segments: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The base a `Content-Location` path is resolved against, parsed once.
static SERVICE_ROOT: LazyLock<Result<Url, url::ParseError>> =
    LazyLock::new(|| Url::parse("https://sessiondirectory.xboxlive.com/"));

/// The literal segments of a session path, by position.
const LITERALS: [(usize, &str); 3] = [
    (0, "serviceconfigs"),
    (2, "sessionTemplates"),
    (4, "sessions"),
];

impl SessionReference {
    /// Builds a reference from its three parts.
    pub fn new(scid: Scid, template_name: SessionTemplateName, name: SessionName) -> Self {
        Self {
            scid,
            template_name,
            name,
        }
    }

    /// Parses a `Content-Location` value.
    ///
    /// Accepts a path `/serviceconfigs/{scid}/sessionTemplates/{tpl}/sessions/{name}`
    /// or an absolute `http(s)` URL with such a path. Literal segments match in
    /// any case, parts are percent-decoded, a trailing `/` is tolerated and the
    /// query and fragment are ignored.
    ///
    /// ```
    /// use xbl_mpsd_api::SessionReference;
    ///
    /// let r = SessionReference::from_uri_path(
    ///     "https://sessiondirectory.xboxlive.com/serviceconfigs/MockScid/sessiontemplates/lobby/sessions/my%20game/",
    /// )?;
    /// assert_eq!(r.scid.as_str(), "MockScid");
    /// assert_eq!(r.template_name.as_str(), "lobby");
    /// assert_eq!(r.name.as_str(), "my game");
    /// assert_eq!(r.to_uri_path(), "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/my%20game");
    /// # Ok::<(), xbl_mpsd_api::SessionRefError>(())
    /// ```
    pub fn from_uri_path(input: &str) -> Result<Self, SessionRefError> {
        // What `Content-Location` carries nearly always: a canonical path of valid parts, taken as it is.
        if let Some(reference) = Self::from_canonical_path(input) {
            return Ok(reference);
        }
        Self::from_any_uri_path(input)
    }

    /// The reference in a canonical session path — `/serviceconfigs/{scid}/sessionTemplates/{tpl}/sessions/{name}`
    /// (literals in any case, one trailing `/` allowed) whose parts hold only bytes a URL path keeps as they
    /// are, no escape, no leading `.`, and are valid — read in one pass, without the URL parser or a decoder.
    /// `None` for anything else, which [`from_any_uri_path`](Self::from_any_uri_path) reads (and explains
    /// when it is wrong); where this gives a reference, that gives the same one.
    fn from_canonical_path(input: &str) -> Option<Self> {
        fn literal<'a>(input: &'a str, literal: &str) -> Option<&'a str> {
            let head = input.get(..literal.len())?;
            head.eq_ignore_ascii_case(literal)
                .then(|| input.get(literal.len()..))
                .flatten()
        }
        fn plain(part: &str) -> Option<&str> {
            let plain = !part.is_empty()
                && !part.starts_with('.')
                && part.bytes().fold(true, |ok, b| {
                    ok & SEGMENT_KEPT[usize::from(b)] & (b != b'%')
                });
            plain.then_some(part)
        }
        let rest = literal(input, "/serviceconfigs/")?;
        let (scid, rest) = rest.split_once('/')?;
        let rest = literal(rest, "sessionTemplates/")?;
        let (template, rest) = rest.split_once('/')?;
        let name = literal(rest, "sessions/")?;
        let name = name.strip_suffix('/').unwrap_or(name);
        Some(Self {
            scid: Scid::new(plain(scid)?).ok()?,
            template_name: SessionTemplateName::new(plain(template)?).ok()?,
            name: SessionName::new(plain(name)?).ok()?,
        })
    }

    /// [`from_uri_path`](Self::from_uri_path) for any input: a plain path is split as it is, anything
    /// else goes through the URL parser; parts are percent-decoded.
    fn from_any_uri_path(input: &str) -> Result<Self, SessionRefError> {
        let not_a_uri = || SessionRefError::NotAUri {
            input: input.to_owned(),
        };
        // A plain absolute path (what `Content-Location` carries) is its own URL path; anything else goes
        // through the URL parser, which normalizes it.
        let url;
        let path = if is_plain_path(input) {
            input
        } else {
            url = if input.starts_with('/') {
                // "//host/…" would be a scheme-relative URL, not a path.
                if input.starts_with("//") {
                    return Err(not_a_uri());
                }
                let base = SERVICE_ROOT.as_ref().map_err(|_| not_a_uri())?;
                base.join(input).map_err(|_| not_a_uri())?
            } else {
                let url = Url::parse(input).map_err(|_| not_a_uri())?;
                if !matches!(url.scheme(), "https" | "http") {
                    return Err(SessionRefError::UnsupportedScheme {
                        input: input.to_owned(),
                        scheme: url.scheme().to_owned(),
                    });
                }
                url
            };
            url.path()
        };
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        let wrong_shape = || SessionRefError::WrongShape {
            input: input.to_owned(),
        };
        // Six segments, split on the byte `/` (no searcher set-up for a few short segments).
        let mut segments = [""; 6];
        let mut count = 0;
        let mut start = 0;
        for (i, byte) in path.bytes().enumerate() {
            if byte == b'/' {
                *segments.get_mut(count).ok_or_else(wrong_shape)? = &path[start..i];
                count += 1;
                start = i + 1;
            }
        }
        *segments.get_mut(count).ok_or_else(wrong_shape)? = &path[start..];
        if count != 5 {
            return Err(wrong_shape());
        }
        for (index, expected) in LITERALS {
            if !segments[index].eq_ignore_ascii_case(expected) {
                return Err(SessionRefError::UnexpectedSegment {
                    input: input.to_owned(),
                    expected,
                    found: segments[index].to_owned(),
                });
            }
        }
        let [_, scid, _, template, _, name] = segments;

        let decode = |segment: &str| -> Result<String, SessionRefError> {
            if !segment.contains('%') {
                // Nothing to decode, and `segment` is already UTF-8.
                return Ok(segment.to_owned());
            }
            percent_decode_str(segment)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| SessionRefError::NotUtf8 {
                    input: input.to_owned(),
                    segment: segment.to_owned(),
                })
        };
        let invalid = |source| SessionRefError::InvalidPart {
            input: input.to_owned(),
            source,
        };
        Ok(Self {
            scid: Scid::new(decode(scid)?).map_err(invalid)?,
            template_name: SessionTemplateName::new(decode(template)?).map_err(invalid)?,
            name: SessionName::new(decode(name)?).map_err(invalid)?,
        })
    }

    /// The canonical path `/serviceconfigs/{scid}/sessionTemplates/{tpl}/sessions/{name}`,
    /// each part percent-encoded except for RFC 3986 unreserved characters.
    pub fn to_uri_path(&self) -> String {
        format!(
            "/serviceconfigs/{}/sessionTemplates/{}/sessions/{}",
            utf8_percent_encode(self.scid.as_str(), SEGMENT),
            utf8_percent_encode(self.template_name.as_str(), SEGMENT),
            utf8_percent_encode(self.name.as_str(), SEGMENT),
        )
    }

    /// Compares like MPSD and XSAPI do: all three parts ASCII case-insensitively.
    pub fn matches_ignore_case(&self, other: &Self) -> bool {
        self.scid.as_str().eq_ignore_ascii_case(other.scid.as_str())
            && self
                .template_name
                .as_str()
                .eq_ignore_ascii_case(other.template_name.as_str())
            && self.name.as_str().eq_ignore_ascii_case(other.name.as_str())
    }
}

impl FromStr for SessionReference {
    type Err = SessionRefError;

    /// Same as [`SessionReference::from_uri_path`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_uri_path(s)
    }
}

impl fmt::Display for SessionReference {
    /// Writes [`SessionReference::to_uri_path`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri_path())
    }
}

/// The bytes a URL path keeps as they are inside a segment — ASCII letters and digits, unreserved
/// punctuation, sub-delimiters, `:`, `@` and `%` — as a lookup table (`/` is not in it: it ends a segment).
const SEGMENT_KEPT: [bool; 256] = {
    let mut table = [false; 256];
    let kept = b"-._~!$&'()*+,;=:@%";
    let mut i = 0;
    while i < kept.len() {
        table[kept[i] as usize] = true;
        i += 1;
    }
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = true;
        }
        b += 1;
    }
    table
};

/// Whether `input` is an absolute path that the URL parser would keep byte for byte: it starts with one
/// `/`, holds only characters a URL path keeps as they are (unreserved, sub-delimiters, `:`, `@`, `%`, `/`),
/// and no segment is or may decode to a dot segment (`.`, `..`, `%2e…`), which the parser would resolve.
fn is_plain_path(input: &str) -> bool {
    let bytes = input.as_bytes();
    if bytes.first() != Some(&b'/') || bytes.get(1) == Some(&b'/') {
        return false;
    }
    // One table lookup per byte; only at a `/` (a segment about to start) is there more to check.
    for (i, &b) in bytes.iter().enumerate() {
        if SEGMENT_KEPT[usize::from(b)] {
            continue;
        }
        if b != b'/' {
            return false;
        }
        match bytes.get(i + 1..) {
            Some([b'.', ..]) => return false,
            Some([b'%', b'2', e, ..]) if *e | 0x20 == b'e' => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// The shortcut for plain paths reads exactly the path the URL parser would.
        #[test]
        fn a_plain_path_is_what_the_url_parser_keeps(
            input in "/[a-zA-Z0-9%./:@!$&'()*+,;=~_ ?#|\\-]{0,40}",
        ) {
            if is_plain_path(&input) {
                let base = SERVICE_ROOT.as_ref().unwrap();
                let joined = base.join(&input).unwrap();
                prop_assert_eq!(joined.path(), input.as_str());
            }
        }
    }

    proptest! {
        /// Where the canonical fast path gives a reference, the general path gives the same one; and it
        /// gives one for every canonical path of valid parts.
        #[test]
        fn the_canonical_path_is_read_as_the_general_path_reads_it(
            sc in "(?i:/serviceconfigs/)",
            st in "(?i:/sessionTemplates/)",
            ss in "(?i:/sessions/)",
            scid in "[a-zA-Z0-9._~{}%-]{0,8}",
            template in "[a-zA-Z0-9 ._~%:@!$&'()*+,;=/é-]{0,8}",
            name in "[a-zA-Z0-9 ._~%:@!$&'()*+,;=/?#é-]{0,8}",
            trailing in "/?",
        ) {
            let input = format!("{sc}{scid}{st}{template}{ss}{name}{trailing}");
            let general = SessionReference::from_any_uri_path(&input);
            match SessionReference::from_canonical_path(&input) {
                Some(fast) => prop_assert_eq!(Ok(fast), general),
                None => {
                    let canonical = [&scid, &template, &name].iter().all(|p| {
                        !p.is_empty() && !p.starts_with('.')
                            && p.bytes().all(|b| SEGMENT_KEPT[usize::from(b)] && b != b'%')
                    });
                    // Refused by the fast path: not canonical, or a part that is not valid.
                    prop_assert!(!canonical || general.is_err(), "{input}: {general:?}");
                }
            }
        }
    }

    #[test]
    fn canonical_paths_take_the_fast_path() {
        for input in [
            "/serviceconfigs/00000000-0000-0000-0000-000000000000/sessionTemplates/lobby/sessions/bench",
            "/SERVICECONFIGS/MockScid/sessiontemplates/lobby/Sessions/my-game~1/",
        ] {
            let fast = SessionReference::from_canonical_path(input).expect(input);
            assert_eq!(Ok(fast), SessionReference::from_any_uri_path(input));
        }
        for input in [
            "/serviceconfigs/Mock%20Scid/sessionTemplates/lobby/sessions/a",
            "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/.a",
            "/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/a/b",
            "https://h/serviceconfigs/MockScid/sessionTemplates/lobby/sessions/a",
            "/serviceconfigs//sessionTemplates/lobby/sessions/a",
        ] {
            assert_eq!(
                SessionReference::from_canonical_path(input),
                None,
                "{input}"
            );
        }
    }

    #[test]
    fn dot_segments_and_escapes_are_left_to_the_url_parser() {
        for input in [
            "/a/./b",
            "/a/../b",
            "/a/%2e/b",
            "/a/%2E%2e/b",
            "/a b",
            "/a?b",
            "//host/a",
            "a/b",
        ] {
            assert!(!is_plain_path(input), "{input}");
        }
        assert!(is_plain_path(
            "/serviceconfigs/Mock%20Scid/sessionTemplates/lobby/sessions/a.b"
        ));
    }

    fn sref(scid: &str, tpl: &str, name: &str) -> SessionReference {
        SessionReference::new(
            scid.parse().unwrap(),
            tpl.parse().unwrap(),
            name.parse().unwrap(),
        )
    }

    #[test]
    fn parses_accepted_forms() {
        let expected = sref(
            "8d050174-412b-4d51-a29b-d55a34edfdb7",
            "integration",
            "19de0095",
        );
        for input in [
            "/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessionTemplates/integration/sessions/19de0095",
            "/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessiontemplates/integration/sessions/19de0095",
            "/ServiceConfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/SESSIONTEMPLATES/integration/Sessions/19de0095/",
            "/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessionTemplates/integration/sessions/19de0095?nocommit=true#x",
            "https://sessiondirectory.xboxlive.com/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessionTemplates/integration/sessions/19de0095",
            "HTTPS://SessionDirectory.xboxlive.com:443/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessionTemplates/integration/sessions/19de0095/",
            "http://localhost:8080/serviceconfigs/8d050174-412b-4d51-a29b-d55a34edfdb7/sessionTemplates/integration/sessions/%31%39de0095",
        ] {
            assert_eq!(
                SessionReference::from_uri_path(input),
                Ok(expected.clone()),
                "{input}"
            );
        }
    }

    #[test]
    fn percent_decodes_parts() {
        let r = SessionReference::from_uri_path(
            "/serviceconfigs/%7BMockScid%7D/sessionTemplates/t%C3%A9mpl/sessions/a%20b+c",
        )
        .unwrap();
        assert_eq!(r, sref("{MockScid}", "témpl", "a b+c"));
    }

    #[test]
    fn rejects_with_typed_errors() {
        let s = |x: &str| x.to_owned();
        let cases: Vec<(&str, SessionRefError)> = vec![
            ("", SessionRefError::NotAUri { input: s("") }),
            (
                "serviceconfigs/a/sessionTemplates/b/sessions/c",
                SessionRefError::NotAUri {
                    input: s("serviceconfigs/a/sessionTemplates/b/sessions/c"),
                },
            ),
            (
                "//host/serviceconfigs/a/sessionTemplates/b/sessions/c",
                SessionRefError::NotAUri {
                    input: s("//host/serviceconfigs/a/sessionTemplates/b/sessions/c"),
                },
            ),
            (
                "ftp://h/serviceconfigs/a/sessionTemplates/b/sessions/c",
                SessionRefError::UnsupportedScheme {
                    input: s("ftp://h/serviceconfigs/a/sessionTemplates/b/sessions/c"),
                    scheme: s("ftp"),
                },
            ),
            (
                "/serviceconfigs/a/sessionTemplates/b/sessions",
                SessionRefError::WrongShape {
                    input: s("/serviceconfigs/a/sessionTemplates/b/sessions"),
                },
            ),
            (
                "/serviceconfigs/a/sessionTemplates/b/sessions/c/members",
                SessionRefError::WrongShape {
                    input: s("/serviceconfigs/a/sessionTemplates/b/sessions/c/members"),
                },
            ),
            (
                "/handles/a/sessionTemplates/b/sessions/c",
                SessionRefError::UnexpectedSegment {
                    input: s("/handles/a/sessionTemplates/b/sessions/c"),
                    expected: "serviceconfigs",
                    found: s("handles"),
                },
            ),
            (
                "/serviceconfigs/a/templates/b/sessions/c",
                SessionRefError::UnexpectedSegment {
                    input: s("/serviceconfigs/a/templates/b/sessions/c"),
                    expected: "sessionTemplates",
                    found: s("templates"),
                },
            ),
            (
                "/serviceconfigs/a/sessionTemplates/b/session/c",
                SessionRefError::UnexpectedSegment {
                    input: s("/serviceconfigs/a/sessionTemplates/b/session/c"),
                    expected: "sessions",
                    found: s("session"),
                },
            ),
            (
                "/serviceconfigs//sessionTemplates/b/sessions/c",
                SessionRefError::InvalidPart {
                    input: s("/serviceconfigs//sessionTemplates/b/sessions/c"),
                    source: NameError::Empty {
                        kind: NameKind::Scid,
                    },
                },
            ),
            (
                "/serviceconfigs/a/sessionTemplates/b/sessions/x%2Fy",
                SessionRefError::InvalidPart {
                    input: s("/serviceconfigs/a/sessionTemplates/b/sessions/x%2Fy"),
                    source: NameError::InvalidChar {
                        kind: NameKind::SessionName,
                        input: s("x/y"),
                        ch: '/',
                    },
                },
            ),
            (
                "/serviceconfigs/a/sessionTemplates/%FF/sessions/c",
                SessionRefError::NotUtf8 {
                    input: s("/serviceconfigs/a/sessionTemplates/%FF/sessions/c"),
                    segment: s("%FF"),
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                SessionReference::from_uri_path(input),
                Err(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn serde_camel_case() {
        let r = sref("MockScid", "lobby", "abc");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"scid": "MockScid", "templateName": "lobby", "name": "abc"})
        );
        assert_eq!(serde_json::from_value::<SessionReference>(v).unwrap(), r);
        assert!(
            serde_json::from_value::<SessionReference>(
                json!({"scid": "", "templateName": "t", "name": "n"})
            )
            .is_err()
        );
    }

    #[test]
    fn equality_is_exact_matching_is_not() {
        let a = sref("MockScid", "Lobby", "ABC");
        let b = sref("mockscid", "lobby", "abc");
        assert_ne!(a, b);
        assert!(a.matches_ignore_case(&b));
        assert!(!a.matches_ignore_case(&sref("MockScid", "Lobby", "ABD")));
    }

    #[test]
    fn dot_segments_rejected() {
        for dots in [".", ".."] {
            assert_eq!(
                SessionName::new(dots),
                Err(NameError::DotSegment {
                    kind: NameKind::SessionName,
                    input: dots.into()
                })
            );
        }
        assert!(SessionName::new("...").is_ok());
    }

    #[test]
    fn the_ascii_name_table_is_the_character_rule() {
        for b in 0u8..128 {
            assert_eq!(
                NAME_ASCII[usize::from(b)],
                name_char_allowed(char::from(b)),
                "{b:#x}"
            );
        }
    }

    #[test]
    fn name_length_limit() {
        assert!(SessionName::new("n".repeat(99)).is_ok());
        assert!(matches!(
            SessionName::new("n".repeat(100)),
            Err(NameError::TooLong { len: 100, .. })
        ));
        assert!(matches!(
            SessionTemplateName::new("a\u{7f}"),
            Err(NameError::InvalidChar { ch: '\u{7f}', .. })
        ));
    }

    fn not_dots(pattern: &'static str) -> impl Strategy<Value = String> {
        pattern.prop_filter("dot segment", |s| s != "." && s != "..")
    }

    proptest! {
        #[test]
        fn uri_path_round_trips(
            scid in not_dots("[A-Za-z0-9._~{}-]{1,39}"),
            tpl in not_dots("[^/?#\\p{Cc}]{1,24}"),
            name in not_dots("[^/?#\\p{Cc}]{1,24}"),
        ) {
            let r = sref(&scid, &tpl, &name);
            let path = r.to_uri_path();
            prop_assert_eq!(SessionReference::from_uri_path(&path), Ok(r.clone()));
            let absolute = format!("https://sessiondirectory.xboxlive.com{path}/");
            prop_assert_eq!(SessionReference::from_uri_path(&absolute), Ok(r));
        }

        #[test]
        fn never_panics(input in "\\PC*") {
            let _ = SessionReference::from_uri_path(&input);
        }
    }
}
