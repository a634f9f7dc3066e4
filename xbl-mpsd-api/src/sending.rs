//! The futures of the generated operations' `send` and `send_untyped`, boxed in this crate.
//!
//! An `async fn` body is compiled in the crate that polls it, like a generic function: every crate that awaited
//! `send_untyped()` (the SDK, for each operation) compiled the request's code itself. The generated methods
//! instead box their body here (`xtask/src/postprocess.rs`), so it is compiled once, in this crate; the
//! caller polls a `Box<dyn Future>`: one allocation per request. `xbl-mpsd-ext` boxes its own `send` futures
//! with the same function.

use std::future::Future;
use std::pin::Pin;

/// A boxed `send` future.
pub type Sending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Boxes `body` in the crate that calls this (the body's type is that crate's). `#[inline(never)]`: inlined
/// into a caller's caller, the body's `poll` would be instantiated there again.
#[inline(never)]
pub fn boxed<'a, T, F>(body: F) -> Sending<'a, T>
where
    F: Future<Output = T> + Send + 'a,
{
    Box::pin(body)
}
