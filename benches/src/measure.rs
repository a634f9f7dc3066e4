//! Interleaved timing: every candidate is timed in the same round as its baseline, rounds repeat, and
//! each row reports the ratio per round as min / median / max.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How much work each row does.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Rounds (each round times every variant once, in rotating order).
    pub rounds: usize,
    /// Iteration count multiplier (1.0 = full).
    pub scale: f64,
    /// Load-generation time per variant per round.
    pub load: Duration,
    /// Sessions the memory row creates.
    pub sessions: usize,
}

impl Effort {
    /// `n` iterations scaled for this effort, at least 1.
    pub fn iters(&self, n: usize) -> usize {
        ((n as f64 * self.scale) as usize).max(1)
    }
}

/// Min / median / max of a series.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Smallest value.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

impl Stats {
    /// Stats of `values` (NaN when empty).
    pub fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Self {
                min: f64::NAN,
                median: f64::NAN,
                max: f64::NAN,
            };
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Self {
            min: values[0],
            median,
            max: values[n - 1],
        }
    }
}

/// Per-round ratios `candidate[i] / baseline[i]`.
pub fn ratios(candidate: &[f64], baseline: &[f64]) -> Vec<f64> {
    candidate.iter().zip(baseline).map(|(c, b)| c / b).collect()
}

/// Times `iters` calls of each of `variants`, `rounds` times, rotating the order each round; each timed
/// batch follows a tenth as many untimed calls of the same variant.
/// Returns nanoseconds per call, per variant, per round.
pub fn interleave(rounds: usize, iters: usize, variants: &mut [&mut dyn FnMut()]) -> Vec<Vec<f64>> {
    let n = variants.len();
    let mut out = vec![Vec::with_capacity(rounds); n];
    // One untimed warm-up pass.
    for variant in variants.iter_mut() {
        for _ in 0..iters.div_ceil(10) {
            variant();
        }
    }
    for round in 0..rounds {
        for k in 0..n {
            let index = (round + k) % n;
            let variant = &mut variants[index];
            // A few untimed calls first, so that no variant pays alone for the caches the one before it
            // used.
            for _ in 0..iters.div_ceil(10) {
                variant();
            }
            let start = Instant::now();
            for _ in 0..iters {
                variant();
            }
            out[index].push(start.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    out
}

/// Runs `f` and keeps its result alive (so the optimiser cannot drop the work).
#[inline]
pub fn keep<T>(value: T) {
    black_box(value);
}

/// The `q` quantile (0..=1) of latencies in microseconds.
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[index.min(sorted.len() - 1)])
}
