//! [`RequestBody`]: the request body an operation builder holds until `send()`.
//!
//! progenitor's operation builders keep the body as the body type's *builder* (`types::builder::X`), so a body
//! given whole (`.body(x)`) was converted into a builder and back again in `send()` — two copies of a
//! document of a few KiB and a re-validation of what was already a valid value. The generated builders hold a
//! `RequestBody` instead (`xtask/src/postprocess.rs`): a body given whole is sent as it is, and only
//! `body_map` (editing the body field by field) goes through the builder.

/// The body of a generated operation builder: none yet, the value as given, or a builder being filled in.
/// Boxed when present, so that moving the operation builder (each setter takes it by value) moves a
/// pointer; an operation that is given its body whole never builds (or allocates) an empty builder.
#[derive(Clone, Debug)]
pub(crate) enum RequestBody<T, B> {
    /// Nothing yet: what progenitor's empty builder would be, made only if `send` or `body_map` needs it.
    Unset,
    /// A whole value, from `.body(value)`.
    Value(Box<T>),
    /// A builder, from `body_map`.
    Builder(Box<B>),
}

impl<T, B> Default for RequestBody<T, B> {
    /// No body yet, as progenitor starts every operation (with an empty builder).
    fn default() -> Self {
        Self::Unset
    }
}

impl<T, B> RequestBody<T, B>
where
    B: From<T> + Default,
    T: TryFrom<B>,
{
    /// The body as a builder, edited by `f`.
    pub(crate) fn map(self, f: impl FnOnce(B) -> B) -> Self {
        let builder = match self {
            Self::Unset => B::default(),
            Self::Value(value) => B::from(*value),
            Self::Builder(builder) => *builder,
        };
        Self::Builder(Box::new(f(builder)))
    }

    /// The value to send, still boxed: as given, or built (and checked) from the builder — an empty one
    /// when nothing was set, which fails as progenitor's would when the body has required fields.
    pub(crate) fn into_value(self) -> Result<Box<T>, <T as TryFrom<B>>::Error> {
        match self {
            Self::Unset => T::try_from(B::default()).map(Box::new),
            Self::Value(value) => Ok(value),
            Self::Builder(builder) => T::try_from(*builder).map(Box::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body type whose builder refuses an empty name, as typify's builders refuse a missing field.
    #[derive(Clone, Debug, PartialEq)]
    struct Named(String);

    #[derive(Clone, Debug, Default)]
    struct NamedBuilder(Option<String>);

    impl From<Named> for NamedBuilder {
        fn from(value: Named) -> Self {
            Self(Some(value.0))
        }
    }

    impl TryFrom<NamedBuilder> for Named {
        type Error = &'static str;
        fn try_from(builder: NamedBuilder) -> Result<Self, Self::Error> {
            builder.0.map(Named).ok_or("no value supplied for name")
        }
    }

    type Body = RequestBody<Named, NamedBuilder>;

    #[test]
    fn a_whole_value_is_sent_as_given() {
        let body = Body::Value(Box::new(Named("a".into())));
        assert_eq!(body.into_value(), Ok(Box::new(Named("a".into()))));
    }

    #[test]
    fn the_default_builder_is_checked_when_sent() {
        assert_eq!(
            Body::default().into_value(),
            Err("no value supplied for name")
        );
        let filled = Body::default().map(|_| NamedBuilder(Some("b".into())));
        assert_eq!(filled.into_value(), Ok(Box::new(Named("b".into()))));
    }

    #[test]
    fn mapping_a_value_edits_it_through_its_builder() {
        let body = Body::Value(Box::new(Named("a".into())))
            .map(|b| NamedBuilder(b.0.map(|name| name + "!")));
        assert_eq!(body.into_value(), Ok(Box::new(Named("a!".into()))));
    }
}
