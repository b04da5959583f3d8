//! CPU backend of commit: receipt leaves and roots with the `blake3` crate over rayon, the
//! account tree kept between blocks so a block rehashes only the leaves it left stale and
//! the paths above them.

use std::sync::Mutex;

use rayon::prelude::*;

use super::cpu_tree::MerkleTree;
use super::{Committed, stale_accounts};
use crate::merkle::merkle_root;
use crate::receipt::Receipt;
use crate::state::{State, SyncTag, state_root_of};

/// The account Merkle tree of the state whose tag it records (any other state, or an edit
/// made elsewhere, rebuilds it).
#[derive(Debug)]
struct KeptTree {
    tag: SyncTag,
    tree: MerkleTree,
}

/// Commits blocks on the CPU, keeping the account tree of the last state it committed.
#[derive(Debug, Default)]
pub struct CpuCommit {
    kept: Mutex<Option<KeptTree>>,
}

impl CpuCommit {
    /// A commit stage with nothing kept: the first block hashes every account.
    pub fn new() -> Self {
        Self::default()
    }

    /// The roots of `state` after a block with these `receipts`. `since` is the state's
    /// tag when the block began executing and `writable` the accounts it may have written
    /// ([`crate::resolve::Writable`]): when the kept tree is the state's as it was at
    /// `since`, only those and the accounts appended since are rehashed. Runs on the
    /// caller's rayon pool.
    pub fn commit(
        &self,
        state: &State,
        receipts: &[Receipt],
        since: SyncTag,
        writable: &[u32],
    ) -> Committed {
        let leaves: Vec<[u8; 32]> = receipts
            .par_iter()
            .with_min_len(512)
            .map(Receipt::leaf)
            .collect();
        let (accounts_root, accounts_rehashed) = self.accounts_root(state, since, writable);
        Committed {
            receipts_root: merkle_root(&leaves),
            state_root: state_root_of(&accounts_root, &state.pools_root()),
            accounts_rehashed,
        }
    }

    fn accounts_root(&self, state: &State, since: SyncTag, writable: &[u32]) -> ([u8; 32], usize) {
        // The lock is held only to take the tree out and to put it back, so concurrent
        // blocks never wait for each other's root (one that finds the tree taken rebuilds
        // its own). Updates happen outside the lock: nothing half-updated is ever stored.
        let lock = || self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let n = state.account_count();
        let previous = lock().take();
        let stale = stale_accounts(
            previous.as_ref().map(|k| (k.tag, k.tree.len())),
            since,
            writable,
            n,
        );
        let (tree, rehashed) = match (previous, stale) {
            (Some(k), Some(stale)) => {
                let mut tree = k.tree;
                let changed: Vec<(usize, [u8; 32])> = stale
                    .par_iter()
                    .with_min_len(256)
                    .map(|&i| (i as usize, state.account_leaf(i as usize)))
                    .collect();
                let rehashed = changed.len();
                tree.update(changed, n);
                (tree, rehashed)
            }
            _ => (MerkleTree::new(state.account_leaves()), n),
        };
        let root = tree.root();
        *lock() = Some(KeptTree {
            tag: state.sync_tag(),
            tree,
        });
        (root, rehashed)
    }
}
