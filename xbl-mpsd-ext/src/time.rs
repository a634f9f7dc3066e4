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

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

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

/// Jitter from a thread-local generator seeded from the OS (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomJitter;

thread_local! {
    /// A fast, statistically good generator (not a cryptographic one: it only spreads retries). rand's
    /// `thread_rng` (ChaCha) would make every program using the SDK build `rand_chacha` and `zerocopy`.
    static JITTER_RNG: std::cell::RefCell<SmallRng> = std::cell::RefCell::new(seeded_rng());
}

/// A generator seeded from the OS, or (without OS randomness) from the time and the thread.
fn seeded_rng() -> SmallRng {
    SmallRng::try_from_os_rng().unwrap_or_else(|_| {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let thread = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            std::thread::current().id().hash(&mut hasher);
            hasher.finish()
        };
        SmallRng::seed_from_u64((nanos as u64) ^ thread)
    })
}

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        JITTER_RNG.with(|rng| rng.borrow_mut().random())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_jitter_samples_are_in_range_and_vary() {
        let samples: Vec<f64> = (0..1000).map(|_| RandomJitter.sample()).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        // Each thread seeds its own generator.
        let other = std::thread::spawn(|| RandomJitter.sample()).join().unwrap();
        assert!((0.0..1.0).contains(&other));
        assert!(seeded_rng().random::<u64>() != seeded_rng().random::<u64>());
    }
}
