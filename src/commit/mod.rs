//! Pipeline stage 7, commit: the receipts root and the state root of a block.
//!
//! Two backends with the same inputs and output ([`Committed`]): [`cpu::CpuCommit`]
//! (the `blake3` crate over rayon; the account Merkle tree kept between blocks in
//! [`cpu_tree`]) and [`gpu::GpuCommit`] (receipt leaves and both state trees on the
//! device: [`gpu_merkle`] reduces levels, [`gpu_leaves`] hashes account and pool leaves
//! from the resident columns). Both rehash only the account leaves a block left stale
//! (`stale_accounts`). [`twin`] holds the CPU twins of the WGSL. The tree shape is
//! [`crate::merkle`]'s.

use crate::state::SyncTag;

pub mod cpu;
pub mod cpu_tree;
pub mod gpu;
pub mod gpu_leaves;
pub mod gpu_merkle;
pub mod twin;

/// The account leaves a block left stale, when leaves are kept between blocks: `kept` is
/// the sync tag of the state the kept leaves were computed for and how many accounts it
/// had. If that is the state as it was at `since` (when the block began executing) and it
/// has not shrunk, the stale leaves are the accounts the block may have written
/// (`touched`) and those appended since; otherwise `None`: every leaf must be rehashed.
/// What one commit produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Merkle root of the receipt leaves.
    pub receipts_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
    /// Account leaves hashed: the stale ones, or every account when the kept leaves were
    /// not this state's.
    pub accounts_rehashed: usize,
}

pub(crate) fn stale_accounts(
    kept: Option<(SyncTag, usize)>,
    since: SyncTag,
    touched: &[u32],
    accounts: usize,
) -> Option<Vec<u32>> {
    let (tag, kept_accounts) = kept?;
    (tag == since && kept_accounts <= accounts).then(|| {
        touched
            .iter()
            .copied()
            .filter(|&i| (i as usize) < kept_accounts)
            .chain(kept_accounts as u32..accounts as u32)
            .collect()
    })
}
