//! `changeTypes`: which session changes a member's subscription is tapped for (XSAPI's
//! `XblMultiplayerSessionChangeTypes` in `Include/xsapi-c/multiplayer_c.h`, go-xsapi `mpsd/description.go`).
//!
//! [`ChangeTypes`] is the one way to name them in the SDK: a delta's subscription
//! ([`SessionDelta::subscription`](crate::SessionDelta::subscription)) and a watch (`rta::SessionSubscriptions::watch`,
//! with the `rta` feature) both take it. The generated
//! `types::ChangeType` is the wire value inside documents (an open enum: a value this SDK does not know is kept
//! when read).

use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

/// A set of MPSD change types, as written to `properties.system.subscription.changeTypes`.
///
/// ```
/// use xbl_mpsd_ext::ChangeTypes;
/// let types = ChangeTypes::HOST | ChangeTypes::MEMBERS_LIST;
/// assert_eq!(types.names(), ["host", "membersList"]);
/// assert_eq!("MembersList, host".parse::<ChangeTypes>()?, types);
/// # Ok::<(), xbl_mpsd_ext::UnknownChangeType>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChangeTypes(u16);

/// The wire names, by bit.
const NAMES: [&str; 9] = [
    "everything",
    "host",
    "initialization",
    "matchmakingStatus",
    "membersList",
    "membersStatus",
    "joinability",
    "customProperty",
    "membersCustomProperty",
];

impl ChangeTypes {
    /// Any change to the session.
    pub const EVERYTHING: Self = Self(1);
    /// The host device token changes.
    pub const HOST: Self = Self(1 << 1);
    /// The initialization stage changes.
    pub const INITIALIZATION: Self = Self(1 << 2);
    /// The matchmaking status changes.
    pub const MATCHMAKING_STATUS: Self = Self(1 << 3);
    /// A member joins.
    pub const MEMBERS_LIST: Self = Self(1 << 4);
    /// A member leaves (the emulator also counts active/inactive changes).
    pub const MEMBERS_STATUS: Self = Self(1 << 5);
    /// Joinability (`joinRestriction`, `readRestriction`, `closed`, `locked`) changes.
    pub const JOINABILITY: Self = Self(1 << 6);
    /// The session's `properties.custom` changes.
    pub const CUSTOM_PROPERTY: Self = Self(1 << 7);
    /// A member's `properties.custom` changes.
    pub const MEMBERS_CUSTOM_PROPERTY: Self = Self(1 << 8);

    /// Whether every type of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The wire names, in XSAPI's order.
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The change type a wire name stands for, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES
            .iter()
            .position(|known| known.eq_ignore_ascii_case(name.trim()))
            .map(|bit| Self(1 << bit))
    }
}

impl BitOr for ChangeTypes {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for ChangeTypes {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for ChangeTypes {
    /// The names joined by `,`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// A change type name that MPSD does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown change type {0:?}; known: {known}", known = NAMES.join(", "))]
#[non_exhaustive]
pub struct UnknownChangeType(pub String);

impl FromStr for ChangeTypes {
    type Err = UnknownChangeType;

    /// A comma-separated list of names, ignoring case and spaces; empty is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut types = Self::default();
        for name in s.split(',') {
            types |=
                Self::from_name(name).ok_or_else(|| UnknownChangeType(name.trim().to_owned()))?;
        }
        Ok(types)
    }
}

impl serde::Serialize for ChangeTypes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_ignoring_case() {
        for (bit, name) in NAMES.iter().enumerate() {
            let types = ChangeTypes(1 << bit);
            assert_eq!(types.names(), [*name]);
            assert_eq!(ChangeTypes::from_name(&name.to_uppercase()), Some(types));
        }
        assert!("".parse::<ChangeTypes>().is_err());
        assert!("host,nope".parse::<ChangeTypes>().is_err());
        let all: ChangeTypes = NAMES.join(",").parse().unwrap();
        assert_eq!(all.names().len(), NAMES.len());
        assert!(all.contains(ChangeTypes::JOINABILITY));
        assert_eq!(
            serde_json::to_value(ChangeTypes::EVERYTHING).unwrap(),
            serde_json::json!(["everything"])
        );
    }
}
