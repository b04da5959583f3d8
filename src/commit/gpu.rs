//! GPU backend of commit: the receipt leaves are hashed on the device from their messages
//! ([`Receipt::leaf_bytes`]), the account and pool leaves from the resident columns
//! ([`super::gpu_leaves`], only the stale account leaves rehashed), and every tree is
//! reduced on the device ([`super::gpu_merkle`]). Only the roots come back.

use rayon::prelude::*;

use super::Committed;
use super::gpu_leaves::GpuStateLeaves;
use super::gpu_merkle::GpuMerkle;
use crate::error::Result;
use crate::gpu::resident::ResidentState;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash::gpu::GpuHasher;
use crate::receipt::{LeafBytes, Receipt};
use crate::state::{State, SyncTag, state_root_of};

/// Commits blocks on the GPU; the leaf kernels keep the account leaves of the last state
/// they committed on the device.
#[derive(Debug)]
pub struct GpuCommit {
    merkle: GpuMerkle,
    leaves: GpuStateLeaves,
}

impl GpuCommit {
    /// Compiles the Merkle and leaf pipelines for the device behind `ctx`, with the
    /// workgroup sizes `tunables` gives them.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        Ok(GpuCommit {
            merkle: GpuMerkle::new(ctx, tunables)?,
            leaves: GpuStateLeaves::new(ctx, tunables)?,
        })
    }

    /// The Merkle levels, which the hash stage also uses for the tx root.
    pub fn merkle(&self) -> &GpuMerkle {
        &self.merkle
    }

    /// [`super::cpu::CpuCommit::commit`] on the device: the same inputs, the same
    /// [`Committed`], with the device's timings. `resident` must hold (or will upload)
    /// `state`'s columns.
    #[allow(clippy::too_many_arguments)]
    pub fn commit(
        &self,
        ctx: &GpuContext,
        hasher: &GpuHasher,
        resident: &ResidentState,
        state: &State,
        receipts: &[Receipt],
        since: SyncTag,
        writable: &[u32],
    ) -> Result<(Committed, GpuTimings)> {
        let mut total = GpuTimings::default();
        let receipt_msgs: Vec<LeafBytes> = receipts
            .par_iter()
            .with_min_len(1024)
            .map(Receipt::leaf_bytes)
            .collect();
        let refs: Vec<&[u8]> = receipt_msgs.iter().map(|m| &m[..]).collect();
        let (receipts_root, t) = self.merkle.root_of_messages(ctx, hasher, &refs)?;
        total.add(&t);
        let (leaves, t) = resident.with_columns(ctx, state, |cols, _| {
            self.leaves
                .roots(ctx, &self.merkle, state, cols, since, writable)
        })?;
        total.add(&t);
        Ok((
            Committed {
                receipts_root,
                state_root: state_root_of(&leaves.accounts_root, &leaves.pools_root),
                accounts_rehashed: leaves.accounts_rehashed,
            },
            total,
        ))
    }
}
