//! [`PathSegment`]: a path parameter percent-encoded as it is written into the request URL.
//!
//! progenitor formats each path parameter with `encode_path(&value.to_string())`: two strings allocated per
//! parameter per request. The generated code writes `PathSegment(&value)` into the URL instead
//! (`xtask/src/postprocess.rs`): the value's `Display` output is percent-encoded piece by piece, straight
//! into the URL being formatted, with progenitor's set of escaped bytes — the URL is the same, byte for byte.

use std::fmt::{self, Write as _};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// The bytes progenitor's `encode_path` escapes (progenitor-client 0.15 `PATH_SET`).
const PATH_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');

/// The bytes [`PATH_SET`] leaves as they are (printable ASCII but the escaped punctuation), as a lookup
/// table; the property test below holds the two together.
const KEPT: [bool; 256] = {
    let escaped = b" \"#<>?`{}/%";
    let mut table = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        let mut kept = true;
        let mut i = 0;
        while i < escaped.len() {
            if escaped[i] == b as u8 {
                kept = false;
            }
            i += 1;
        }
        table[b] = kept;
        b += 1;
    }
    table
};

/// The request URL: `args` (the base URL, then the path with its [`PathSegment`]s) written into a string
/// allocated once, with room for the base and a path of ordinary length (a `format!` would start small and
/// grow it as the pieces arrive).
pub(crate) fn request_url(base_len: usize, args: fmt::Arguments<'_>) -> String {
    let mut url = String::with_capacity(base_len + 128);
    // Writing into a `String` fails only if a `Display` implementation fails, which none of these does; the
    // URL is then what was written, as with `format!`.
    let _ = url.write_fmt(args);
    url
}

/// A path parameter whose `Display` output is written percent-encoded.
pub(crate) struct PathSegment<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: fmt::Display + ?Sized> fmt::Display for PathSegment<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Encodes each piece the value writes. Escaping is byte by byte, so encoding the pieces is encoding
        /// the whole.
        struct Encoding<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl fmt::Write for Encoding<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                // Most values (GUIDs, names) need no escape at all: one table lookup per byte.
                if s.bytes().all(|b| KEPT[usize::from(b)]) {
                    return self.0.write_str(s);
                }
                utf8_percent_encode(s, PATH_SET).try_for_each(|piece| self.0.write_str(piece))
            }
        }
        write!(Encoding(f), "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_url_is_what_format_writes() {
        let handle: crate::HandleId = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d".parse().unwrap();
        let base = "http://127.0.0.1:8080";
        let url = request_url(
            base.len(),
            format_args!("{}/handles/{}/session", base, PathSegment(&handle)),
        );
        assert_eq!(
            url,
            format!("{base}/handles/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d/session")
        );
    }

    #[test]
    fn reserved_bytes_are_escaped_and_the_rest_kept() {
        assert_eq!(
            PathSegment("a b/c%d?é").to_string(),
            "a%20b%2Fc%25d%3F%C3%A9"
        );
        assert_eq!(PathSegment("my-game_1.~").to_string(), "my-game_1.~");
        let handle: crate::HandleId = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d".parse().unwrap();
        assert_eq!(
            PathSegment(&handle).to_string(),
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
        );
    }

    proptest! {
        /// The same text as progenitor's own `encode_path`, for any string.
        #[test]
        fn the_same_as_progenitors_encode_path(s in any::<String>()) {
            prop_assert_eq!(PathSegment(s.as_str()).to_string(), progenitor_client::encode_path(&s));
        }

        /// Every ASCII byte, escaped or kept, as progenitor does.
        #[test]
        fn ascii_the_same_as_progenitors_encode_path(s in "[\\x00-\\x7f]{0,24}") {
            prop_assert_eq!(PathSegment(s.as_str()).to_string(), progenitor_client::encode_path(&s));
        }
    }
}
