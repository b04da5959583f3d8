//! One block through the pipeline: `process_block` = the state-free stages
//! (`prepare_block`: decode, tx ids and tx_root, signature checks) then the state stages
//! (`apply_prepared`: header check, resolve, schedule, execute, commit), each stage one
//! call on the engine's backend. The stream (`crate::stream`) calls the two halves on
//! different blocks at once.

use std::time::Instant;

use rayon::prelude::*;

use super::{Engine, report::*};
use crate::commit::Committed;
use crate::error::{Error, Result, catch_panic};
use crate::exec;
use crate::hash;
use crate::merkle::merkle_root;
use crate::receipt::Receipt;
use crate::resolve::{self, ResolvedBlock};
use crate::schedule;
use crate::state::State;
use crate::tx::{Block, Tx};
use crate::verify::{self, VerifyRule};

/// A block after the state-free stages (decode, tx ids and tx_root, signature checks),
/// ready for [`Engine::apply_prepared`]. In a stream it owns its block's header only (the
/// encoded txs are dropped once decoded, hashed and verified); `process_block` borrows the
/// caller's block.
pub(crate) struct PreparedBlock<'b> {
    pub(crate) block: std::borrow::Cow<'b, Block>,
    /// The block's hash (its header, tx count included, and tx_root).
    block_hash: [u8; 32],
    decoded: Vec<Option<Tx>>,
    tx_ids: Vec<[u8; 32]>,
    tx_root: [u8; 32],
    sig_ok: Vec<bool>,
    /// decode, hash and verify filled in.
    pub(crate) timings: StageTimings,
    /// hash and verify filled in.
    gpu_timings: StageGpuTimings,
    fallbacks: Vec<String>,
    hash_device: Device,
    verify_device: Device,
    key_cache: verify::cache::CacheStats,
    /// Wall time of `prepare_block`.
    pub(crate) prepare_ns: u64,
}

impl Engine {
    /// Applies one block to `state`. On any error the state is exactly as before.
    /// A block over [`EngineConfig::limits`](super::EngineConfig::limits) is refused
    /// first ([`Error::BlockTooLarge`], block index 0); a panic inside txwave is an
    /// [`Error::Internal`], with the state as before.
    pub fn process_block(&self, state: &mut State, block: &Block) -> Result<BlockOutcome> {
        self.config.limits.check_block(block, 0)?;
        self.pool.install(|| {
            // The header is checked first, as it always was, so that a bad header is the
            // error reported even when a state-free stage would fail too.
            block.check_follows(state.height(), state.last_block_hash())?;
            let prepared = catch_panic("prepare", || {
                self.prepare_block(std::borrow::Cow::Borrowed(block), state.verify_rule())
            })?;
            self.apply_prepared(state, prepared)
        })
    }

    // ---- Split of the per-block pipeline (used by `process_block` and by the stream in
    // src/stream.rs): `prepare_block` is the state-free part (decode, tx ids and tx_root,
    // signature checks), `apply_prepared` the state part (header check, resolve, schedule,
    // execute, commit). Call both inside `self.pool.install`.

    /// Runs `f` in the engine's thread pool (where `prepare_block` and `apply_prepared`
    /// belong).
    pub(crate) fn in_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.pool.install(f)
    }

    /// The state-free stages of one block: decode, tx ids and tx_root, signature checks
    /// under `rule` (the state's rule). Needs no state, so it may run ahead of earlier
    /// blocks. Header checks are not done here (they need the state).
    pub(crate) fn prepare_block<'b>(
        &self,
        block: std::borrow::Cow<'b, Block>,
        rule: VerifyRule,
    ) -> Result<PreparedBlock<'b>> {
        let t_start = Instant::now();
        let mut timings = StageTimings::default();
        let mut gpu_timings = StageGpuTimings::default();
        let mut fallbacks = Vec::new();
        let lap = |t: &mut Instant| {
            let ns = t.elapsed().as_nanos() as u64;
            *t = Instant::now();
            ns
        };
        let mut t = Instant::now();
        let block_ref: &Block = &block;

        // Decode.
        let decoded: Vec<Option<Tx>> = (0..block_ref.tx_count())
            .into_par_iter()
            .with_min_len(512)
            .map(|i| {
                if i == 0 {
                    self.fault_point(super::PanicPoint::Prepare, block_ref.height);
                }
                Tx::decode(block_ref.tx_bytes(i))
            })
            .collect();
        timings.decode_ns = lap(&mut t);

        // Hash: tx ids and tx_root together (on the GPU the root is reduced on the device).
        let tx_msgs: Vec<&[u8]> = block_ref.txs().collect();
        // Under Auto, blocks below the hash threshold (a calibration's break-even) hash on
        // the CPU, as `hash_many` batches do.
        let cpu_only =
            self.config.backend == super::Backend::Auto && tx_msgs.len() < self.auto.hash;
        let hashed = self.staged_unless(
            cpu_only,
            "hash",
            &mut fallbacks,
            |g| {
                g.commit
                    .merkle()
                    .hash_and_root(&g.ctx, &g.hasher, &tx_msgs)
                    .map(|(ids, root, t)| ((ids, root), t))
            },
            || {
                let ids = hash::cpu::tx_ids(block_ref);
                let root = merkle_root(&ids);
                (ids, root)
            },
        )?;
        drop(tx_msgs);
        let (tx_ids, tx_root) = hashed.value;
        gpu_timings.hash = hashed.timings;
        timings.hash_ns = lap(&mut t);

        // Verify.
        let (checks, check_of) = verify::block_checks(block_ref, &decoded);
        let mut key_cache = verify::cache::CacheStats::default();
        let verified = self.verify_staged(&checks, rule, &mut fallbacks, &mut key_cache)?;
        drop(checks);
        let verify_device = verified.device;
        gpu_timings.verify = verified.timings;
        let verdicts = verified.value;
        let sig_ok = verify::verdicts_per_tx(verdicts, &check_of, block_ref.tx_count());
        timings.verify_ns = lap(&mut t);
        let prepare_ns = t_start.elapsed().as_nanos() as u64;
        // The state stages need only the header, the block hash and what was decoded from
        // the txs: an owned block (a stream's) lets its encoded txs go now rather than
        // after apply.
        let block_hash = block.block_hash(&tx_root);
        let block = match block {
            std::borrow::Cow::Owned(b) => std::borrow::Cow::Owned(Block::new(
                b.height,
                b.parent_hash,
                b.fee_collector,
                b.claimed_state_root,
            )),
            borrowed => borrowed,
        };

        Ok(PreparedBlock {
            block,
            block_hash,
            decoded,
            tx_ids,
            tx_root,
            sig_ok,
            timings,
            gpu_timings,
            fallbacks,
            hash_device: hashed.device,
            verify_device,
            key_cache,
            prepare_ns,
        })
    }

    /// The state stages of a prepared block: header check, resolve, schedule, execute,
    /// commit. On any error the state is exactly as before.
    pub(crate) fn apply_prepared(
        &self,
        state: &mut State,
        prepared: PreparedBlock<'_>,
    ) -> Result<BlockOutcome> {
        let t_start = Instant::now();
        let PreparedBlock {
            block,
            block_hash,
            decoded,
            tx_ids,
            tx_root,
            sig_ok,
            mut timings,
            mut gpu_timings,
            mut fallbacks,
            hash_device,
            verify_device,
            key_cache,
            prepare_ns,
        } = prepared;
        let block: &Block = &block;
        let lap = |t: &mut Instant| {
            let ns = t.elapsed().as_nanos() as u64;
            *t = Instant::now();
            ns
        };
        let mut t = Instant::now();

        if let Some(g) = &self.gpu {
            g.resident.begin_block();
        }
        block.check_follows(state.height(), state.last_block_hash())?;
        timings.decode_ns += lap(&mut t);

        // Resolve, with an undo log of everything the block may write. Resolve only
        // creates accounts: until the full undo log exists, rolling back means dropping
        // them. A panic in either part rolls back as an error does.
        let creations = state.undo_log(state.account_count(), &[], &[]);
        let resolving = catch_panic("apply (resolve)", || {
            let current = &*state;
            let looked_up = self.staged(
                "resolve",
                &mut fallbacks,
                |g| {
                    g.resolver
                        .known_accounts(&g.ctx, &g.resident, current, &decoded, &sig_ok)
                },
                || resolve::cpu::known_accounts(current, &decoded, &sig_ok),
            )?;
            let resolved = resolve::resolve_known(state, block, &decoded, &sig_ok, looked_up.value);
            Ok((looked_up.device, looked_up.timings, resolved))
        });
        let (resolve_device, resolve_timings, resolved) = match resolving {
            Ok(v) => v,
            Err(e) => {
                state.rollback(creations);
                return Err(e);
            }
        };
        gpu_timings.resolve = resolve_timings;
        let writable = resolved.writable(state.pools().len());
        let undo = state.undo_log(
            resolved.accounts_before,
            &writable.accounts,
            &writable.pools,
        );
        timings.resolve_ns = lap(&mut t);

        // From here on the state changes: any error rolls it back.
        let after = catch_panic("apply (execute, commit)", || {
            self.execute_and_commit(
                state,
                block,
                &resolved,
                &writable.accounts,
                &tx_ids,
                &mut timings,
                &mut gpu_timings,
                &mut fallbacks,
            )
        });
        let Executed {
            sched,
            receipts,
            roots,
            execute_device,
            commit_device,
        } = match after {
            Ok(v) => v,
            Err(e) => {
                state.rollback(undo);
                return Err(e);
            }
        };
        t = Instant::now();
        state.set_tip(block.height, block_hash);
        timings.commit_ns += lap(&mut t);
        timings.total_ns = prepare_ns + t_start.elapsed().as_nanos() as u64;

        Ok(BlockOutcome {
            height: block.height,
            receipts,
            tx_root,
            receipts_root: roots.receipts_root,
            state_root: roots.state_root,
            block_hash,
            waves: sched.wave_count(),
            largest_wave: sched.largest_wave(),
            accounts_rehashed: roots.accounts_rehashed,
            timings,
            devices: StageDevices {
                hash: hash_device,
                verify: verify_device,
                resolve: resolve_device,
                execute: execute_device,
                commit: commit_device,
            },
            gpu_timings,
            fallbacks,
            key_cache,
            schedule: sched,
        })
    }

    /// Schedule, execute and commit. Mutates `state`; the caller rolls back on error.
    #[allow(clippy::too_many_arguments)]
    fn execute_and_commit(
        &self,
        state: &mut State,
        block: &Block,
        resolved: &ResolvedBlock,
        writable_accounts: &[u32],
        tx_ids: &[[u8; 32]],
        timings: &mut StageTimings,
        gpu_timings: &mut StageGpuTimings,
        fallbacks: &mut Vec<String>,
    ) -> Result<Executed> {
        let mut t = Instant::now();
        // Execution edits only `writable_accounts` (and appends nothing): the commit stages
        // rehash those when their kept leaves match the state as it is now.
        let since = state.sync_tag();
        let sched = schedule::Schedule::build(resolved, state.account_count());
        timings.schedule_ns = t.elapsed().as_nanos() as u64;
        t = Instant::now();

        // The GPU writes the host state only after it succeeded, so under Auto the CPU
        // executor starts from the untouched state.
        let executed = self.staged_mut(
            "execute",
            fallbacks,
            state,
            |g, state| g.exec.execute(&g.ctx, &g.resident, state, resolved, &sched),
            |state| exec::waves::execute_waves(state, resolved, &sched),
        )?;
        let results = executed.value;
        let execute_device = executed.device;
        self.fault_point(super::PanicPoint::Apply, block.height);
        gpu_timings.execute = executed.timings;
        timings.execute_ns = t.elapsed().as_nanos() as u64;
        t = Instant::now();

        let receipts: Vec<Receipt> = tx_ids
            .iter()
            .zip(&results)
            .enumerate()
            .map(|(i, (&tx_id, &result))| resolved.receipt(i, tx_id, result))
            .collect();
        let committed = self.staged(
            "commit",
            fallbacks,
            |g| {
                g.commit.commit(
                    &g.ctx,
                    &g.hasher,
                    &g.resident,
                    state,
                    &receipts,
                    since,
                    writable_accounts,
                )
            },
            || {
                self.cpu_commit
                    .commit(state, &receipts, since, writable_accounts)
            },
        )?;
        let roots: Committed = committed.value;
        gpu_timings.commit = committed.timings;
        if let Some(claimed) = block.claimed_root()
            && claimed != roots.state_root
        {
            return Err(Error::StateRootMismatch {
                height: block.height,
                claimed,
                computed: roots.state_root,
            });
        }
        timings.commit_ns = t.elapsed().as_nanos() as u64;
        Ok(Executed {
            sched,
            receipts,
            roots,
            execute_device,
            commit_device: committed.device,
        })
    }
}

/// What the state-changing half of the pipeline produced.
struct Executed {
    sched: schedule::Schedule,
    receipts: Vec<Receipt>,
    roots: Committed,
    execute_device: Device,
    commit_device: Device,
}
