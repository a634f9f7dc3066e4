//! The table: one row per goal, with min / median / max and PASS/FAIL on the median.

use crate::measure::Stats;

/// Which way a goal points.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// The ratio must be at most this.
    AtMost(f64),
    /// The ratio must be at least this.
    AtLeast(f64),
    /// Seconds, at most this.
    SecondsAtMost(f64),
}

/// One measured row.
#[derive(Debug, Clone)]
pub struct Row {
    /// `P1`, `P4''`, …
    pub id: &'static str,
    /// What is compared to what.
    pub what: String,
    /// The goal.
    pub goal: Goal,
    /// Ratio (or seconds) over the rounds.
    pub stats: Stats,
    /// Extra goal text and whether it holds (e.g. p99).
    pub extra_goal: Option<(String, bool)>,
    /// Absolute figures, for reading the ratio.
    pub detail: String,
}

impl Row {
    /// A ratio that must stay at or below `goal`.
    pub fn at_most(id: &'static str, what: &str, goal: f64, stats: Stats, detail: String) -> Self {
        Self {
            id,
            what: what.to_owned(),
            goal: Goal::AtMost(goal),
            stats,
            extra_goal: None,
            detail,
        }
    }

    /// Whether the median meets the goal (and the extra goal, if any).
    pub fn pass(&self) -> bool {
        let median = self.stats.median;
        let main = match self.goal {
            Goal::AtMost(goal) | Goal::SecondsAtMost(goal) => median <= goal,
            Goal::AtLeast(goal) => median >= goal,
        };
        main && self.extra_goal.as_ref().is_none_or(|(_, ok)| *ok)
    }

    fn goal_text(&self) -> String {
        let main = match self.goal {
            Goal::AtMost(goal) => format!("≤ {goal}×"),
            Goal::AtLeast(goal) => format!("≥ {goal}×"),
            Goal::SecondsAtMost(goal) => format!("≤ {goal} s"),
        };
        match &self.extra_goal {
            Some((text, _)) => format!("{main}, {text}"),
            None => main,
        }
    }

    fn figure(&self, value: f64) -> String {
        match self.goal {
            Goal::SecondsAtMost(_) => format!("{value:.2} s"),
            _ => format!("{value:.2}×"),
        }
    }
}

/// Prints the table (Markdown) and the detail lines.
pub fn print(rows: &[Row], smoke: bool) {
    println!("| | what | goal | min | median | max | result |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        let result = if smoke {
            "(smoke)"
        } else if row.pass() {
            "PASS"
        } else {
            "FAIL"
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.id,
            row.what,
            row.goal_text(),
            row.figure(row.stats.min),
            row.figure(row.stats.median),
            row.figure(row.stats.max),
            result
        );
    }
    println!();
    for row in rows {
        println!("- {}: {}", row.id, row.detail);
    }
}
