//! [`unless_none`]: an optional query parameter that is not set adds nothing to the request, not even a
//! call.
//!
//! progenitor adds every query parameter with `RequestBuilder::query`, set or not. For an unset one that
//! call still opens the URL's query (`Url::query_pairs_mut` appends `?`, growing the URL string) and then
//! removes it again. The generated code calls [`unless_none`] instead (`xtask/src/postprocess.rs`), which
//! makes the call only when the value is not `None`; the URL is the same, byte for byte.

use serde::Serialize;
use serde::ser::{self, Impossible};
use std::fmt;

/// `builder.query(query)`, unless `value` (the parameter's value inside `query`) is `None`.
pub(crate) fn unless_none<V, Q>(
    builder: reqwest::RequestBuilder,
    value: &V,
    query: &Q,
) -> reqwest::RequestBuilder
where
    V: Serialize + ?Sized,
    Q: Serialize + ?Sized,
{
    if is_none(value) {
        builder
    } else {
        builder.query(query)
    }
}

/// Whether `value` serializes as `None` (and so as no query pair at all).
fn is_none<V: Serialize + ?Sized>(value: &V) -> bool {
    value.serialize(NoneProbe).is_ok()
}

/// A serializer that succeeds on `None` only, and stops at the first call otherwise.
struct NoneProbe;

/// What [`NoneProbe`] answers for anything but `None`.
#[derive(Debug)]
struct Present;

impl fmt::Display for Present {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value is present")
    }
}

impl std::error::Error for Present {}

impl ser::Error for Present {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self
    }
}

macro_rules! present {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Present> {
            Err(Present)
        })*
    };
}

impl ser::Serializer for NoneProbe {
    type Ok = ();
    type Error = Present;
    type SerializeSeq = Impossible<(), Present>;
    type SerializeTuple = Impossible<(), Present>;
    type SerializeTupleStruct = Impossible<(), Present>;
    type SerializeTupleVariant = Impossible<(), Present>;
    type SerializeMap = Impossible<(), Present>;
    type SerializeStruct = Impossible<(), Present>;
    type SerializeStructVariant = Impossible<(), Present>;

    fn serialize_none(self) -> Result<(), Present> {
        Ok(())
    }

    present! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Present> {
        Err(Present)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Present> {
        Err(Present)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Present> {
        Err(Present)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Present> {
        Err(Present)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Present> {
        Err(Present)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Present> {
        Err(Present)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Present> {
        Err(Present)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Present> {
        Err(Present)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Present> {
        Err(Present)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Present> {
        Err(Present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use progenitor_client::QueryParam;

    #[test]
    fn only_none_is_none() {
        assert!(is_none(&None::<bool>));
        assert!(!is_none(&Some(false)));
        assert!(!is_none(&0u32));
        assert!(!is_none("x"));
        assert!(!is_none(&Vec::<u8>::new()));
        assert!(!is_none(&Some(vec!["a"])));
        assert!(!is_none(&()));
    }

    /// The URL is what progenitor's own `query` call makes of the parameter, set or not.
    #[test]
    fn the_url_is_the_same_as_with_query() {
        let client = reqwest::Client::new();
        for value in [None, Some(true), Some(false)] {
            let query = QueryParam::new("nocommit", &value);
            let ours = unless_none(client.get("http://h/p"), &value, &query)
                .build()
                .unwrap();
            let theirs = client.get("http://h/p").query(&query).build().unwrap();
            assert_eq!(ours.url().as_str(), theirs.url().as_str(), "{value:?}");
        }
        let tags = Some(vec!["a", "b c"]);
        let query = QueryParam::new("tag", &tags);
        let ours = unless_none(client.get("http://h/p?x=1"), &tags, &query)
            .build()
            .unwrap();
        let theirs = client.get("http://h/p?x=1").query(&query).build().unwrap();
        assert_eq!(ours.url().as_str(), theirs.url().as_str());
    }
}
