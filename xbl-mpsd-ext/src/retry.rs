//! XSAPI/libHttpClient's retry policy and a generic async retry executor.
//!
//! * Retried: HTTP 408, 429, 500, 502, 503, 504 and transport errors
//!   (connection failures, timeouts, a connection reset or closed before the
//!   answer was complete); see [`Classification`].
//! * Backoff: retry *n* waits a jittered time in `[base·2ⁿ⁻¹, base·2ⁿ)`
//!   (2–4 s, 4–8 s, 8–16 s … with the default 2 s base), capped at 60 s; at
//!   least 10 s after a 500.
//! * `Retry-After` (delta-seconds or HTTP-date): the delay is
//!   `max(backoff, retry_after × [1.0, 1.2))`.
//! * Window: no retry starts unless it and 5 s for the attempt fit in the
//!   window (20 s) counted from the first attempt; then the last error is returned.
//! * Writes are not retried unless the caller opts in: see [`RetryMode`].
//!
//! Time ([`Clock`]) and randomness ([`Jitter`]) are injectable; they live in
//! the crate's time module, shared with RTA and sign-in, and are re-exported
//! here. With the `test-util` feature, `FakeClock` makes schedule tests
//! instant and `FixedJitter`/`SeededJitter` make delays deterministic.

use std::{
    fmt,
    future::Future,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, SystemTime},
};

use crate::transport::Cause;
use reqwest::{
    StatusCode,
    header::{HeaderMap, RETRY_AFTER},
};

/// The HTTP statuses XSAPI retries.
pub const RETRY_STATUSES: [StatusCode; 6] = [
    StatusCode::REQUEST_TIMEOUT,
    StatusCode::TOO_MANY_REQUESTS,
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
    StatusCode::GATEWAY_TIMEOUT,
];

pub use crate::time::{Clock, Jitter, RandomJitter, SleepFuture, TokioClock};
#[cfg(any(test, feature = "test-util"))]
pub use crate::time::{FakeClock, FixedJitter, SeededJitter};

// ---------------------------------------------------------------------------
// Retry-After and classification

/// A parsed `Retry-After` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delta-seconds.
    Delay(Duration),
    /// An HTTP-date.
    At(SystemTime),
}

impl RetryAfter {
    /// Parses delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`);
    /// `None` for anything else. A huge delta saturates.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            let secs = value.parse().unwrap_or(u64::MAX);
            return Some(Self::Delay(Duration::from_secs(secs)));
        }
        httpdate::parse_http_date(value).ok().map(Self::At)
    }

    /// Reads the `Retry-After` header, if present and valid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()
            .and_then(Self::parse)
    }

    /// How long to wait from `now`; zero for a date in the past.
    pub fn delay_from(self, now: SystemTime) -> Duration {
        match self {
            Self::Delay(d) => d,
            Self::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

/// What a failed attempt was, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Classification {
    /// The service answered with an HTTP status; retried if it is in
    /// [`RETRY_STATUSES`].
    Status {
        /// The status.
        status: StatusCode,
        /// The `Retry-After` header, if any.
        retry_after: Option<RetryAfter>,
    },
    /// A connection failure or timeout: retried.
    Transport,
    /// Anything else (bad request, decode error, auth failure, …): not retried.
    Permanent,
}

impl Classification {
    /// Classifies a response by status and headers (reads `Retry-After`).
    pub fn from_response(status: StatusCode, headers: &HeaderMap) -> Self {
        Self::Status {
            status,
            retry_after: RetryAfter::from_headers(headers),
        }
    }

    /// Classifies a `reqwest` error: an error carrying a status (from
    /// `error_for_status`) is a [`Status`](Self::Status) without `Retry-After`;
    /// a failure a new attempt may not meet is [`Transport`](Self::Transport):
    /// connecting failed (refused, DNS, TLS), a timeout, a connection reset or
    /// closed before the answer was complete (truncated headers or body), found
    /// in the error's source chain; the rest (an invalid answer, a body over
    /// the client's limit, a request that cannot be built) is
    /// [`Permanent`](Self::Permanent).
    pub fn from_reqwest_error(error: &reqwest::Error) -> Self {
        if let Some(status) = error.status() {
            Self::Status {
                status,
                retry_after: None,
            }
        } else if Cause::of(error).is_transient() {
            Self::Transport
        } else {
            Self::Permanent
        }
    }

    /// Whether the policy retries this kind of failure at all.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => RETRY_STATUSES.contains(status),
            Self::Transport => true,
            Self::Permanent => false,
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { status, .. } => write!(f, "HTTP {}", status.as_u16()),
            Self::Transport => f.write_str("transport error"),
            Self::Permanent => f.write_str("permanent error"),
        }
    }
}

/// Whether an operation may be sent more than once.
///
/// XSAPI retries reads, `DELETE`, queries and activity/search/transfer handle
/// creation, but not session writes or invites (a retried invite `POST` sends
/// a second invite).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryMode {
    /// Safe to repeat (GET, DELETE, queries): retried per the policy.
    Idempotent,
    /// Not safe to repeat (session PUT, invite POST): never retried.
    NonIdempotent,
    /// Not safe in general, but the caller accepts a duplicate for this call:
    /// retried per the policy.
    NonIdempotentOptIn,
}

impl RetryMode {
    /// Whether retries are allowed at all.
    pub const fn allows_retry(self) -> bool {
        !matches!(self, Self::NonIdempotent)
    }

    /// The mode for a non-idempotent call, given the caller's opt-in.
    pub const fn write(opt_in: bool) -> Self {
        if opt_in {
            Self::NonIdempotentOptIn
        } else {
            Self::NonIdempotent
        }
    }
}

// ---------------------------------------------------------------------------
// Policy

/// When and how long to retry. `Default` is XSAPI's policy; the `with_*`
/// methods adjust it.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    base_delay: Duration,
    max_delay: Duration,
    min_delay_after_500: Duration,
    window: Duration,
    min_attempt_time: Duration,
    max_attempts: NonZeroU32,
    jitter: Arc<dyn Jitter>,
}

/// The most a `Retry-After` value is stretched: `× [1.0, 1.0 + this)`.
const RETRY_AFTER_JITTER: f64 = 0.2;

impl Default for RetryPolicy {
    /// Base 2 s, cap 60 s, ≥ 10 s after a 500, window 20 s with 5 s kept for
    /// the attempt, at most 10 attempts, random jitter.
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            min_delay_after_500: Duration::from_secs(10),
            window: Duration::from_secs(20),
            min_attempt_time: Duration::from_secs(5),
            max_attempts: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            jitter: Arc::new(RandomJitter),
        }
    }
}

/// Multiplies a duration by a factor, saturating instead of panicking.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

impl RetryPolicy {
    /// A single attempt, no retries.
    pub fn none() -> Self {
        Self::default().with_max_attempts(NonZeroU32::MIN)
    }

    /// The first retry's minimum delay (default 2 s); it doubles per retry.
    pub fn with_base_delay(mut self, base: Duration) -> Self {
        self.base_delay = base;
        self
    }

    /// The cap on the backoff (default 60 s). `Retry-After` may exceed it.
    pub fn with_max_delay(mut self, max: Duration) -> Self {
        self.max_delay = max;
        self
    }

    /// The minimum delay after an HTTP 500 (default 10 s).
    pub fn with_min_delay_after_500(mut self, min: Duration) -> Self {
        self.min_delay_after_500 = min;
        self
    }

    /// The overall window from the first attempt (default 20 s).
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Time kept free for the attempt after a delay (default 5 s): a retry
    /// starts only if `elapsed + delay + this ≤ window`.
    pub fn with_min_attempt_time(mut self, min: Duration) -> Self {
        self.min_attempt_time = min;
        self
    }

    /// The maximum number of attempts, the first included (default 10).
    pub fn with_max_attempts(mut self, max: NonZeroU32) -> Self {
        self.max_attempts = max;
        self
    }

    /// The jitter source (default [`RandomJitter`]).
    pub fn with_jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Arc::new(jitter);
        self
    }

    pub(crate) fn jitter_sample(&self) -> f64 {
        let u = self.jitter.sample();
        if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The delay before retry number `retry` (1 for the first retry) after a
    /// failure classified as `failure`, or `None` if it is not retryable.
    /// `now` is the wall time, used for `Retry-After` dates.
    pub fn delay_for(
        &self,
        retry: u32,
        failure: &Classification,
        now: SystemTime,
    ) -> Option<Duration> {
        if !failure.is_retryable() {
            return None;
        }
        let nominal = 2u32
            .checked_pow(retry.saturating_sub(1))
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |d| d.min(self.max_delay));
        let mut delay = scale(nominal, 1.0 + self.jitter_sample()).min(self.max_delay);
        if let Classification::Status {
            status,
            retry_after,
        } = failure
        {
            if *status == StatusCode::INTERNAL_SERVER_ERROR {
                delay = delay.max(self.min_delay_after_500);
            }
            if let Some(retry_after) = retry_after {
                let factor = 1.0 + RETRY_AFTER_JITTER * self.jitter_sample();
                delay = delay.max(scale(retry_after.delay_from(now), factor));
            }
        }
        Some(delay)
    }

    /// Runs `op` until it succeeds, fails for good, or the policy gives up,
    /// and returns its last result.
    ///
    /// `op` is called once per attempt and must build and send the request
    /// anew. `classify` tells retryable failures from the rest; for a raw
    /// `reqwest` call, turn retryable statuses into errors and use
    /// [`Classification::from_response`] / [`Classification::from_reqwest_error`].
    /// With [`RetryMode::NonIdempotent`] exactly one attempt is made.
    ///
    /// Each retry emits a `tracing` INFO event with the failure (e.g.
    /// `HTTP 503`) and the delay; no headers or bodies are logged.
    ///
    /// ```
    /// use std::{cell::Cell, time::Duration};
    /// use reqwest::{StatusCode, header::HeaderMap};
    /// use xbl_mpsd_ext::retry::{Classification, FakeClock, FixedJitter, RetryMode, RetryPolicy};
    ///
    /// let clock = FakeClock::default();
    /// let policy = RetryPolicy::default().with_jitter(FixedJitter(0.0));
    /// let attempts = Cell::new(0);
    /// let result = futures::executor::block_on(policy.run(
    ///     &clock,
    ///     RetryMode::Idempotent,
    ///     || {
    ///         attempts.set(attempts.get() + 1);
    ///         let n = attempts.get();
    ///         async move { if n < 3 { Err(StatusCode::SERVICE_UNAVAILABLE) } else { Ok("session") } }
    ///     },
    ///     |status| Classification::from_response(*status, &HeaderMap::new()),
    /// ));
    /// assert_eq!(result, Ok("session"));
    /// assert_eq!(clock.sleeps(), [Duration::from_secs(2), Duration::from_secs(4)]);
    /// ```
    pub async fn run<T, E, Op, Fut, C>(
        &self,
        clock: &dyn Clock,
        mode: RetryMode,
        mut op: Op,
        classify: C,
    ) -> Result<T, E>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Fn(&E) -> Classification,
    {
        let start = clock.now();
        let mut attempt: u32 = 1;
        loop {
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let failure = classify(&error);
            let Some(delay) = self.delay_for(attempt, &failure, clock.system_time()) else {
                return Err(error);
            };
            if !mode.allows_retry() {
                tracing::debug!(%failure, "not retrying a non-idempotent request");
                return Err(error);
            }
            if attempt >= self.max_attempts.get() {
                tracing::debug!(%failure, attempt, "giving up: maximum number of attempts reached");
                return Err(error);
            }
            let elapsed = clock.now().saturating_duration_since(start);
            let fits = elapsed
                .checked_add(delay)
                .and_then(|end| end.checked_add(self.min_attempt_time))
                .is_some_and(|end| end <= self.window);
            if !fits {
                tracing::debug!(%failure, attempt, ?delay, ?elapsed, "giving up: retry window exhausted");
                return Err(error);
            }
            tracing::info!(%failure, attempt, ?delay, "retrying request");
            clock.sleep(delay).await;
            attempt = attempt.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::capture_logs;
    use futures::executor::block_on;
    use reqwest::header::HeaderValue;
    use std::cell::Cell;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn status(code: u16) -> Classification {
        Classification::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
        }
    }

    /// Runs `policy` against an op that fails with `failures[i]` on attempt i
    /// (repeating the last one) and returns (result, attempts made, sleeps).
    fn schedule(
        policy: &RetryPolicy,
        mode: RetryMode,
        failures: &[Classification],
        succeed_on: Option<u32>,
    ) -> (Result<u32, u32>, u32, Vec<Duration>) {
        let clock = FakeClock::default();
        let attempts = Cell::new(0u32);
        let result = block_on(policy.run(
            &clock,
            mode,
            || {
                attempts.set(attempts.get() + 1);
                let n = attempts.get();
                async move { if Some(n) == succeed_on { Ok(n) } else { Err(n) } }
            },
            |n: &u32| failures[(*n as usize - 1).min(failures.len() - 1)],
        ));
        (result, attempts.get(), clock.sleeps())
    }

    fn fixed(u: f64) -> RetryPolicy {
        RetryPolicy::default().with_jitter(FixedJitter(u))
    }

    #[test]
    fn default_schedule_for_503_stops_at_the_window_and_returns_the_last_error() {
        let (result, attempts, sleeps) =
            schedule(&fixed(0.0), RetryMode::Idempotent, &[status(503)], None);
        // 0 → +2 → 2 → +4 → 6 → +8 → 14; 14 + 16 + 5 > 20.
        assert_eq!(sleeps, [S(2), S(4), S(8)]);
        assert_eq!(attempts, 4);
        assert_eq!(result, Err(4));
    }

    #[test]
    fn every_retry_status_and_transport_errors_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            let (result, attempts, _) =
                schedule(&fixed(0.0), RetryMode::Idempotent, &[status(code)], Some(2));
            assert_eq!((result, attempts), (Ok(2), 2), "{code}");
        }
        let (result, _, sleeps) = schedule(
            &fixed(0.0),
            RetryMode::Idempotent,
            &[Classification::Transport],
            Some(2),
        );
        assert_eq!((result, sleeps), (Ok(2), vec![S(2)]));
    }

    #[test]
    fn other_failures_are_not_retried() {
        for failure in [
            status(400),
            status(401),
            status(404),
            status(412),
            status(501),
            Classification::Permanent,
        ] {
            let (result, attempts, sleeps) =
                schedule(&fixed(0.0), RetryMode::Idempotent, &[failure], Some(2));
            assert_eq!((result, attempts, sleeps), (Err(1), 1, vec![]), "{failure}");
        }
    }

    #[test]
    fn backoff_is_capped() {
        let policy = fixed(0.0).with_window(S(10_000));
        let (_, _, sleeps) = schedule(&policy, RetryMode::Idempotent, &[status(503)], None);
        assert_eq!(
            sleeps,
            [S(2), S(4), S(8), S(16), S(32), S(60), S(60), S(60), S(60)]
        );
        // Maximum jitter doubles the nominal delay but still respects the cap.
        let policy = fixed(0.999)
            .with_window(S(10_000))
            .with_max_attempts(NonZeroU32::new(7).unwrap());
        let (_, attempts, sleeps) = schedule(&policy, RetryMode::Idempotent, &[status(503)], None);
        assert_eq!(attempts, 7);
        for (i, d) in sleeps[..4].iter().enumerate() {
            let lo = 2u64 << i;
            assert!(*d >= S(lo) && *d < S(2 * lo), "retry {i}: {d:?}");
        }
        assert_eq!(sleeps[4..], [S(60), S(60)]);
    }

    #[test]
    fn http_500_waits_at_least_ten_seconds() {
        let (result, _, sleeps) =
            schedule(&fixed(0.0), RetryMode::Idempotent, &[status(500)], None);
        // 0 → +10 → 10; 10 + 10 + 5 > 20.
        assert_eq!((result, sleeps), (Err(2), vec![S(10)]));
    }

    #[test]
    fn retry_after_delta_and_date() {
        let ra = |after| Classification::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(after),
        };
        let now = SystemTime::UNIX_EPOCH;
        let p = fixed(0.0);
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::Delay(S(3))), now),
            Some(S(3))
        );
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::Delay(S(1))), now),
            Some(S(2))
        );
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::At(now + S(7))), now),
            Some(S(7))
        );
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::At(now)), now + S(7)),
            Some(S(2))
        );
        // Jitter 0.5: backoff 2 × 1.5 = 3 s; Retry-After 3 × 1.1 = 3.3 s.
        assert_eq!(
            fixed(0.5).delay_for(1, &ra(RetryAfter::Delay(S(3))), now),
            Some(Duration::from_millis(3300))
        );
        // Retry-After is not capped by max_delay, and a huge one saturates.
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::Delay(S(90))), now),
            Some(S(90))
        );
        assert_eq!(
            p.delay_for(1, &ra(RetryAfter::Delay(Duration::MAX)), now),
            Some(Duration::MAX)
        );
        // A Retry-After beyond the window stops retrying at once.
        let (result, _, sleeps) = schedule(
            &p,
            RetryMode::Idempotent,
            &[ra(RetryAfter::Delay(S(30)))],
            Some(2),
        );
        assert_eq!((result, sleeps), (Err(1), vec![]));
        let (_, _, sleeps) = schedule(
            &p,
            RetryMode::Idempotent,
            &[ra(RetryAfter::Delay(Duration::MAX))],
            Some(2),
        );
        assert!(sleeps.is_empty());
    }

    #[test]
    fn retry_after_date_uses_the_clock() {
        let clock = FakeClock::new(SystemTime::UNIX_EPOCH + S(1_000_000));
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + S(1_000_006));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let attempts = Cell::new(0);
        let result = block_on(fixed(0.0).run(
            &clock,
            RetryMode::Idempotent,
            || {
                attempts.set(attempts.get() + 1);
                let n = attempts.get();
                async move {
                    if n == 1 {
                        Err(StatusCode::TOO_MANY_REQUESTS)
                    } else {
                        Ok(n)
                    }
                }
            },
            |s| Classification::from_response(*s, &headers),
        ));
        assert_eq!(result, Ok(2));
        assert_eq!(clock.sleeps(), [S(6)]);
    }

    #[test]
    fn parse_retry_after() {
        assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Delay(S(120))));
        assert_eq!(RetryAfter::parse(" 5 "), Some(RetryAfter::Delay(S(5))));
        assert_eq!(
            RetryAfter::parse("99999999999999999999999"),
            Some(RetryAfter::Delay(S(u64::MAX)))
        );
        assert_eq!(
            RetryAfter::parse("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(RetryAfter::At(SystemTime::UNIX_EPOCH + S(1_445_412_480)))
        );
        for bad in ["", "-1", "1.5", "soon", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(RetryAfter::from_headers(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            Classification::from_response(StatusCode::SERVICE_UNAVAILABLE, &headers),
            Classification::Status {
                status: StatusCode::SERVICE_UNAVAILABLE,
                retry_after: Some(RetryAfter::Delay(S(7)))
            }
        );
    }

    #[test]
    fn writes_are_retried_only_on_opt_in() {
        let (result, attempts, sleeps) = schedule(
            &fixed(0.0),
            RetryMode::NonIdempotent,
            &[status(503)],
            Some(2),
        );
        assert_eq!((result, attempts, sleeps), (Err(1), 1, vec![]));
        assert_eq!(RetryMode::write(false), RetryMode::NonIdempotent);
        let (result, attempts, _) =
            schedule(&fixed(0.0), RetryMode::write(true), &[status(503)], Some(2));
        assert_eq!((result, attempts), (Ok(2), 2));
    }

    #[test]
    fn max_attempts_and_none() {
        let policy = fixed(0.0).with_max_attempts(NonZeroU32::new(2).unwrap());
        let (result, attempts, sleeps) =
            schedule(&policy, RetryMode::Idempotent, &[status(503)], None);
        assert_eq!((result, attempts, sleeps), (Err(2), 2, vec![S(2)]));
        let (result, attempts, _) = schedule(
            &RetryPolicy::none(),
            RetryMode::Idempotent,
            &[status(503)],
            Some(2),
        );
        assert_eq!((result, attempts), (Err(1), 1));
    }

    #[test]
    fn mixed_failures_stop_on_the_first_permanent_one() {
        let failures = [status(503), status(429), status(404)];
        let (result, attempts, sleeps) =
            schedule(&fixed(0.0), RetryMode::Idempotent, &failures, None);
        assert_eq!((result, attempts, sleeps), (Err(3), 3, vec![S(2), S(4)]));
    }

    #[test]
    fn seeded_jitter_is_deterministic_and_in_range() {
        let policy = || {
            RetryPolicy::default()
                .with_jitter(SeededJitter::new(7))
                .with_window(S(1000))
        };
        let (_, _, a) = schedule(&policy(), RetryMode::Idempotent, &[status(503)], None);
        let (_, _, b) = schedule(&policy(), RetryMode::Idempotent, &[status(503)], None);
        assert_eq!(a, b);
        for (i, d) in a.iter().enumerate().take(4) {
            let lo = 2u64 << i;
            assert!(*d >= S(lo) && *d < S(2 * lo), "retry {i}: {d:?}");
        }
        assert!(
            a[..4].iter().any(|d| d.subsec_nanos() != 0),
            "jitter applied: {a:?}"
        );
    }

    #[test]
    fn bad_jitter_samples_are_clamped() {
        for u in [f64::NAN, -3.0, f64::INFINITY, 7.0] {
            let d = fixed(u)
                .delay_for(1, &status(503), SystemTime::UNIX_EPOCH)
                .unwrap();
            assert!(d >= S(2) && d <= S(4), "{u}: {d:?}");
        }
        let huge = RetryPolicy::default()
            .with_max_delay(Duration::MAX)
            .with_jitter(FixedJitter(0.5));
        assert_eq!(
            huge.delay_for(200, &status(503), SystemTime::UNIX_EPOCH),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn retries_are_traced_without_headers() {
        let logs = capture_logs(|| {
            let (result, ..) = schedule(
                &fixed(0.0),
                RetryMode::Idempotent,
                &[status(503), status(500)],
                Some(3),
            );
            assert_eq!(result, Ok(3));
        });
        assert!(logs.contains("retrying request"), "{logs}");
        assert!(
            logs.contains("failure=HTTP 503") && logs.contains("delay=2s"),
            "{logs}"
        );
        assert!(
            logs.contains("failure=HTTP 500") && logs.contains("delay=10s"),
            "{logs}"
        );
        assert!(
            !logs.to_ascii_lowercase().contains("authorization"),
            "{logs}"
        );
    }

    #[tokio::test]
    async fn tokio_clock_sleeps() {
        let clock = TokioClock;
        let (start, wall) = (clock.now(), clock.system_time());
        clock.sleep(Duration::from_millis(20)).await;
        assert!(clock.now().duration_since(start) >= Duration::from_millis(20));
        assert!(clock.system_time() > wall);
    }
}
