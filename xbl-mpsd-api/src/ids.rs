//! Identifier newtypes: [`Xuid`], [`HandleId`], [`Scid`] and [`TitleId`].
//!
//! Every type parses strictly (`FromStr`), formats canonically (`Display`) and
//! (de)serializes the way MPSD puts it in JSON: as a string.

use std::{fmt, marker::PhantomData, num::NonZeroU64, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use uuid::Uuid;

/// Why a strict decimal string did not parse.
#[derive(Debug, PartialEq, Eq)]
enum DecimalError {
    Empty,
    NotDecimal,
    OutOfRange,
}

/// Parses ASCII digits only: no sign, no whitespace, not empty; in one pass, with no allocation. A
/// non-digit anywhere is `NotDecimal` even when the digits before it already overflow.
fn parse_decimal<T: TryFrom<u64>>(s: &str) -> Result<T, DecimalError> {
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    // Up to 19 digits cannot overflow a u64 (10^19 - 1 < 2^64): eight digits at a time, unchecked.
    let value = if s.len() <= 19 {
        let bytes = s.as_bytes();
        let mut value = 0u64;
        let mut i = 0;
        while let Some(chunk) = bytes.get(i..i + 8) {
            value = value * 100_000_000 + eight_digits(chunk).ok_or(DecimalError::NotDecimal)?;
            i += 8;
        }
        for &byte in &bytes[i..] {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return Err(DecimalError::NotDecimal);
            }
            value = value * 10 + u64::from(digit);
        }
        Some(value)
    } else {
        let mut value: Option<u64> = Some(0);
        for byte in s.bytes() {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return Err(DecimalError::NotDecimal);
            }
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u64::from(digit)));
        }
        value
    };
    value
        .and_then(|v| T::try_from(v).ok())
        .ok_or(DecimalError::OutOfRange)
}

/// The value of eight ASCII digits, `None` if any byte is not one. SWAR, as simdjson's
/// `is_made_of_eight_digits_fast` and `parse_eight_digits_unrolled`: every byte's high nibble must be 3
/// and stay 3 after adding 6 (so 0x30..=0x39); then pairs, quads and the two halves are combined by
/// three multiplications.
fn eight_digits(chunk: &[u8]) -> Option<u64> {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    let word = u64::from_le_bytes(word);
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let digits =
        (word & HIGH_NIBBLES) | ((word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) >> 4);
    if digits != 0x3333_3333_3333_3333 {
        return None;
    }
    let word = (word & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let word = (word & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    Some((word & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32)
}

/// An identifier's `Display` text, written into a buffer on the stack by `itoa` or `uuid` instead of
/// `core::fmt` (which costs a `Formatter`, padding checks and a UTF-8 check per value).
trait Text {
    /// Calls `f` with the text `Display` writes.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R;
}

/// Deserializes a `FromStr` value from a string or, when `NUMBERS` is set, from
/// an integer (which is formatted in decimal and parsed like a string).
struct FromStrVisitor<T, const NUMBERS: bool>(PhantomData<T>);

impl<T, const NUMBERS: bool> de::Visitor<'_> for FromStrVisitor<T, NUMBERS>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if NUMBERS {
            f.write_str("a string or an integer")
        } else {
            f.write_str("a string")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if NUMBERS {
            self.visit_str(&v.to_string())
        } else {
            Err(E::invalid_type(de::Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        if NUMBERS {
            self.visit_str(&v.to_string())
        } else {
            Err(E::invalid_type(de::Unexpected::Signed(v), &self))
        }
    }
}

fn deserialize_from_str<'de, T, D, const NUMBERS: bool>(d: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: fmt::Display,
    D: Deserializer<'de>,
{
    if NUMBERS {
        d.deserialize_any(FromStrVisitor::<T, NUMBERS>(PhantomData))
    } else {
        d.deserialize_str(FromStrVisitor::<T, NUMBERS>(PhantomData))
    }
}

/// Implements `Serialize` (as a string) and `Deserialize` (from a string, and
/// from an integer when `numbers` is given) via `Display`/`FromStr`.
macro_rules! serde_via_str {
    ($ty:ty) => {
        serde_via_str!($ty, false);
    };
    ($ty:ty, numbers) => {
        serde_via_str!($ty, true);
    };
    ($ty:ty, $numbers:literal) => {
        impl Serialize for $ty {
            /// The `Display` text, written without `core::fmt` (`Text`): identifiers are most of what a
            /// session encode formats (BENCHMARKS.md, P2').
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.with_text(|text| s.serialize_str(text))
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_from_str::<Self, D, $numbers>(d)
            }
        }
    };
}

/// Implements `schemars::JsonSchema` as a string schema with a description (and a format, if given).
macro_rules! string_schema {
    ($ty:ty, $description:literal $(, format = $format:literal)?) => {
        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for $ty {
            fn schema_name() -> String {
                stringify!($ty).to_owned()
            }

            fn json_schema(_: &mut ::schemars::r#gen::SchemaGenerator) -> ::schemars::schema::Schema {
                ::schemars::schema::Schema::Object(::schemars::schema::SchemaObject {
                    instance_type: Some(::schemars::schema::InstanceType::String.into()),
                    $(format: Some($format.to_owned()),)?
                    metadata: Some(Box::new(::schemars::schema::Metadata {
                        description: Some($description.to_owned()),
                        ..Default::default()
                    })),
                    ..Default::default()
                })
            }
        }
    };
}
pub(crate) use string_schema;

// ---------------------------------------------------------------------------
// Xuid

/// An Xbox user id: a non-zero 64-bit number, written in decimal.
///
/// Parses ASCII digits only (no sign, whitespace or `0x`; leading zeros are
/// accepted and dropped when formatting). In JSON it is a string
/// (`"2533274790395904"`); a JSON number is accepted when deserializing
/// because one documentation sample uses one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Xuid(NonZeroU64);

impl Xuid {
    /// Wraps a raw XUID; `None` for 0, which is not a valid user.
    pub const fn new(value: u64) -> Option<Self> {
        match NonZeroU64::new(value) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The numeric value.
    pub const fn get(self) -> u64 {
        self.0.get()
    }
}

impl From<NonZeroU64> for Xuid {
    fn from(value: NonZeroU64) -> Self {
        Self(value)
    }
}

impl From<Xuid> for u64 {
    fn from(value: Xuid) -> Self {
        value.get()
    }
}

/// Why a string is not a [`Xuid`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XuidError {
    /// The input was empty.
    Empty,
    /// The input contains something other than ASCII digits (a sign, whitespace, …).
    NotDecimal {
        /// The offending input.
        input: String,
    },
    /// The number does not fit in 64 bits.
    OutOfRange {
        /// The offending input.
        input: String,
    },
    /// The number is 0.
    Zero {
        /// The offending input.
        input: String,
    },
}

impl fmt::Display for XuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "XUID is empty"),
            Self::NotDecimal { input } => write!(
                f,
                "XUID {input:?} is not a decimal number (only the digits 0-9 are allowed)"
            ),
            Self::OutOfRange { input } => write!(
                f,
                "XUID {input:?} does not fit in an unsigned 64-bit integer"
            ),
            Self::Zero { input } => write!(f, "XUID {input:?} is zero, which is not a valid user"),
        }
    }
}

impl std::error::Error for XuidError {}

impl FromStr for Xuid {
    type Err = XuidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = || s.to_owned();
        let value: u64 = parse_decimal(s).map_err(|e| match e {
            DecimalError::Empty => XuidError::Empty,
            DecimalError::NotDecimal => XuidError::NotDecimal { input: input() },
            DecimalError::OutOfRange => XuidError::OutOfRange { input: input() },
        })?;
        Self::new(value).ok_or_else(|| XuidError::Zero { input: input() })
    }
}

impl fmt::Display for Xuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Text for Xuid {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(itoa::Buffer::new().format(self.0.get()))
    }
}

serde_via_str!(Xuid, numbers);
string_schema!(
    Xuid,
    "An Xbox user id: a decimal unsigned 64-bit number carried as a string."
);

// ---------------------------------------------------------------------------
// HandleId

/// An MPSD handle id: a GUID.
///
/// Parses the hyphenated form in any case, optionally in braces
/// (`{0A1B…}`); displays lower-case hyphenated. JSON: a string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct HandleId(Uuid);

impl HandleId {
    /// Wraps a UUID.
    pub const fn new(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for HandleId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl From<HandleId> for Uuid {
    fn from(id: HandleId) -> Self {
        id.0
    }
}

/// Why a string is not a [`HandleId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleIdError {
    /// The input was empty.
    Empty,
    /// The input is not a hyphenated GUID.
    NotAGuid {
        /// The offending input.
        input: String,
    },
}

impl fmt::Display for HandleIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "handle id is empty"),
            Self::NotAGuid { input } => write!(
                f,
                "handle id {input:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in braces)"
            ),
        }
    }
}

impl std::error::Error for HandleIdError {}

/// Length of a hyphenated GUID.
const HYPHENATED_LEN: usize = 36;

impl FromStr for HandleId {
    type Err = HandleIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(HandleIdError::Empty);
        }
        let inner = s
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or(s);
        // A 36-character string only parses as the hyphenated form, which rules
        // out the simple (32 hex digits) and URN forms `Uuid` also accepts.
        if inner.len() != HYPHENATED_LEN {
            return Err(HandleIdError::NotAGuid {
                input: s.to_owned(),
            });
        }
        Uuid::try_parse(inner)
            .map(Self)
            .map_err(|_| HandleIdError::NotAGuid {
                input: s.to_owned(),
            })
    }
}

impl fmt::Display for HandleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl Text for HandleId {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
    }
}

serde_via_str!(HandleId);
string_schema!(HandleId, "A handle id (a GUID).", format = "uuid");

// ---------------------------------------------------------------------------
// Validated strings: Scid here, session names in `session_ref`.

/// Which identifier a [`NameError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A [`Scid`].
    Scid,
    /// A [`SessionTemplateName`](crate::SessionTemplateName).
    SessionTemplateName,
    /// A [`SessionName`](crate::SessionName).
    SessionName,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scid => "service config id",
            Self::SessionTemplateName => "session template name",
            Self::SessionName => "session name",
        })
    }
}

/// Why a string is not a valid [`Scid`], session template name or session name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The input was empty.
    Empty {
        /// Which identifier.
        kind: NameKind,
    },
    /// The input is longer than allowed.
    TooLong {
        /// Which identifier.
        kind: NameKind,
        /// The offending input.
        input: String,
        /// Its length in bytes.
        len: usize,
        /// The maximum length in bytes.
        max: usize,
    },
    /// The input is `.` or `..`, which cannot appear as a URI path segment.
    DotSegment {
        /// Which identifier.
        kind: NameKind,
        /// The offending input.
        input: String,
    },
    /// The input contains a character that is not allowed.
    InvalidChar {
        /// Which identifier.
        kind: NameKind,
        /// The offending input.
        input: String,
        /// The first disallowed character.
        ch: char,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { kind } => write!(f, "{kind} is empty"),
            Self::TooLong {
                kind,
                input,
                len,
                max,
            } => write!(
                f,
                "{kind} {input:?} is {len} bytes long; at most {max} are allowed"
            ),
            Self::DotSegment { kind, input } => write!(
                f,
                "{kind} {input:?} is a dot segment, which cannot be used in a URI path"
            ),
            Self::InvalidChar { kind, input, ch } => write!(
                f,
                "{kind} {input:?} contains the character {ch:?}, which is not allowed"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks length (in bytes), dot segments and characters of a validated name: an ASCII character is
/// allowed when `ascii` says so, any other when `allowed` does.
pub(crate) fn validate_name(
    kind: NameKind,
    s: &str,
    max: usize,
    ascii: &[bool; 128],
    allowed: impl Fn(char) -> bool,
) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if s.len() > max {
        return Err(NameError::TooLong {
            kind,
            input: s.to_owned(),
            len: s.len(),
            max,
        });
    }
    if s == "." || s == ".." {
        return Err(NameError::DotSegment {
            kind,
            input: s.to_owned(),
        });
    }
    // ASCII (nearly every name) is checked byte by byte against the table, without decoding UTF-8.
    let refused = if s.is_ascii() {
        // All of them first, without an early exit (which the loop would otherwise test per byte).
        if s.bytes()
            .fold(true, |ok, b| ok & ascii[usize::from(b & 0x7f)])
        {
            None
        } else {
            s.bytes()
                .find(|&b| !ascii[usize::from(b & 0x7f)])
                .map(char::from)
        }
    } else {
        s.chars().find(|&c| match u8::try_from(c) {
            Ok(b) if b.is_ascii() => !ascii[usize::from(b)],
            _ => !allowed(c),
        })
    };
    match refused {
        Some(ch) => Err(NameError::InvalidChar {
            kind,
            input: s.to_owned(),
            ch,
        }),
        None => Ok(()),
    }
}

/// Defines a validated string newtype with `FromStr`, `Display`, `AsRef<str>`,
/// `TryFrom<String>` and string serde. `$validate` is `fn(&str) -> Result<(), NameError>`.
macro_rules! validated_name {
    ($(#[$meta:meta])* $name:ident, $validate:path) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, $crate::ids::NameError> {
                let value = value.into();
                $validate(&value)?;
                Ok(Self(value))
            }

            /// The string, exactly as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the value, returning the string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::NameError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::NameError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use validated_name;

/// Maximum length of a [`Scid`] (XSAPI's `XBL_SCID_LENGTH` is 40 including the NUL).
pub const SCID_MAX_LEN: usize = 39;

/// The ASCII characters a SCID may hold (`A-Za-z0-9-._~{}`), as a lookup table.
const SCID_CHARS: [bool; 128] = {
    let mut table = [false; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        table[c] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'{' | b'}');
        c += 1;
    }
    table
};

fn validate_scid(s: &str) -> Result<(), NameError> {
    // Nothing beyond ASCII is allowed.
    validate_name(NameKind::Scid, s, SCID_MAX_LEN, &SCID_CHARS, |_| false)
}

string_schema!(
    Scid,
    "A service configuration id (a GUID; test fixtures use names such as `MockScid`)."
);

validated_name!(
    /// A service configuration id.
    ///
    /// Real ones are GUIDs; test fixtures use names such as `MockScid`. Allowed:
    /// 1–39 characters from `A-Za-z0-9-._~{}`. The case is kept as given (the
    /// XSAPI headers call the SCID case-sensitive).
    Scid,
    validate_scid
);

// ---------------------------------------------------------------------------
// TitleId

/// An Xbox title id: a 32-bit number.
///
/// JSON and `Display`/`FromStr` use decimal (`"1234567890"`); the hex form
/// seen in Partner Center and activation schemes is available through
/// [`TitleId::from_hex`] and [`TitleId::to_hex`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TitleId(u32);

/// Maximum number of hex digits of a [`TitleId`].
const TITLE_ID_MAX_HEX_DIGITS: usize = 8;

impl TitleId {
    /// Wraps a raw title id.
    pub const fn new(value: u32) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Parses 1–8 hex digits in any case, without a `0x` prefix.
    pub fn from_hex(s: &str) -> Result<Self, TitleIdError> {
        if s.is_empty() {
            return Err(TitleIdError::Empty);
        }
        if s.len() > TITLE_ID_MAX_HEX_DIGITS || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TitleIdError::NotHex {
                input: s.to_owned(),
            });
        }
        u32::from_str_radix(s, 16)
            .map(Self)
            .map_err(|_| TitleIdError::NotHex {
                input: s.to_owned(),
            })
    }

    /// Eight upper-case hex digits, e.g. `7A970EA1`.
    pub fn to_hex(self) -> String {
        format!("{:08X}", self.0)
    }
}

impl From<u32> for TitleId {
    fn from(value: u32) -> Self {
        Self(value)
    }
}

impl From<TitleId> for u32 {
    fn from(value: TitleId) -> Self {
        value.0
    }
}

/// Why a string is not a [`TitleId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TitleIdError {
    /// The input was empty.
    Empty,
    /// Decimal form: something other than ASCII digits.
    NotDecimal {
        /// The offending input.
        input: String,
    },
    /// Decimal form: larger than 32 bits.
    OutOfRange {
        /// The offending input.
        input: String,
    },
    /// Hex form: not 1–8 hex digits.
    NotHex {
        /// The offending input.
        input: String,
    },
}

impl fmt::Display for TitleIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "title id is empty"),
            Self::NotDecimal { input } => write!(
                f,
                "title id {input:?} is not a decimal number (only the digits 0-9 are allowed)"
            ),
            Self::OutOfRange { input } => write!(
                f,
                "title id {input:?} does not fit in an unsigned 32-bit integer"
            ),
            Self::NotHex { input } => write!(
                f,
                "title id {input:?} is not a 32-bit hex number (expected 1 to 8 hex digits)"
            ),
        }
    }
}

impl std::error::Error for TitleIdError {}

impl FromStr for TitleId {
    type Err = TitleIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_decimal(s).map(Self).map_err(|e| match e {
            DecimalError::Empty => TitleIdError::Empty,
            DecimalError::NotDecimal => TitleIdError::NotDecimal {
                input: s.to_owned(),
            },
            DecimalError::OutOfRange => TitleIdError::OutOfRange {
                input: s.to_owned(),
            },
        })
    }
}

impl fmt::Display for TitleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Text for TitleId {
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(itoa::Buffer::new().format(self.0))
    }
}

serde_via_str!(TitleId, numbers);
string_schema!(
    TitleId,
    "A title id: a decimal unsigned 32-bit number carried as a string."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// The branch-free path (up to 19 digits) and the checked one give what the standard library's
        /// parse gives on strict decimal text, and `NotDecimal` for anything else (a sign included).
        #[test]
        fn decimal_parse_agrees_with_std(s in "[0-9]{0,22}|[0-9]{0,10}[^0-9][0-9]{0,10}|[/0-9:]{1,19}") {
            let expected = if s.is_empty() {
                Err(DecimalError::Empty)
            } else if !s.bytes().all(|b| b.is_ascii_digit()) {
                Err(DecimalError::NotDecimal)
            } else {
                s.parse::<u64>().map_err(|_| DecimalError::OutOfRange)
            };
            prop_assert_eq!(parse_decimal::<u64>(&s), expected);
        }

        /// The identifiers encode as their `Display` text (written by `itoa` and `uuid`, not `core::fmt`), and
        /// a `Lenient` built from a value encodes as the value.
        #[test]
        fn identifiers_encode_as_their_display_text(xuid in 1..=u64::MAX, title: u32, uuid: u128) {
            let xuid = Xuid::new(xuid).unwrap();
            let title = TitleId::new(title);
            let handle = HandleId::new(Uuid::from_u128(uuid));
            let text = |display: String| serde_json::to_string(&display).unwrap();
            prop_assert_eq!(serde_json::to_string(&xuid).unwrap(), text(xuid.to_string()));
            prop_assert_eq!(serde_json::to_string(&title).unwrap(), text(title.to_string()));
            prop_assert_eq!(serde_json::to_string(&handle).unwrap(), text(handle.to_string()));
            let lenient = crate::Lenient::from(handle);
            prop_assert_eq!(serde_json::to_string(&lenient).unwrap(), text(handle.to_string()));
            let lenient = crate::Lenient::from(*handle.as_uuid());
            prop_assert_eq!(serde_json::to_string(&lenient).unwrap(), text(handle.to_string()));
        }
    }

    #[test]
    fn xuid_parses_strict_decimal() {
        assert_eq!(
            "2533274790395904".parse::<Xuid>().map(Xuid::get),
            Ok(2533274790395904)
        );
        assert_eq!(
            "18446744073709551615".parse::<Xuid>().map(Xuid::get),
            Ok(u64::MAX)
        );
        assert_eq!("".parse::<Xuid>(), Err(XuidError::Empty));
        for bad in ["+1", "-1", " 1", "1 ", "1_000", "0x10", "１"] {
            assert_eq!(
                bad.parse::<Xuid>(),
                Err(XuidError::NotDecimal { input: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            "18446744073709551616".parse::<Xuid>(),
            Err(XuidError::OutOfRange {
                input: "18446744073709551616".into()
            })
        );
        assert_eq!(
            "000".parse::<Xuid>(),
            Err(XuidError::Zero {
                input: "000".into()
            })
        );
    }

    #[test]
    fn xuid_error_quotes_input() {
        let err = "12a".parse::<Xuid>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"XUID "12a" is not a decimal number (only the digits 0-9 are allowed)"#
        );
    }

    #[test]
    fn xuid_serde_string_and_number() {
        let x = Xuid::new(123).unwrap();
        assert_eq!(serde_json::to_value(x).unwrap(), json!("123"));
        assert_eq!(serde_json::from_value::<Xuid>(json!("123")).unwrap(), x);
        assert_eq!(serde_json::from_value::<Xuid>(json!(123)).unwrap(), x);
        let neg = serde_json::from_value::<Xuid>(json!(-1))
            .unwrap_err()
            .to_string();
        assert!(neg.contains(r#""-1""#), "{neg}");
        assert!(serde_json::from_value::<Xuid>(json!(0)).is_err());
        assert!(serde_json::from_value::<Xuid>(json!(1.5)).is_err());
        assert!(serde_json::from_value::<Xuid>(json!(null)).is_err());
    }

    #[test]
    fn handle_id_forms() {
        let canonical = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
        for ok in [
            canonical,
            "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D",
            "{0a1b2c3d-4e5f-6a7b-8C9D-0e1f2a3b4c5d}",
        ] {
            let id: HandleId = ok.parse().unwrap();
            assert_eq!(id.to_string(), canonical, "{ok}");
        }
        for bad in [
            "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d",
            "urn:uuid:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "{0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d}",
            "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5g",
            "0a1b2c3d-4e5f-6a7b-8c9d0-e1f2a3b4c5d",
            " 0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        ] {
            assert_eq!(
                bad.parse::<HandleId>(),
                Err(HandleIdError::NotAGuid { input: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!("".parse::<HandleId>(), Err(HandleIdError::Empty));
    }

    #[test]
    fn handle_id_serde() {
        let id: HandleId = "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}".parse().unwrap();
        let v = serde_json::to_value(id).unwrap();
        assert_eq!(v, json!("0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"));
        assert_eq!(serde_json::from_value::<HandleId>(v).unwrap(), id);
        assert!(serde_json::from_value::<HandleId>(json!(5)).is_err());
    }

    #[test]
    fn scid_rules() {
        for ok in [
            "MockScid",
            "8d050174-412b-4d51-a29b-d55a34edfdb7",
            "{A.b_c~1}",
        ] {
            assert_eq!(ok.parse::<Scid>().unwrap().as_str(), ok);
        }
        assert_eq!(
            "".parse::<Scid>(),
            Err(NameError::Empty {
                kind: NameKind::Scid
            })
        );
        let long = "a".repeat(40);
        assert_eq!(
            long.parse::<Scid>(),
            Err(NameError::TooLong {
                kind: NameKind::Scid,
                input: long.clone(),
                len: 40,
                max: 39
            })
        );
        assert!("a".repeat(39).parse::<Scid>().is_ok());
        for (bad, ch) in [
            ("a/b", '/'),
            ("a b", ' '),
            ("a%2F", '%'),
            ("é", 'é'),
            ("a?", '?'),
        ] {
            assert_eq!(
                bad.parse::<Scid>(),
                Err(NameError::InvalidChar {
                    kind: NameKind::Scid,
                    input: bad.into(),
                    ch
                })
            );
        }
        let msg = "a/b".parse::<Scid>().unwrap_err().to_string();
        assert_eq!(
            msg,
            r#"service config id "a/b" contains the character '/', which is not allowed"#
        );
        assert!(serde_json::from_value::<Scid>(json!("a/b")).is_err());
        assert_eq!(
            serde_json::to_value("MockScid".parse::<Scid>().unwrap()).unwrap(),
            json!("MockScid")
        );
    }

    #[test]
    fn title_id_decimal_and_hex() {
        let t = TitleId::from_hex("7a970ea1").unwrap();
        assert_eq!(t.get(), 0x7A97_0EA1);
        assert_eq!(t.to_hex(), "7A970EA1");
        assert_eq!(TitleId::from_hex(&t.to_hex()), Ok(t));
        assert_eq!(t.to_string(), "2056720033");
        assert_eq!("2056720033".parse(), Ok(t));
        assert_eq!(TitleId::from_hex("F").map(TitleId::get), Ok(15));
        assert_eq!(TitleId::new(15).to_hex(), "0000000F");
        assert_eq!(TitleId::from_hex(""), Err(TitleIdError::Empty));
        for bad in ["123456789", "0x12", "12g", "-1"] {
            assert_eq!(
                TitleId::from_hex(bad),
                Err(TitleIdError::NotHex { input: bad.into() })
            );
        }
        assert_eq!(
            "4294967296".parse::<TitleId>(),
            Err(TitleIdError::OutOfRange {
                input: "4294967296".into()
            })
        );
        assert_eq!(
            "1e3".parse::<TitleId>(),
            Err(TitleIdError::NotDecimal {
                input: "1e3".into()
            })
        );
        assert_eq!(serde_json::to_value(t).unwrap(), json!("2056720033"));
        assert_eq!(
            serde_json::from_value::<TitleId>(json!("2056720033")).unwrap(),
            t
        );
        assert_eq!(
            serde_json::from_value::<TitleId>(json!(2056720033)).unwrap(),
            t
        );
    }
}
