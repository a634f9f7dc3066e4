//! The emulator's clock: every time the emulator reports or acts on (`joinTime`, `startTime`,
//! `stageStartTime`, `nextTimer`, handle `createTime`/`expiration`, the `Date` and `Expires` headers, shoulder-tap
//! timestamps) and every timer it applies comes from one [`Clock`].
//!
//! The system clock is the default. A manual clock stands still until a test (or `POST /_emulator/clock`, with
//! `--manual-clock`) moves it, so that timers can be tested at their exact boundaries without sleeping.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What is told when a manual clock moves (the emulator's timer sweep). Held weakly: a dropped emulator
/// unregisters itself.
pub(crate) trait Advanced: Send + Sync {
    /// The clock now reads `now`.
    fn advanced(&self, now: DateTime<Utc>);
}

/// A manual clock's state.
struct Manual {
    now: Mutex<DateTime<Utc>>,
    listeners: Mutex<Vec<Weak<dyn Advanced>>>,
}

/// The time source of an emulator: the system clock, or a manual clock that only moves when told to.
///
/// Clones share the same time: keep a clone of the clock you put in
/// [`EmulatorConfig::clock`](crate::EmulatorConfig::clock) (or take it from
/// [`RunningEmulator::clock`](crate::RunningEmulator::clock)) and call [`Clock::advance`] from a test. When a
/// manual clock moves, the emulators using it apply the timers that fell due (their sweep) before
/// [`Clock::advance`] returns.
///
/// ```
/// use std::time::Duration;
/// use xbl_mpsd_emulator::Clock;
///
/// let clock = Clock::manual();
/// let start = clock.now();
/// let later = clock.advance(Duration::from_millis(29_999)).expect("a manual clock moves");
/// assert_eq!(later.duration_since(start).unwrap(), Duration::from_millis(29_999));
/// assert!(Clock::system().advance(Duration::from_secs(1)).is_none());
/// ```
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

impl Clock {
    /// The system clock (the default).
    pub fn system() -> Self {
        Self(None)
    }

    /// A manual clock that starts at the current system time, truncated to the whole second (so that the
    /// second-resolution `Date` header and the millisecond timestamps of documents agree), and stands still.
    pub fn manual() -> Self {
        let now = Utc::now();
        Self::manual_from(now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now))
    }

    /// A manual clock that starts at `start` (millisecond precision; finer parts are dropped) and stands still.
    pub fn manual_at(start: SystemTime) -> Self {
        let start = DateTime::<Utc>::from(start);
        Self::manual_from(
            start
                .duration_trunc(TimeDelta::milliseconds(1))
                .unwrap_or(start),
        )
    }

    fn manual_from(start: DateTime<Utc>) -> Self {
        Self(Some(Arc::new(Manual {
            now: Mutex::new(start),
            listeners: Mutex::new(Vec::new()),
        })))
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.0.is_some()
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        self.utc().into()
    }

    /// Moves a manual clock forward by `by` (whole milliseconds; finer parts are dropped) and returns the new
    /// time, after every emulator using the clock has applied the timers that fell due. `None` for the system
    /// clock, which cannot be moved.
    pub fn advance(&self, by: Duration) -> Option<SystemTime> {
        let millis = i64::try_from(by.as_millis()).ok()?;
        self.advance_millis(millis).map(SystemTime::from)
    }

    /// The current time, as the emulator computes with it.
    pub(crate) fn utc(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(manual) => *lock(&manual.now),
        }
    }

    /// [`Clock::advance`] by `millis` (which must not be negative); `None` for the system clock or when the time
    /// would leave chrono's range.
    pub(crate) fn advance_millis(&self, millis: i64) -> Option<DateTime<Utc>> {
        let manual = self.0.as_ref()?;
        let now = {
            let mut now = lock(&manual.now);
            *now = now.checked_add_signed(TimeDelta::try_milliseconds(millis.max(0))?)?;
            *now
        };
        // Told outside the clock's lock: a listener reads the clock.
        let listeners: Vec<Arc<dyn Advanced>> = {
            let mut listeners = lock(&manual.listeners);
            listeners.retain(|weak| weak.strong_count() > 0);
            listeners.iter().filter_map(Weak::upgrade).collect()
        };
        for listener in listeners {
            listener.advanced(now);
        }
        Some(now)
    }

    /// Registers `listener` to be told when a manual clock moves (no-op on the system clock).
    pub(crate) fn on_advance(&self, listener: Weak<dyn Advanced>) {
        if let Some(manual) = &self.0 {
            lock(&manual.listeners).push(listener);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::System"),
            Some(manual) => write!(f, "Clock::Manual({})", lock(&manual.now)),
        }
    }
}

/// Two clocks are equal when they are the same clock: both the system clock, or clones of one manual clock.
impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(Mutex<Vec<DateTime<Utc>>>);

    impl Advanced for Count {
        fn advanced(&self, now: DateTime<Utc>) {
            lock(&self.0).push(now);
        }
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_and_tells_its_listeners() {
        let clock = Clock::manual_at(SystemTime::UNIX_EPOCH + Duration::from_nanos(1_500_000_700));
        let start = clock.utc();
        assert_eq!(start.timestamp_millis(), 1500);
        assert_eq!(clock.utc(), start);
        let count = Arc::new(Count(Mutex::new(Vec::new())));
        let weak: Weak<Count> = Arc::downgrade(&count);
        clock.on_advance(weak);
        let gone = Arc::new(Count(Mutex::new(Vec::new())));
        let weak: Weak<Count> = Arc::downgrade(&gone);
        clock.on_advance(weak);
        drop(gone);
        let copy = clock.clone();
        assert_eq!(copy, clock);
        assert_ne!(Clock::manual(), clock);
        assert_eq!(Clock::system(), Clock::default());
        let later = copy.advance(Duration::from_micros(2_999)).unwrap();
        assert_eq!(
            later.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_millis(1502)
        );
        assert_eq!(clock.now(), later);
        assert_eq!(lock(&count.0).len(), 1);
        assert_eq!(
            lock(&clock.0.as_ref().unwrap().listeners).len(),
            1,
            "dropped listeners are forgotten"
        );
        assert!(Clock::system().advance(Duration::from_secs(1)).is_none());
        assert!(!Clock::system().is_manual() && clock.is_manual());
    }
}
