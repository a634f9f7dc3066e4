//! A classified change of the API surface: breaking or additive for callers of the generated code, where,
//! and what. [`crate::spec_diff`] (the spec) and [`crate::surface_diff`] (the generated types) both report
//! in it.

use std::fmt;

/// Whether a change breaks callers of the generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Breaks existing callers (compile error or a call that now fails).
    Breaking,
    /// Existing callers compile and behave as before (an addition, or a compatible removal).
    Additive,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<9}` aligns the lists.
        f.pad(match self {
            Self::Breaking => "breaking",
            Self::Additive => "additive",
        })
    }
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    /// Breaking or additive.
    pub class: Class,
    /// Where: an operation (`PUT /path (operationId)`) or a schema (`schema Name.field`).
    pub location: String,
    /// What changed.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9} {}: {}", self.class, self.location, self.what)
    }
}
