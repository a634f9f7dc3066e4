//! A session's members by index: sorted by index, one inline or several in one vector, so copying a session for
//! a write (and dropping the state it replaces) is at most one allocation and a reference count per member, where
//! a `BTreeMap` of 64 members allocated and freed a node per 11 (issue #10, P4''); a session of one member
//! allocates nothing for it (P5).

use std::sync::Arc;

use super::Member;

/// Members by index, ascending; each shared with earlier snapshots until a write changes it.
///
/// A session of one member (most of them) keeps it inline: no vector allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members(Entries);

/// The entries of [`Members`], sorted by index.
#[derive(Debug, Clone, Default)]
enum Entries {
    /// No member.
    #[default]
    Empty,
    /// One member, inline.
    One([(u32, Arc<Member>); 1]),
    /// Two or more, in an exactly sized vector (a stored session keeps no spare capacity; a write's copy of
    /// the vector is exact anyway).
    Many(Vec<(u32, Arc<Member>)>),
}

impl Members {
    /// The entries as a slice.
    fn slice(&self) -> &[(u32, Arc<Member>)] {
        match &self.0 {
            Entries::Empty => &[],
            Entries::One(one) => one,
            Entries::Many(many) => many,
        }
    }

    /// The entries as a slice, to change (not to add or remove).
    fn slice_mut(&mut self) -> &mut [(u32, Arc<Member>)] {
        match &mut self.0 {
            Entries::Empty => &mut [],
            Entries::One(one) => one,
            Entries::Many(many) => many,
        }
    }

    /// The position of `index`, or where it would go.
    fn position(&self, index: u32) -> Result<usize, usize> {
        self.slice().binary_search_by_key(&index, |(at, _)| *at)
    }

    /// The member at `index`.
    pub(crate) fn get(&self, index: &u32) -> Option<&Arc<Member>> {
        let position = self.position(*index).ok()?;
        self.slice().get(position).map(|(_, member)| member)
    }

    /// The member at `index`, to change (through [`Member::make_mut`]).
    pub(crate) fn get_mut(&mut self, index: &u32) -> Option<&mut Arc<Member>> {
        let position = self.position(*index).ok()?;
        self.slice_mut().get_mut(position).map(|(_, member)| member)
    }

    /// Puts `member` at `index`; the member it replaces.
    pub(crate) fn insert(&mut self, index: u32, member: Arc<Member>) -> Option<Arc<Member>> {
        let position = match self.position(index) {
            Ok(position) => {
                let slot = self.slice_mut().get_mut(position)?;
                return Some(std::mem::replace(&mut slot.1, member));
            }
            Err(position) => position,
        };
        self.0 = match std::mem::take(&mut self.0) {
            Entries::Empty => Entries::One([(index, member)]),
            Entries::One([only]) => {
                let mut many = Vec::with_capacity(2);
                many.push(only);
                many.insert(position, (index, member));
                Entries::Many(many)
            }
            Entries::Many(mut many) => {
                many.reserve_exact(1);
                many.insert(position, (index, member));
                Entries::Many(many)
            }
        };
        None
    }

    /// Removes the member at `index`.
    pub(crate) fn remove(&mut self, index: &u32) -> Option<Arc<Member>> {
        let position = self.position(*index).ok()?;
        let (entries, removed) = match std::mem::take(&mut self.0) {
            Entries::Empty => (Entries::Empty, None),
            Entries::One([(_, only)]) => (Entries::Empty, Some(only)),
            Entries::Many(mut many) => {
                let removed = many.remove(position).1;
                let entries = match many.len() {
                    0 => Entries::Empty,
                    1 => match many.pop() {
                        Some(only) => Entries::One([only]),
                        None => Entries::Empty,
                    },
                    _ => Entries::Many(many),
                };
                (entries, Some(removed))
            }
        };
        self.0 = entries;
        removed
    }

    /// `(index, member)` in index order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&u32, &Arc<Member>)> + Clone {
        self.slice().iter().map(|(index, member)| (index, member))
    }

    /// The indices, ascending.
    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &u32> + Clone {
        self.slice().iter().map(|(index, _)| index)
    }

    /// The members in index order.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Arc<Member>> + Clone {
        self.slice().iter().map(|(_, member)| member)
    }

    /// The members in index order, to change.
    pub(crate) fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Arc<Member>> {
        self.slice_mut().iter_mut().map(|(_, member)| member)
    }

    /// `(index, member)` in index order, to change.
    pub(crate) fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&u32, &mut Arc<Member>)> {
        self.slice_mut()
            .iter_mut()
            .map(|(index, member)| (&*index, member))
    }

    /// How many members there are.
    pub(crate) fn len(&self) -> usize {
        self.slice().len()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.slice().is_empty()
    }
}

impl FromIterator<(u32, Arc<Member>)> for Members {
    fn from_iter<I: IntoIterator<Item = (u32, Arc<Member>)>>(iter: I) -> Self {
        let mut members = Self::default();
        for (index, member) in iter {
            members.insert(index, member);
        }
        members
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use proptest::prelude::*;
    use serde_json::Map;

    use super::*;

    fn member(xuid: u64) -> Arc<Member> {
        Arc::new(Member::new(
            xuid,
            &Map::new(),
            &Map::new(),
            false,
            None,
            Utc::now(),
        ))
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u64),
        Remove(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..40, any::<u64>()).prop_map(|(index, xuid)| Op::Insert(index, xuid)),
            (0u32..40).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Any sequence of inserts and removals leaves the same members, in the same order, as a `BTreeMap`.
        #[test]
        fn behaves_like_an_ordered_map(ops in proptest::collection::vec(op(), 0..120)) {
            let mut members = Members::default();
            let mut model: BTreeMap<u32, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(index, xuid) => {
                        let replaced = members.insert(index, member(xuid)).map(|m| m.xuid);
                        prop_assert_eq!(replaced, model.insert(index, xuid));
                    }
                    Op::Remove(index) => {
                        let removed = members.remove(&index).map(|m| m.xuid);
                        prop_assert_eq!(removed, model.remove(&index));
                    }
                }
                let ours: Vec<(u32, u64)> = members.iter().map(|(i, m)| (*i, m.xuid)).collect();
                let theirs: Vec<(u32, u64)> = model.iter().map(|(i, x)| (*i, *x)).collect();
                prop_assert_eq!(ours, theirs);
                prop_assert_eq!(members.len(), model.len());
                prop_assert_eq!(members.is_empty(), model.is_empty());
                for index in 0..40 {
                    prop_assert_eq!(members.get(&index).map(|m| m.xuid), model.get(&index).copied());
                    prop_assert_eq!(members.clone().get_mut(&index).is_some(), model.contains_key(&index));
                }
            }
        }
    }

    #[test]
    fn one_member_is_inline_and_many_are_exact() {
        let mut members = Members::default();
        assert!(matches!(members.0, Entries::Empty));
        members.insert(4, member(40));
        assert!(matches!(members.0, Entries::One(_)));
        members.insert(2, member(20));
        members.insert(9, member(90));
        match &members.0 {
            Entries::Many(many) => assert_eq!(many.capacity(), 3),
            other => panic!("expected a vector, got {other:?}"),
        }
        assert_eq!(members.keys().copied().collect::<Vec<_>>(), [2, 4, 9]);
        assert_eq!(members.remove(&4).map(|m| m.xuid), Some(40));
        assert_eq!(members.remove(&2).map(|m| m.xuid), Some(20));
        assert!(matches!(members.0, Entries::One(_)));
        assert_eq!(members.get(&9).map(|m| m.xuid), Some(90));
        assert_eq!(members.remove(&5).map(|m| m.xuid), None);
        assert_eq!(members.remove(&9).map(|m| m.xuid), Some(90));
        assert!(matches!(members.0, Entries::Empty));
        assert!(members.is_empty());
        assert!(std::mem::size_of::<Members>() <= 24);
    }

    #[test]
    fn collects_out_of_order_input_sorted() {
        let members: Members = [(5, member(50)), (1, member(10)), (3, member(30))]
            .into_iter()
            .collect();
        assert_eq!(members.keys().copied().collect::<Vec<_>>(), [1, 3, 5]);
        assert_eq!(
            members.values().map(|m| m.xuid).collect::<Vec<_>>(),
            [10, 30, 50]
        );
    }
}
