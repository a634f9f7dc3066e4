//! Open enumerations: a value to `match` on that never refuses, and never rewrites, what the service sent.
//!
//! MPSD's enumerated strings are open: the service answers in other casings than its docs (`"None"`,
//! `"Open"`, `"Measuring"`) and may add values. Each enumeration of the spec is therefore two types, the
//! pairing of `std::io::Error` and `ErrorKind`:
//!
//! * the wire value (e.g. [`Visibility`](crate::types::Visibility)) keeps the text exactly as received, so a
//!   decode → encode round trip gives back the same string, a known value in another casing or an unknown
//!   value alike;
//! * its kind (e.g. [`VisibilityKind`](crate::types::VisibilityKind)), a small `Copy` enum to `match` on,
//!   found case-insensitively; `Other` is every value the spec does not list.
//!
//! ```
//! use xbl_mpsd_api::types::{Visibility, VisibilityKind};
//!
//! let v: Visibility = serde_json::from_str(r#""Open""#)?;
//! assert_eq!(v.kind(), VisibilityKind::Open);
//! assert_eq!(v, Visibility::OPEN); // equality ignores the case of known values
//! assert_eq!(serde_json::to_string(&v)?, r#""Open""#); // the spelling is kept
//!
//! match v.kind() {
//!     VisibilityKind::Open => println!("anyone may join"),
//!     VisibilityKind::Private | VisibilityKind::Visible => println!("invite only"),
//!     _ => println!("something else: {}", v.as_str()),
//! }
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! The kinds are `#[non_exhaustive]`: a value added to the spec becomes a new variant without breaking a
//! caller's `match`. To act on a value that is not a variant yet, compare `as_str()` (ignoring case) in a
//! guard, never by matching `Other`: once the value becomes a variant, an arm on `Other` would quietly stop
//! matching it.
//!
//! The types are generated: `cargo xtask codegen` writes one [`open_enum!`](macro@crate::open_enum) invocation per
//! enumeration of `spec/openapi.yaml` into `generated.rs`. Nothing here is specific to one enumeration.

/// Defines an open enumeration: a wire type keeping the received text and a `Copy` kind to match on.
///
/// Invoked by the generated code (`cargo xtask codegen`), once per enumeration of the spec:
///
/// ```
/// xbl_mpsd_api::open_enum! {
///     /// Door states.
///     Door, DoorKind {
///         /// Open.
///         Open / OPEN = "open",
///         /// Shut.
///         Shut / SHUT = "shut",
///     }
/// }
/// assert_eq!("SHUT".parse::<Door>().unwrap().kind(), DoorKind::Shut);
/// assert_eq!(Door::from("ajar").kind(), DoorKind::Other);
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:ident {
            $( $(#[$vmeta:meta])* $variant:ident / $konst:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        ///
        /// An open enumeration (see [`open_enum`](mod@$crate::open_enum)): any string decodes, the text is
        /// kept as received, and [`kind`](Self::kind) tells which known value it is, ignoring case.
        #[derive(Clone)]
        pub struct $name {
            kind: $kind,
            text: ::std::borrow::Cow<'static, str>,
        }

        #[doc = concat!("The known values of [`", stringify!($name), "`], found ignoring case; `Other` is any other value.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $kind {
            $( $(#[$vmeta])* $variant, )*
            /// A value the spec does not list (kept verbatim by the wire type).
            Other,
        }

        impl $kind {
            /// Every known kind, in the spec's order (without `Other`).
            pub const ALL: &'static [$kind] = &[ $( $kind::$variant, )* ];

            /// The spec's spelling of this kind; `None` for `Other`.
            pub const fn as_str(self) -> ::std::option::Option<&'static str> {
                match self {
                    $( $kind::$variant => ::std::option::Option::Some($value), )*
                    $kind::Other => ::std::option::Option::None,
                }
            }
        }

        #[allow(dead_code)]
        impl $name {
            $(
                #[doc = concat!("`", $value, "`.")]
                pub const $konst: Self = Self {
                    kind: $kind::$variant,
                    text: ::std::borrow::Cow::Borrowed($value),
                };
            )*

            /// The known values, spelled as in the spec.
            pub const fn values() -> &'static [&'static str] {
                &[ $( $value, )* ]
            }

            /// Wraps any text, finding its kind ignoring ASCII case.
            pub fn new(text: impl ::std::convert::Into<::std::borrow::Cow<'static, str>>) -> Self {
                let text = text.into();
                let kind = Self::kind_of(&text);
                Self { kind, text }
            }

            fn kind_of(text: &str) -> $kind {
                $( if text.eq_ignore_ascii_case($value) { return $kind::$variant; } )*
                $kind::Other
            }

            /// Which known value this is (`Other` for any other).
            pub const fn kind(&self) -> $kind {
                self.kind
            }

            /// The text exactly as received or given.
            pub fn as_str(&self) -> &str {
                &self.text
            }

            /// Whether the value is one the spec lists (in any case).
            pub const fn is_known(&self) -> bool {
                !matches!(self.kind, $kind::Other)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                ::std::result::Result::Ok(Self::new(s.to_owned()))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::new(s.to_owned())
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(s: ::std::string::String) -> Self {
                Self::new(s)
            }
        }

        impl ::std::convert::From<&::std::string::String> for $name {
            fn from(s: &::std::string::String) -> Self {
                Self::new(s.clone())
            }
        }

        /// Equal when the kinds are equal; two `Other` values compare their text ignoring ASCII case.
        impl ::std::cmp::PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.kind == other.kind
                    && (self.kind != $kind::Other || self.text.eq_ignore_ascii_case(&other.text))
            }
        }

        impl ::std::cmp::Eq for $name {}

        impl ::std::cmp::PartialEq<$kind> for $name {
            fn eq(&self, other: &$kind) -> bool {
                self.kind == *other
            }
        }

        impl ::std::hash::Hash for $name {
            fn hash<H: ::std::hash::Hasher>(&self, state: &mut H) {
                self.kind.hash(state);
                if self.kind == $kind::Other {
                    for b in self.text.bytes() {
                        state.write_u8(b.to_ascii_lowercase());
                    }
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::serde::Deserialize>::deserialize(d)?;
                ::std::result::Result::Ok(Self::new(text))
            }
        }

        // Compiled in `xbl-mpsd-api` (its `schemars` feature), the one crate that invokes the macro.
        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::string::String {
                stringify!($name).to_owned()
            }

            fn json_schema(_: &mut ::schemars::r#gen::SchemaGenerator) -> ::schemars::schema::Schema {
                $crate::open_enum::schema(Self::values())
            }
        }
    };
}

/// The JSON Schema of an open enumeration: any string, the known values listed (`anyOf`), as in the spec.
#[doc(hidden)]
#[cfg(feature = "schemars")]
pub fn schema(values: &[&str]) -> schemars::schema::Schema {
    use schemars::schema::{InstanceType, Schema, SchemaObject, SubschemaValidation};
    let string = || SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        ..Default::default()
    };
    let known = SchemaObject {
        enum_values: Some(values.iter().map(|v| (*v).into()).collect()),
        ..string()
    };
    Schema::Object(SchemaObject {
        subschemas: Some(Box::new(SubschemaValidation {
            any_of: Some(vec![Schema::Object(known), Schema::Object(string())]),
            ..Default::default()
        })),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    crate::open_enum! {
        /// Test enumeration.
        Door, DoorKind {
            /// Open.
            Open / OPEN = "open",
            /// Bandwidth up.
            BandwidthUp / BANDWIDTH_UP = "bandwidthUp",
        }
    }

    #[test]
    fn known_values_in_any_case_keep_their_spelling() {
        for text in ["open", "Open", "OPEN"] {
            let d: Door = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!(d.kind(), DoorKind::Open);
            assert_eq!(d, Door::OPEN);
            assert!(d.is_known());
            assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!(text));
        }
        assert_eq!(Door::from("BANDWIDTHUP").kind(), DoorKind::BandwidthUp);
        assert_eq!(DoorKind::BandwidthUp.as_str(), Some("bandwidthUp"));
        assert_eq!(DoorKind::Other.as_str(), None);
        assert_eq!(Door::values(), ["open", "bandwidthUp"]);
        assert_eq!(DoorKind::ALL, [DoorKind::Open, DoorKind::BandwidthUp]);
    }

    #[test]
    fn unknown_values_are_kept_and_compare_ignoring_case() {
        let d = Door::from("ajar");
        assert_eq!(d.kind(), DoorKind::Other);
        assert!(!d.is_known());
        assert_eq!(d.as_str(), "ajar");
        assert_eq!(d, Door::from("AJAR"));
        assert_ne!(d, Door::from("shut"));
        assert_ne!(d, Door::OPEN);
        assert_eq!(format!("{d}"), "ajar");
        assert_eq!(format!("{d:?}"), "Door(\"ajar\")");
        assert!(serde_json::from_value::<Door>(serde_json::json!(1)).is_err());
    }

    #[test]
    #[cfg(feature = "schemars")]
    fn schema_lists_the_known_values_and_allows_any_string() {
        let schema = serde_json::to_value(schemars::schema_for!(Door)).unwrap();
        assert_eq!(
            schema["anyOf"][0]["enum"],
            serde_json::json!(["open", "bandwidthUp"])
        );
        assert_eq!(schema["anyOf"][1]["type"], "string");
    }

    fn hash_of(d: &Door) -> u64 {
        use std::hash::{BuildHasher, RandomState};
        thread_local!(static S: RandomState = RandomState::new());
        S.with(|s| s.hash_one(d))
    }

    proptest! {
        #[test]
        fn any_string_round_trips_verbatim(text in ".*") {
            let d: Door = serde_json::from_value(serde_json::json!(text.clone())).unwrap();
            prop_assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!(text.clone()));
            prop_assert_eq!(d.as_str(), text.as_str());
        }

        #[test]
        fn kind_ignores_case(upper in proptest::bool::ANY, pick in 0usize..2) {
            let value = Door::values()[pick];
            let text = if upper { value.to_ascii_uppercase() } else { value.to_owned() };
            prop_assert_eq!(Door::from(text).kind(), DoorKind::ALL[pick]);
        }

        #[test]
        fn eq_agrees_with_hash(a in "(?i)open|ajar|shut|bandwidthup", b in "(?i)open|ajar|shut|bandwidthup") {
            let (a, b) = (Door::from(a), Door::from(b));
            if a == b {
                prop_assert_eq!(hash_of(&a), hash_of(&b));
            }
            let set: HashSet<Door> = [a.clone(), b.clone()].into_iter().collect();
            prop_assert_eq!(set.len(), if a == b { 1 } else { 2 });
        }
    }
}
