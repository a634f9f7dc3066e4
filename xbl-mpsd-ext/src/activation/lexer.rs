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

/// The index of the first byte at or after `from` that is `&`, `=`, `%` or `+` (the only bytes that
/// matter when splitting and decoding a query), or the length. Eight bytes at a time: in each 64-bit
/// word a byte equal to a target becomes zero after an XOR, and the classic "has a zero byte" test
/// marks it; the lowest mark is exact (only bytes above a zero byte can be marked falsely), so the
/// first match is the lowest set bit.
pub(super) fn next_special(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    fn zero_bytes(word: u64, target: u8) -> u64 {
        let x = word ^ (ONES * u64::from(target));
        x.wrapping_sub(ONES) & !x & HIGHS
    }
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let marks = zero_bytes(word, b'&')
            | zero_bytes(word, b'=')
            | zero_bytes(word, b'%')
            | zero_bytes(word, b'+');
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !matches!(bytes[i], b'&' | b'=' | b'%' | b'+') {
        i += 1;
    }
    i.min(bytes.len())
}

/// Whether `key` is `name` in any ASCII case, for a `name` of ASCII letters only (every parameter
/// name is). OR-ing 0x20 turns an upper-case letter into its lower case and turns no other byte into a
/// lower-case letter, so one OR and one comparison per byte decide it, without an early exit (the
/// compiler vectorizes the fold).
fn is_name(key: &str, name: &str) -> bool {
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphabetic()), "{name}");
    key.len() == name.len()
        && key
            .bytes()
            .zip(name.bytes())
            .fold(true, |same, (k, n)| same & ((k | 0x20) == (n | 0x20)))
}

/// The decoded values of the parameters named in `names` in a (percent-encoded) query, matched
/// case-insensitively; repeated names must repeat the same value. One pass splits the pairs (`&`, then
/// the first `=`; empty pairs skipped, as `application/x-www-form-urlencoded`), jumping from one
/// special byte to the next ([`next_special`]) and noting which side holds an escape; keys are decoded
/// only when they hold one, and only the values of matched names are decoded at all.
pub(super) fn collect_params<'q, const N: usize>(
    query: &'q str,
    names: [&'static str; N],
) -> Result<[Option<Cow<'q, str>>; N], ActivationError> {
    let mut values: [Option<Cow<'q, str>>; N] = std::array::from_fn(|_| None);
    let bytes = query.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        // One pair: [start, end), `=` at `equals` (the first one), escapes noted per side.
        let mut end = start;
        let mut equals = None;
        let (mut key_escaped, mut value_escaped) = (false, false);
        loop {
            end = next_special(bytes, end);
            match bytes.get(end) {
                None | Some(b'&') => break,
                Some(b'=') if equals.is_none() => equals = Some(end),
                Some(b'%' | b'+') if equals.is_none() => key_escaped = true,
                Some(b'%' | b'+') => value_escaped = true,
                Some(_) => {}
            }
            end += 1;
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
        let Some(index) = names.iter().position(|name| is_name(&key, name)) else {
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
    // Printable ASCII that `url` keeps as it is in a non-special query (it escapes `"`, `<` and `>`),
    // and whether a `#` starts a fragment. A fold without early exit, which the compiler vectorizes:
    // the whole URI in a few instructions.
    let (printable, hash) = bytes.iter().fold((true, false), |(ok, hash), &b| {
        (
            ok & (0x21..=0x7e).contains(&b) & (b != b'"') & (b != b'<') & (b != b'>'),
            hash | (b == b'#'),
        )
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
            let end = rest
                .bytes()
                .position(|b| b == b'?' || b == b'#')
                .unwrap_or(rest.len());
            rest.split_at(end)
        }
        Some(b'?' | b'#') | None => ("", rest),
        Some(_) => return None,
    };
    if !matches!(path, "" | "/") {
        return None;
    }
    let query = match rest.strip_prefix('?') {
        Some(query) if hash => query.split_once('#').map_or(query, |(query, _)| query),
        Some(query) => query,
        None => "",
    };
    Some(UriParts {
        scheme,
        action: Some(action),
        path,
        query,
    })
}
