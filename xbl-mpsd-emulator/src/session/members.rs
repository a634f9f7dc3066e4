//! A session's members by index: one vector sorted by index, so copying a session for a write (and dropping
//! the state it replaces) is one allocation and a reference count per member, where a `BTreeMap` of 64
//! members allocated and freed a node per 11 (issue #10, P4'').

use std::sync::Arc;

use super::Member;

/// Members by index, ascending; each shared with earlier snapshots until a write changes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members(Vec<(u32, Arc<Member>)>);

impl Members {
    /// The position of `index`, or where it would go.
    fn position(&self, index: u32) -> Result<usize, usize> {
        self.0.binary_search_by_key(&index, |(at, _)| *at)
    }

    /// The member at `index`.
    pub(crate) fn get(&self, index: &u32) -> Option<&Arc<Member>> {
        let position = self.position(*index).ok()?;
        self.0.get(position).map(|(_, member)| member)
    }

    /// The member at `index`, to change (through [`Member::make_mut`]).
    pub(crate) fn get_mut(&mut self, index: &u32) -> Option<&mut Arc<Member>> {
        let position = self.position(*index).ok()?;
        self.0.get_mut(position).map(|(_, member)| member)
    }

    /// Puts `member` at `index`; the member it replaces.
    pub(crate) fn insert(&mut self, index: u32, member: Arc<Member>) -> Option<Arc<Member>> {
        match self.position(index) {
            Ok(position) => Some(std::mem::replace(&mut self.0[position].1, member)),
            Err(position) => {
                self.0.insert(position, (index, member));
                None
            }
        }
    }

    /// Removes the member at `index`.
    pub(crate) fn remove(&mut self, index: &u32) -> Option<Arc<Member>> {
        let position = self.position(*index).ok()?;
        Some(self.0.remove(position).1)
    }

    /// `(index, member)` in index order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&u32, &Arc<Member>)> + Clone {
        self.0.iter().map(|(index, member)| (index, member))
    }

    /// The indices, ascending.
    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &u32> + Clone {
        self.0.iter().map(|(index, _)| index)
    }

    /// The members in index order.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Arc<Member>> + Clone {
        self.0.iter().map(|(_, member)| member)
    }

    /// The members in index order, to change.
    pub(crate) fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Arc<Member>> {
        self.0.iter_mut().map(|(_, member)| member)
    }

    /// `(index, member)` in index order, to change.
    pub(crate) fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&u32, &mut Arc<Member>)> {
        self.0.iter_mut().map(|(index, member)| (&*index, member))
    }

    /// How many members there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
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
