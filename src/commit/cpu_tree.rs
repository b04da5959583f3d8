//! A Merkle tree that keeps every level, so a block that changes a few leaves rehashes
//! only their paths to the root: O(changed · log n) node hashes instead of O(n).
//!
//! The shape is [`crate::merkle::merkle_root`]'s (pair neighbours, an odd last node moves up
//! unchanged); the tests compare both after every update.

use rayon::prelude::*;

use crate::merkle::node_hash;

/// Dirty nodes of one level above which the level is rehashed on rayon.
const PAR_DIRTY_MIN: usize = 2048;

/// Every level of a Merkle tree: `levels[0]` are the leaves, the last level is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<[u8; 32]>>,
}

impl MerkleTree {
    /// The tree over `leaves`.
    pub fn new(leaves: Vec<[u8; 32]>) -> Self {
        let n = leaves.len();
        let mut tree = MerkleTree {
            levels: vec![Vec::new()],
        };
        tree.update(leaves.into_iter().enumerate().collect(), n);
        tree
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[[u8; 32]] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The root: 32 zero bytes when empty.
    pub fn root(&self) -> [u8; 32] {
        match self.levels.last() {
            Some(top) if top.len() == 1 => top[0],
            _ => [0u8; 32],
        }
    }

    /// Grows the tree to `new_len` leaves and sets `changed` (index, leaf) pairs, then
    /// rehashes the paths above them. Every index in `len()..new_len` must be in
    /// `changed`; an index may appear more than once (the last value wins).
    ///
    /// # Panics
    /// If `new_len < len()`, or an index is `>= new_len`, or a new leaf is missing.
    pub fn update(&mut self, mut changed: Vec<(usize, [u8; 32])>, new_len: usize) {
        let old_len = self.len();
        assert!(new_len >= old_len, "a Merkle tree only grows");
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        // Stable sort keeps the last value of a repeated index last.
        changed.sort_by_key(|&(i, _)| i);
        let leaves = &mut self.levels[0];
        leaves.resize(new_len, [0u8; 32]);
        let mut dirty: Vec<usize> = Vec::with_capacity(changed.len());
        for (i, leaf) in changed {
            assert!(i < new_len, "leaf {i} is past the new length {new_len}");
            leaves[i] = leaf;
            if dirty.last() != Some(&i) {
                dirty.push(i);
            }
        }
        let new_in_changed = dirty.iter().filter(|&&i| i >= old_len).count();
        assert_eq!(
            new_in_changed,
            new_len - old_len,
            "every appended leaf must be given"
        );

        let mut k = 0;
        while self.levels[k].len() > 1 {
            let width = self.levels[k].len();
            let parent_width = width.div_ceil(2);
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            let (below, above) = self.levels.split_at_mut(k + 1);
            let (level, parents) = (&below[k], &mut above[0]);
            parents.resize(parent_width, [0u8; 32]);
            dirty.dedup_by_key(|i| *i / 2);
            for i in dirty.iter_mut() {
                *i /= 2;
            }
            let node = |j: usize| {
                if 2 * j + 1 < width {
                    node_hash(&level[2 * j], &level[2 * j + 1])
                } else {
                    level[2 * j]
                }
            };
            if dirty.len() >= PAR_DIRTY_MIN {
                let values: Vec<[u8; 32]> = dirty.par_iter().map(|&j| node(j)).collect();
                for (&j, v) in dirty.iter().zip(values) {
                    parents[j] = v;
                }
            } else {
                for &j in &dirty {
                    parents[j] = node(j);
                }
            }
            k += 1;
        }
        // A tree that shrank in height cannot happen (it only grows), but one that was
        // empty or a single leaf has no levels above.
        self.levels.truncate(k + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::merkle_root;
    use proptest::prelude::*;

    fn leaf(i: usize, salt: u8) -> [u8; 32] {
        let mut l = *blake3::hash(&(i as u64).to_le_bytes()).as_bytes();
        l[0] ^= salt;
        l
    }

    #[test]
    fn sizes_zero_to_forty_match_the_full_root() {
        for n in 0..=40 {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf(i, 0)).collect();
            let tree = MerkleTree::new(leaves.clone());
            assert_eq!(tree.root(), merkle_root(&leaves), "n = {n}");
            assert_eq!(tree.len(), n);
        }
    }

    #[test]
    fn growing_one_leaf_at_a_time_matches_the_full_root() {
        let mut tree = MerkleTree::default();
        let mut leaves = Vec::new();
        for n in 1..=70 {
            leaves.push(leaf(n, 1));
            tree.update(vec![(n - 1, leaves[n - 1])], n);
            assert_eq!(tree.root(), merkle_root(&leaves), "n = {n}");
        }
    }

    #[test]
    fn wide_updates_take_the_parallel_path() {
        let n = 3 * PAR_DIRTY_MIN + 5;
        let mut leaves: Vec<[u8; 32]> = (0..n).map(|i| leaf(i, 2)).collect();
        let mut tree = MerkleTree::new(leaves.clone());
        let changed: Vec<(usize, [u8; 32])> = (0..n).step_by(2).map(|i| (i, leaf(i, 3))).collect();
        for &(i, l) in &changed {
            leaves[i] = l;
        }
        tree.update(changed, n);
        assert_eq!(tree.root(), merkle_root(&leaves));
    }

    #[test]
    #[should_panic(expected = "every appended leaf must be given")]
    fn a_missing_new_leaf_is_refused() {
        let mut tree = MerkleTree::new(vec![leaf(0, 0)]);
        tree.update(vec![(2, leaf(2, 0))], 3);
    }

    proptest! {
        #[test]
        fn random_updates_and_growth_match_the_full_root(
            start in 0usize..300,
            steps in prop::collection::vec(
                (prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..20), 0usize..40),
                1..8,
            ),
        ) {
            let mut leaves: Vec<[u8; 32]> = (0..start).map(|i| leaf(i, 7)).collect();
            let mut tree = MerkleTree::new(leaves.clone());
            for (edits, grow) in steps {
                let new_len = leaves.len() + grow;
                let mut changed: Vec<(usize, [u8; 32])> = Vec::new();
                for i in leaves.len()..new_len {
                    changed.push((i, leaf(i, 9)));
                }
                leaves.resize(new_len, [0u8; 32]);
                if new_len > 0 {
                    for (at, salt) in edits {
                        let i = at.index(new_len);
                        changed.push((i, leaf(i, salt)));
                    }
                }
                for &(i, l) in &changed {
                    leaves[i] = l;
                }
                tree.update(changed, new_len);
                prop_assert_eq!(tree.root(), merkle_root(&leaves));
                prop_assert_eq!(tree.leaves(), &leaves[..]);
            }
        }
    }
}
