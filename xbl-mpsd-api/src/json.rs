//! [`FromJson`]: a generated document decoded from JSON text by code compiled in this crate.
//!
//! A `Deserialize` impl is generic over the deserializer, so its code is compiled by the crate that calls
//! `serde_json::from_slice::<T>`. For the documents of this crate that was every crate reading them
//! (`xbl-mpsd-ext` compiled the decoders of every session, handle and query document, a third of its code).
//! Each generated struct implements [`FromJson`] with a non-generic body (`cargo xtask codegen` invokes
//! `from_json!` for them), so the decoders are compiled once, here, and a crate reading a document calls
//! them; in a build, this crate compiles them while its dependents are still being checked.

/// A type decoded from JSON text by code compiled in `xbl-mpsd-api` (every generated struct).
///
/// ```
/// use xbl_mpsd_api::{FromJson, types::MultiplayerSession};
///
/// let session = MultiplayerSession::from_json(br#"{"changeNumber": 3}"#)?;
/// assert_eq!(session.change_number.as_ref(), Some(&3));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait FromJson: Sized {
    /// Decodes JSON text, as `serde_json::from_slice` would.
    fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error>;
}

/// Implements [`FromJson`] for each named type, in the crate that invokes it (the generated `types` module).
#[doc(hidden)]
#[macro_export]
macro_rules! from_json {
    ($($name:ident),* $(,)?) => {
        $(
            impl $crate::FromJson for $name {
                fn from_json(bytes: &[u8]) -> ::std::result::Result<Self, ::serde_json::Error> {
                    ::serde_json::from_slice(bytes)
                }
            }
        )*
    };
}
