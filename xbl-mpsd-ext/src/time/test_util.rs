//! Deterministic time and jitter for tests (feature `test-util`): [`FakeClock`], [`FixedJitter`],
//! [`SeededJitter`]. Re-exported from [`retry`](crate::retry); none of them belongs in a production client.

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::{Clock, Jitter, SleepFuture};

/// A virtual clock for tests: `sleep` returns at once, advances the clock and
/// records the requested delay. Feature `test-util`.
#[derive(Debug)]
pub struct FakeClock {
    origin: Instant,
    wall_origin: SystemTime,
    state: Mutex<FakeClockState>,
}

#[derive(Debug, Default)]
struct FakeClockState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl FakeClock {
    /// A clock whose wall time starts at `wall_origin`.
    pub fn new(wall_origin: SystemTime) -> Self {
        Self {
            origin: Instant::now(),
            wall_origin,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeClockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every delay `sleep` was asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// Virtual time elapsed since creation.
    pub fn elapsed(&self) -> Duration {
        self.state().elapsed
    }

    /// Moves virtual time forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        state.elapsed = state.elapsed.saturating_add(by);
    }
}

impl Default for FakeClock {
    /// Wall time starts at the Unix epoch.
    fn default() -> Self {
        Self::new(SystemTime::UNIX_EPOCH)
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        let elapsed = self.elapsed();
        self.origin.checked_add(elapsed).unwrap_or(self.origin)
    }

    fn system_time(&self) -> SystemTime {
        let elapsed = self.elapsed();
        self.wall_origin
            .checked_add(elapsed)
            .unwrap_or(self.wall_origin)
    }

    fn sleep(&self, duration: Duration) -> SleepFuture<'_> {
        let mut state = self.state();
        state.sleeps.push(duration);
        state.elapsed = state.elapsed.saturating_add(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Deterministic jitter from a seeded RNG, for tests. Feature `test-util`.
#[derive(Debug)]
pub struct SeededJitter(Mutex<StdRng>);

impl SeededJitter {
    /// Seeds the RNG.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Jitter for SeededJitter {
    fn sample(&self) -> f64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random()
    }
}

/// Always the same sample, for tests: `FixedJitter(0.0)` gives the minimum delays. Feature `test-util`.
#[derive(Clone, Copy, Debug)]
pub struct FixedJitter(pub f64);

impl Jitter for FixedJitter {
    fn sample(&self) -> f64 {
        self.0
    }
}
