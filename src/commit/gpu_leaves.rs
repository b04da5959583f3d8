//! GPU accounts_root and pools_root straight from the resident columns ([`crate::gpu::resident`]).
//!
//! Shader: `shaders/shared/blake3_compress.wgsl` followed by `shaders/stages/state_leaves.wgsl` (entry
//! points `hash_account_leaves` and `hash_pool_leaves`). CPU twin: [`super::twin`].
//!
//! The account leaves stay on the device between blocks, like the columns they are hashed
//! from ([`crate::gpu::resident`]). A block uploads only the indices of the accounts it may have
//! written (signers, recipients, the fee collector: 4 bytes each); those and the accounts
//! appended since the last block are rehashed in place, every pool leaf is rehashed (pools
//! are few and their reserves already live on the device), and both trees are reduced on
//! the device by [`GpuMerkle`]. Only the two roots come back.
//!
//! The kept leaves are trusted only for the state they were computed for: they record the
//! state's sync tag (identity and edit count) after the block that computed them, and the
//! next block reuses them only if the state still has that tag when it starts executing.
//! Any other state, a rollback, a block executed or committed on the CPU, a GPU error, or a
//! leaf buffer that had to grow makes the next commit rehash every account.

use std::sync::{Mutex, MutexGuard};

use crate::commit::gpu_merkle::GpuMerkle;
use crate::error::{Error, Result};
use crate::gpu::pass::{bind_and_dispatch, entry, run_pass, stage_pipelines, upload};
use crate::gpu::pool::allocated;
use crate::gpu::pool::{BatchLimits, GrowBuffer, PassTimer, clear_all, lock_or_reset};
use crate::gpu::resident::ResidentColumns;
use crate::gpu::shaders;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};
use crate::state::{State, SyncTag};

/// Per-call parameters. Keep in sync with `LeafParams` in shaders/stages/state_leaves.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LeafParams {
    /// Accounts to hash: entries of the dirty list, or accounts `0..count`.
    pub count: u32,
    /// 1: hash accounts `0..count`; 0: hash the accounts the dirty list names.
    pub all_accounts: u32,
    /// Tokens (balance columns).
    pub tokens: u32,
    /// Accounts per balance column on the device.
    pub account_cap: u32,
    /// Pools.
    pub n_pools: u32,
    /// Pads the uniform to 32 bytes.
    pub pad: [u32; 3],
}

/// The roots one commit computed, and how many account leaves it rehashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeafRoots {
    /// Merkle root of the account leaves.
    pub accounts_root: [u8; 32],
    /// Merkle root of the pool leaves.
    pub pools_root: [u8; 32],
    /// Account leaves hashed (the dirty ones, or all).
    pub accounts_rehashed: usize,
}

/// Which state the kept account leaves belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeptLeaves {
    tag: SyncTag,
    accounts: usize,
}

#[derive(Debug)]
struct LeafBuffers {
    params: GrowBuffer,
    dirty: GrowBuffer,
    accounts: GrowBuffer,
    pools: GrowBuffer,
    timer: Option<PassTimer>,
    kept: Option<KeptLeaves>,
}

impl LeafBuffers {
    fn clear(&mut self) {
        clear_all([
            &mut self.params,
            &mut self.dirty,
            &mut self.accounts,
            &mut self.pools,
        ]);
        self.kept = None;
    }
}

/// Account and pool leaves hashed on the device from resident columns, and their roots.
#[derive(Debug)]
pub struct GpuStateLeaves {
    accounts: wgpu::ComputePipeline,
    pools: wgpu::ComputePipeline,
    limits: BatchLimits,
    workgroup_size: u32,
    buffers: Mutex<LeafBuffers>,
}

impl GpuStateLeaves {
    /// Compiles the leaf pipelines for the device behind `ctx`, with workgroups of
    /// `tunables.state_leaves_workgroup_size`.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        let workgroup_size = tunables.state_leaves_workgroup_size;
        let [accounts, pools] = stage_pipelines(
            ctx,
            &shaders::STATE_LEAVES,
            ["hash_account_leaves", "hash_pool_leaves"],
            workgroup_size,
            None,
        )?;
        let timer = ctx.scoped("state leaves timer", || PassTimer::new(ctx))?;
        Ok(Self {
            accounts,
            pools,
            limits: BatchLimits::of(ctx),
            workgroup_size,
            buffers: Mutex::new(LeafBuffers {
                params: GrowBuffer::uniform("leaf params"),
                dirty: GrowBuffer::input("leaf dirty list"),
                accounts: GrowBuffer::input("account leaves"),
                pools: GrowBuffer::input("pool leaves"),
                timer,
                kept: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, LeafBuffers> {
        // A panic mid-call may have left leaves half-written: forget them.
        lock_or_reset(&self.buffers, |g| g.clear())
    }

    /// accounts_root and pools_root of `state`, whose columns `cols` holds on the device.
    /// `since` is the state's sync tag when the block began executing and `touched` every
    /// account the block may have written: when the kept leaves belong to the state as it
    /// was at `since`, only `touched` and the accounts appended since are rehashed.
    pub fn roots(
        &self,
        ctx: &GpuContext,
        merkle: &GpuMerkle,
        state: &State,
        cols: ResidentColumns<'_>,
        since: SyncTag,
        touched: &[u32],
    ) -> Result<(LeafRoots, GpuTimings)> {
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let mut t = GpuTimings::default();
        let result = self.roots_inner(ctx, merkle, bufs, state, cols, since, touched, &mut t);
        match result {
            Ok(roots) => {
                bufs.kept = Some(KeptLeaves {
                    tag: state.sync_tag(),
                    accounts: state.account_count(),
                });
                Ok((roots, t))
            }
            Err(e) => {
                bufs.clear();
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn roots_inner(
        &self,
        ctx: &GpuContext,
        merkle: &GpuMerkle,
        bufs: &mut LeafBuffers,
        state: &State,
        cols: ResidentColumns<'_>,
        since: SyncTag,
        touched: &[u32],
        t: &mut GpuTimings,
    ) -> Result<LeafRoots> {
        let n = state.account_count();
        let n_pools = state.pools().len();
        let cap_bytes = self.limits.max_binding_bytes;
        let too_big = |what: String| {
            Error::gpu(
                "commit upload",
                crate::error::GpuErrorKind::LimitExceeded,
                what,
            )
        };
        if cols.account_cap < n {
            return Err(too_big(format!(
                "the device columns hold {} accounts, the state has {n}",
                cols.account_cap
            )));
        }
        let kept = bufs.kept.take();
        let leaf_bytes = 32 * cols.account_cap as u64;
        if leaf_bytes > cap_bytes {
            return Err(too_big(format!(
                "{} account leaves need {leaf_bytes} bytes, above the device's {cap_bytes}-byte binding limit",
                cols.account_cap
            )));
        }
        let grew = ctx.scoped("commit upload", || {
            let before = bufs.accounts.capacity();
            bufs.accounts.ensure(&ctx.device, leaf_bytes, cap_bytes);
            bufs.pools
                .ensure(&ctx.device, 32 * n_pools as u64, cap_bytes);
            bufs.accounts.capacity() != before
        })?;
        // Leaves do not survive a reallocation of their buffer.
        let kept = if grew { None } else { kept };
        let dirty = super::stale_accounts(kept.map(|k| (k.tag, k.accounts)), since, touched, n);
        let count = dirty.as_ref().map_or(n, Vec::len);
        let grid = self.limits.grid(count as u64, self.workgroup_size)?;
        let pool_grid = self.limits.grid(n_pools as u64, self.workgroup_size)?;
        let params = LeafParams {
            count: count as u32,
            all_accounts: u32::from(dirty.is_none()),
            tokens: state.tokens() as u32,
            account_cap: cols.account_cap as u32,
            n_pools: n_pools as u32,
            pad: [0; 3],
        };
        let list = dirty.as_deref().unwrap_or(&[]);
        upload(ctx, "commit upload", t, |dev, queue| {
            queue.write_buffer(
                bufs.params.ensure(dev, 32, 256),
                0,
                bytemuck::bytes_of(&params),
            );
            let dirty_buf = bufs.dirty.ensure(dev, 4 * list.len() as u64, cap_bytes);
            if !list.is_empty() {
                queue.write_buffer(dirty_buf, 0, bytemuck::cast_slice(list));
            }
        })?;

        let stage = "commit dispatch";
        run_pass(ctx, stage, bufs.timer.as_ref(), t, |pass| {
            let params = allocated(stage, &bufs.params)?;
            if count > 0 {
                bind_and_dispatch(
                    ctx,
                    pass,
                    "hash_account_leaves",
                    &self.accounts,
                    &[
                        entry(0, params),
                        entry(1, cols.pubkeys),
                        entry(2, cols.nonces),
                        entry(3, cols.balances),
                        entry(4, allocated(stage, &bufs.dirty)?),
                        entry(5, allocated(stage, &bufs.accounts)?),
                    ],
                    grid,
                );
            }
            if n_pools > 0 {
                bind_and_dispatch(
                    ctx,
                    pass,
                    "hash_pool_leaves",
                    &self.pools,
                    &[
                        entry(0, params),
                        entry(6, cols.pools),
                        entry(7, allocated(stage, &bufs.pools)?),
                    ],
                    pool_grid,
                );
            }
            Ok(())
        })?;

        // The reductions are submitted after the leaf pass, so they see its writes.
        let mut root = |n: usize,
                        only: &dyn Fn() -> [u8; 32],
                        leaves: &GrowBuffer,
                        timer: Option<&PassTimer>|
         -> Result<[u8; 32]> {
            match n {
                0 => Ok([0u8; 32]),
                1 => Ok(only()),
                _ => {
                    merkle.root_of_device_leaves(ctx, allocated(stage, leaves)?, n as u64, timer, t)
                }
            }
        };
        let accounts_root = root(
            n,
            &|| state.account_leaf(0),
            &bufs.accounts,
            bufs.timer.as_ref(),
        )?;
        let pools_root = root(n_pools, &|| state.pools()[0].leaf(), &bufs.pools, None)?;
        Ok(LeafRoots {
            accounts_root,
            pools_root,
            accounts_rehashed: count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_params_match_the_wgsl_layout() {
        // WGSL: struct LeafParams { count, all_accounts, tokens, account_cap, n_pools,
        // pad0, pad1, pad2 } — 32 bytes.
        assert_eq!(std::mem::size_of::<LeafParams>(), 32);
    }
}
