//! The lexer of activation URIs: splitting the plain `scheme://action[/][?query]` shape in one pass
//! (anything else is left to `url::Url`, with the same result) and decoding the query's parameters.

use std::borrow::Cow;

use url::Url;

use super::ActivationError;

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
pub(super) fn decode_component(raw: &str, escaped: bool) -> Cow<'_, str> {
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
pub(super) fn collect_params<'q, const N: usize>(
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

/// What the rest of the parser needs of a URI, as `url::Url` would report it: the scheme (ASCII case
/// as given; `url` lower-cases it, compare ignoring case), the host (the action), the path and the query.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct UriParts<'a> {
    pub(super) scheme: &'a str,
    pub(super) action: Option<&'a str>,
    pub(super) path: &'a str,
    pub(super) query: &'a str,
}

impl<'a> UriParts<'a> {
    pub(super) fn of_url(url: &'a Url) -> Self {
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
pub(super) fn split_plain(input: &str) -> Option<UriParts<'_>> {
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
