//! Injectable time and randomness, shared by the retry executor, the RTA client and sign-in: the [`Clock`]
//! trait and the real [`TokioClock`], the [`Jitter`] trait and the real [`RandomJitter`]. With the
//! `test-util` feature, `FakeClock`, `FixedJitter` and `SeededJitter` (deterministic stand-ins for tests).
//! Everything is re-exported from [`retry`](crate::retry) (and `Clock`, `TokioClock` from the crate root).

use std::{
    fmt,
    future::Future,
    pin::Pin,
    time::{Duration, Instant, SystemTime},
};

use rand::Rng;

#[cfg(any(test, feature = "test-util"))]
mod test_util;
#[cfg(any(test, feature = "test-util"))]
pub use test_util::{FakeClock, FixedJitter, SeededJitter};

// ---------------------------------------------------------------------------
// Clock

/// A boxed `Send` future returning `()`.
pub type SleepFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Time as the retry executor, RTA and sign-in see it.
pub trait Clock: Send + Sync {
    /// Monotonic now, for the retry window.
    fn now(&self) -> Instant;
    /// Wall-clock now, for `Retry-After` HTTP-dates.
    fn system_time(&self) -> SystemTime;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture<'_>;
}

/// The real clock: `tokio::time::sleep` and tokio's `Instant::now`
/// (so it follows `tokio::time::pause`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

// ---------------------------------------------------------------------------
// Jitter

/// A source of jitter: samples in `[0, 1)`. Out-of-range samples are clamped.
pub trait Jitter: fmt::Debug + Send + Sync {
    /// The next sample in `[0, 1)`.
    fn sample(&self) -> f64;
}

/// Jitter from the thread-local RNG (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        rand::rng().random()
    }
}
