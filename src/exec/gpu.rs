//! GPU backend of the execute stage: a block's waves run in WGSL over state kept resident
//! on the device across blocks.
//!
//! Shaders: `shaders/u64.wgsl` (u64 as u32 pairs, the exact swap formula in 32-bit limbs)
//! followed by `shaders/exec.wgsl` (entry points `exec_segment` and `gather_changed`).
//! CPU twin: [`super::twin`], which also runs a whole block through the same plan on the
//! CPU so the plan and the kernels can be checked without a GPU.
//!
//! # Resident state
//! The device holds the state's columns as u32 pairs: nonces (two words per account), one
//! balance column per token (`account_cap` pairs each, so column `t` of account `a` is at
//! pair `t × account_cap + a`) and the pools, plus the pubkeys (8 words per account; the
//! commit stage hashes account leaves from them and the columns, [`crate::commit::leaves`])
//! and a pubkey → account hash table that the resolve stage looks accounts up in
//! ([`super::gpu_resolve`]). They are uploaded once and kept. Per block,
//! only the accounts appended since the last block (their host values, zero by
//! construction) and the block's ready txs go up; the receipts and, for every account and
//! pool the block may write (signers, recipients, the fee collector, swap pools), the
//! nonce, balances and reserves come back, and those accounts and pools are written into
//! the host [`State`] — which stays the source of truth. The host is written only after
//! the whole GPU call succeeded, so a failure leaves it untouched and `Auto` can run the
//! CPU executor on it.
//!
//! The device copy is trusted only while the host state is provably the one it mirrors:
//! the executor records the state's identity and edit count (`State::sync_tag`: a clone
//! is a new identity; any change to existing values, a rollback included, is an edit) and
//! the account count after each block. If the identity or edit count differs, accounts were
//! removed, the token or pool count changed, or the columns outgrow their capacity, the
//! whole state is uploaded again. Any GPU error drops the device copy. So a block rejected
//! after execution (a wrong claimed root: the engine rolls the host back) makes the next
//! block upload everything — correctness first; rejected blocks are rare.
//!
//! # Dispatches and hot chains
//! All segments of a block are recorded in one compute pass and one submit; each segment is
//! one dispatch of `exec_segment`, which finds its [`Segment`] (first entry of the wave-order
//! index list, count, mode) through a dynamic offset into a uniform buffer. wgpu puts a
//! barrier between dispatches that share a read_write buffer, so each segment sees the
//! previous one's writes. A wave of more than `serial_wave_max` ready txs is a parallel
//! segment (one invocation per tx). Consecutive waves of at most `serial_wave_max` txs are
//! merged into one serial segment that a single invocation runs in order (waves in order,
//! block order inside each, which is serial-equivalent), up to [`SERIAL_SEGMENT_MAX_TXS`]
//! txs per segment (lavapipe's loop limiter and driver watchdogs; see there).
//!
//! Why: a hot pool makes a chain of one-tx waves (every swap of the pool depends on the
//! previous one), and a dispatch plus its barrier costs more than one invocation executing
//! a tx (NOTES-wgpu: ~46 µs per dispatch in a 1000-dispatch pass on lavapipe, ~2 µs CPU-side
//! per dispatch on real GPUs before the barrier's own cost; a tx is a few hundred
//! arithmetic instructions). A rough guide, measured on lavapipe — a software adapter on 2
//! CPU cores, so CPU timings and not GPU speed, and noisy (±20% between runs) — with
//! `benches/exec_gpu.rs` (4096-tx blocks, dispatch + readback, ms, median; 128-tx serial
//! segments):
//!
//! | workload (waves, largest) | serial_max 0 | 1 | 4 | 16 | 64 | CPU in order |
//! |---|---|---|---|---|---|---|
//! | uniform (134, 468) | 9.4 | 4.2 | 3.8 | 6.6 | 4.8 | 0.04 |
//! | hot pool 30% (839, 331) | 51.2 | 44.1 | 18.9 | 4.6 | 5.3 | 0.05 |
//! | all one pool (4034, 1) | 124.2 | 6.0 | 7.4 | 7.8 | 5.4 | 0.06 |
//!
//! The all-one-pool chain goes from 4034 dispatches to 32 serial segments: about 20× on
//! lavapipe, where one dispatch costs about 30 µs and one invocation runs a tx in about
//! 1.2 µs, so waves up to ~25 txs are cheaper serial there ([`SOFTWARE_SERIAL_WAVE_MAX`]).
//! On a GPU one thread is far slower than a CPU core and a dispatch far cheaper, so the
//! break-even is a few txs ([`DEFAULT_SERIAL_WAVE_MAX`]); that value is an estimate not yet
//! measured on a GPU — [`GpuExecutor::set_serial_wave_max`] overrides it, and the bench
//! prints the curve for whatever adapter runs it.
//!
//! # Limits
//! A wave or gather list larger than one dispatch is split over several dispatches (nothing
//! in a wave conflicts). The balance columns must fit one storage binding
//! (`tokens × account_cap × 8` bytes), the pubkeys too (`account_cap × 32`), and so must a
//! block's txs and read-back words; a larger state or block fails with [`Error::Gpu`] and
//! `Auto` runs that block on the CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::exec::Status;
use crate::gpu::pool::{BatchLimits, GrowBuffer, PassTimer, Readback, elapsed_ns};
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash::gpu::{add_pass, allocated, entry};
use crate::resolve::{NO_ACCOUNT, Resolved, ResolvedBlock};
use crate::schedule::Schedule;
use crate::state::State;
use crate::tx::{Action, Direction};

pub use crate::commit::leaves::ResidentColumns;
use crate::exec::gpu_resolve::{AccountTable, ResidentTable};

/// `shaders/u64.wgsl`: u64 as u32 pairs and the exact swap formula (stands alone).
pub const U64_WGSL: &str = include_str!("../../shaders/u64.wgsl");
/// `shaders/exec.wgsl`: the execution entry points (needs [`U64_WGSL`] in front).
pub const EXEC_WGSL: &str = include_str!("../../shaders/exec.wgsl");
/// `shaders/exec_probe.wgsl`: the arithmetic test entry point (needs [`U64_WGSL`]).
pub const EXEC_PROBE_WGSL: &str = include_str!("../../shaders/exec_probe.wgsl");

/// Invocations per workgroup of every execution entry point; keep in sync with
/// `EXEC_WORKGROUP_SIZE` in shaders/exec.wgsl (and `PROBE_WORKGROUP_SIZE` in
/// shaders/exec_probe.wgsl).
pub const EXEC_WORKGROUP_SIZE: u32 = 64;
/// Kind of a transfer in [`ExecTx::kind`]; keep in sync with `TX_KIND_TRANSFER`.
pub const TX_KIND_TRANSFER: u32 = 1;
/// Kind of a swap in [`ExecTx::kind`]; keep in sync with `TX_KIND_SWAP`.
pub const TX_KIND_SWAP: u32 = 2;
/// [`ExecTx::direction`] of an A→B swap; keep in sync with `DIRECTION_A_TO_B`.
pub const DIRECTION_A_TO_B: u32 = 0;
/// [`ExecTx::direction`] of a B→A swap.
pub const DIRECTION_B_TO_A: u32 = 1;
/// [`Segment::mode`]: one invocation per entry; keep in sync with `SEGMENT_PARALLEL`.
pub const SEGMENT_PARALLEL: u32 = 0;
/// [`Segment::mode`]: invocation 0 runs every entry in order; keep in sync with
/// `SEGMENT_SERIAL`.
pub const SEGMENT_SERIAL: u32 = 1;
/// Words per receipt in the output buffer (status, amount_out low, high, 0); keep in sync
/// with `RECEIPT_WORDS`.
pub const RECEIPT_WORDS: usize = 4;
/// Words per gathered pool (reserve_a low, high, reserve_b low, high); keep in sync with
/// `POOL_GATHER_WORDS`.
pub const POOL_GATHER_WORDS: usize = 4;
/// Most txs one serial segment runs, so that one invocation never runs for long.
///
/// Bound: llvmpipe (lavapipe) stops any shader loop after 65,535 iterations counted over
/// the whole invocation, not per loop entry — a safety limiter in Mesa's gallivm; with
/// 4096 txs per segment, blocks of ~1000 swaps in one invocation came back wrong. One tx
/// runs at most 269 loop iterations (1 of the segment loop; in `swap_out` 3 for d, 9 for
/// the product rows, 64 division steps, and 3 for each of at most 64 `sub96` calls), so
/// 128 txs stay below 34,432 iterations. On GPUs the cap also keeps a dispatch far from
/// driver watchdogs; it costs one dispatch per 128 txs of a serial chain.
pub const SERIAL_SEGMENT_MAX_TXS: usize = 128;
/// Waves of at most this many ready txs join serial segments on a hardware adapter.
///
/// A wave of k txs as its own dispatch costs one dispatch and barrier; run serially it
/// costs k sequential tx executions. On a GPU a dispatch with its barrier costs a few µs,
/// and one thread runs a swap (64 division steps, a few dependent global loads) in the
/// order of a µs or more, so 4 keeps the one-to-few-tx tail of a hot-pool block in one
/// dispatch while any wave with real parallelism keeps its own. An estimate: not yet
/// measured on a GPU (see the module docs).
pub const DEFAULT_SERIAL_WAVE_MAX: usize = 4;

/// Waves of at most this many ready txs join serial segments on a software (CPU-type)
/// adapter such as lavapipe, where a dispatch costs as much as ~25 serial txs (measured,
/// module docs).
pub const SOFTWARE_SERIAL_WAVE_MAX: usize = 16;

/// Per-block parameters. Keep in sync with `ExecParams` in shaders/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ExecParams {
    /// Fee collector account index.
    pub fee_collector: u32,
    /// Number of tokens (balance columns).
    pub tokens: u32,
    /// Accounts per balance column on the device.
    pub account_cap: u32,
    /// Number of pools.
    pub n_pools: u32,
    /// Accounts `gather_changed` copies out.
    pub n_gather_accounts: u32,
    /// Pools `gather_changed` copies out.
    pub n_gather_pools: u32,
    /// Word offset of the gathered columns in the output buffer.
    pub gather_offset: u32,
    /// Pads to 32 bytes.
    pub pad0: u32,
}

/// One dispatch of `exec_segment`. Keep in sync with `Segment` in shaders/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Segment {
    /// First entry of the order list.
    pub first: u32,
    /// Entries.
    pub count: u32,
    /// [`SEGMENT_PARALLEL`] or [`SEGMENT_SERIAL`].
    pub mode: u32,
    /// Pads to 16 bytes.
    pub pad0: u32,
}

/// A ready tx as the shader reads it. Keep in sync with `ExecTx` in shaders/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ExecTx {
    /// [`TX_KIND_TRANSFER`] or [`TX_KIND_SWAP`].
    pub kind: u32,
    /// Signer account index.
    pub signer: u32,
    /// Transfer recipient index, or [`NO_ACCOUNT`] for a swap.
    pub recipient: u32,
    /// Transfer: token. Swap: pool index.
    pub token_or_pool: u32,
    /// Swap: [`DIRECTION_A_TO_B`] or [`DIRECTION_B_TO_A`]; transfer: 0.
    pub direction: u32,
    /// Aligns `nonce` to 8 bytes as WGSL's `vec2<u32>`.
    pub pad0: u32,
    /// Nonce (low word, high word).
    pub nonce: [u32; 2],
    /// Fee.
    pub fee: [u32; 2],
    /// Transfer amount or swap amount_in.
    pub amount: [u32; 2],
    /// Swap min_out; transfer: 0.
    pub min_out: [u32; 2],
    /// Pads to 64 bytes.
    pub pad1: [u32; 2],
}

/// A pool as the shader reads it. Keep in sync with `PoolWords` in shaders/exec.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PoolWords {
    /// Token A.
    pub token_a: u32,
    /// Token B.
    pub token_b: u32,
    /// Fee in basis points.
    pub fee_bps: u32,
    /// Aligns the reserves to 8 bytes.
    pub pad0: u32,
    /// Reserve of A (low, high).
    pub reserve_a: [u32; 2],
    /// Reserve of B (low, high).
    pub reserve_b: [u32; 2],
}

/// One input of the `swap_out_probe` test entry point. Keep in sync with `SwapProbe` in
/// shaders/exec_probe.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SwapProbe {
    /// Amount sold.
    pub amount_in: [u32; 2],
    /// Reserve of the sold token.
    pub reserve_in: [u32; 2],
    /// Reserve of the bought token.
    pub reserve_out: [u32; 2],
    /// Pool fee.
    pub fee_bps: u32,
    /// Pads to 32 bytes.
    pub pad0: u32,
}

/// A u64 as (low word, high word).
pub fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

/// The u64 of (low word, high word).
pub fn join(w: [u32; 2]) -> u64 {
    u64::from(w[0]) | (u64::from(w[1]) << 32)
}

/// A pool in the shader's layout.
pub fn pool_words(p: &crate::state::Pool) -> PoolWords {
    PoolWords {
        token_a: u32::from(p.token_a),
        token_b: u32::from(p.token_b),
        fee_bps: u32::from(p.fee_bps),
        pad0: 0,
        reserve_a: split(p.reserve_a),
        reserve_b: split(p.reserve_b),
    }
}

/// Everything a block uploads, and how to read its results: built on the host, shared by
/// the GPU executor and the CPU twin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockPlan {
    /// The ready txs, block order.
    pub txs: Vec<ExecTx>,
    /// Block index of each entry of `txs`.
    pub tx_index: Vec<u32>,
    /// Indices into `txs`, wave by wave, block order inside a wave.
    pub order: Vec<u32>,
    /// One per dispatch of `exec_segment`, in order.
    pub segments: Vec<Segment>,
    /// One per dispatch of `gather_changed`: ranges of the gather list.
    pub gather_segments: Vec<Segment>,
    /// Accounts the block may write, ascending.
    pub gather_accounts: Vec<u32>,
    /// Existing pools the block may write, ascending.
    pub gather_pools: Vec<u32>,
    /// Fee collector index.
    pub fee_collector: u32,
}

impl BlockPlan {
    /// Lays out the ready txs of `resolved` wave by wave as `sched` orders them, for a state
    /// with `accounts` accounts and `pools` pools. Waves of at most `serial_wave_max` ready
    /// txs join serial segments; a larger wave is one parallel segment, or several of at
    /// most `max_parallel` txs when one dispatch cannot cover it (nothing in a wave
    /// conflicts, so its parts may run one after the other). Fails on an index the state
    /// does not have.
    pub fn build(
        resolved: &ResolvedBlock,
        sched: &Schedule,
        accounts: usize,
        pools: usize,
        serial_wave_max: usize,
        max_parallel: usize,
    ) -> Result<BlockPlan> {
        let max_parallel = max_parallel.max(1);
        let bad = |what: String| Error::InvalidArgument(format!("execute plan: {what}"));
        let mut plan = BlockPlan {
            fee_collector: resolved.fee_collector,
            ..Default::default()
        };
        let mut compact = vec![NO_ACCOUNT; resolved.txs.len()];
        for (i, r) in resolved.txs.iter().enumerate() {
            let Resolved::Ready(r) = r else { continue };
            let in_range = |a: u32| (a as usize) < accounts;
            if !in_range(r.signer) || !in_range(resolved.fee_collector) {
                return Err(bad(format!(
                    "tx {i}: signer {} or fee collector {} not below {accounts} accounts",
                    r.signer, resolved.fee_collector
                )));
            }
            let mut tx = ExecTx {
                signer: r.signer,
                recipient: r.recipient,
                nonce: split(r.tx.nonce),
                fee: split(r.tx.fee),
                ..Default::default()
            };
            match r.tx.action {
                Action::Transfer(t) => {
                    if !in_range(r.recipient) {
                        return Err(bad(format!("tx {i}: recipient {} unknown", r.recipient)));
                    }
                    tx.kind = TX_KIND_TRANSFER;
                    tx.token_or_pool = u32::from(t.token);
                    tx.amount = split(t.amount);
                }
                Action::Swap(s) => {
                    tx.kind = TX_KIND_SWAP;
                    tx.token_or_pool = s.pool;
                    tx.direction = match s.direction {
                        Direction::AtoB => DIRECTION_A_TO_B,
                        Direction::BtoA => DIRECTION_B_TO_A,
                    };
                    tx.amount = split(s.amount_in);
                    tx.min_out = split(s.min_out);
                    if (s.pool as usize) < pools {
                        plan.gather_pools.push(s.pool);
                    }
                }
            }
            plan.gather_accounts.push(r.signer);
            if r.recipient != NO_ACCOUNT {
                plan.gather_accounts.push(r.recipient);
            }
            compact[i] = plan.txs.len() as u32;
            plan.txs.push(tx);
            plan.tx_index.push(i as u32);
        }
        if !plan.txs.is_empty() {
            plan.gather_accounts.push(resolved.fee_collector);
        }
        plan.gather_accounts.sort_unstable();
        plan.gather_accounts.dedup();
        plan.gather_pools.sort_unstable();
        plan.gather_pools.dedup();

        for wave in sched.waves() {
            let first = plan.order.len();
            plan.order.extend(
                wave.iter()
                    .filter_map(|&i| compact.get(i as usize).copied())
                    .filter(|&c| c != NO_ACCOUNT),
            );
            let count = plan.order.len() - first;
            if count == 0 {
                continue;
            }
            let serial = count <= serial_wave_max;
            let joins = serial
                && plan.segments.last().is_some_and(|s| {
                    s.mode == SEGMENT_SERIAL && s.count as usize + count <= SERIAL_SEGMENT_MAX_TXS
                });
            if joins {
                if let Some(last) = plan.segments.last_mut() {
                    last.count += count as u32;
                }
            } else if serial {
                plan.segments.push(Segment {
                    first: first as u32,
                    count: count as u32,
                    mode: SEGMENT_SERIAL,
                    pad0: 0,
                });
            } else {
                for start in (first..first + count).step_by(max_parallel) {
                    plan.segments.push(Segment {
                        first: start as u32,
                        count: max_parallel.min(first + count - start) as u32,
                        mode: SEGMENT_PARALLEL,
                        pad0: 0,
                    });
                }
            }
        }
        let gather_n = plan.gather_accounts.len() + plan.gather_pools.len();
        for start in (0..gather_n).step_by(max_parallel) {
            plan.gather_segments.push(Segment {
                first: start as u32,
                count: max_parallel.min(gather_n - start) as u32,
                mode: SEGMENT_PARALLEL,
                pad0: 0,
            });
        }
        if plan.order.len() != plan.txs.len() {
            return Err(bad(format!(
                "the schedule places {} of {} ready txs",
                plan.order.len(),
                plan.txs.len()
            )));
        }
        Ok(plan)
    }

    /// Words per gathered account: nonce and one balance per token, two words each.
    pub fn account_words(tokens: usize) -> usize {
        2 + 2 * tokens
    }

    /// Word offset of the gathered columns in the output buffer.
    pub fn gather_offset(&self) -> usize {
        RECEIPT_WORDS * self.txs.len()
    }

    /// Words of the output buffer.
    pub fn out_words(&self, tokens: usize) -> usize {
        self.gather_offset()
            + self.gather_accounts.len() * Self::account_words(tokens)
            + self.gather_pools.len() * POOL_GATHER_WORDS
    }

    /// Gather list: account indices, then pool indices.
    pub fn gather_list(&self) -> Vec<u32> {
        let mut g = self.gather_accounts.clone();
        g.extend_from_slice(&self.gather_pools);
        g
    }

    /// The shader's parameters for this plan.
    pub fn params(&self, tokens: usize, account_cap: usize, pools: usize) -> ExecParams {
        ExecParams {
            fee_collector: self.fee_collector,
            tokens: tokens as u32,
            account_cap: account_cap as u32,
            n_pools: pools as u32,
            n_gather_accounts: self.gather_accounts.len() as u32,
            n_gather_pools: self.gather_pools.len() as u32,
            gather_offset: self.gather_offset() as u32,
            pad0: 0,
        }
    }

    /// Turns the output buffer into (status, amount_out) per tx of the block (statuses of
    /// txs that never executed come from `resolved`) and checks it before anything is
    /// written: an unknown status code is an error.
    pub fn results(&self, resolved: &ResolvedBlock, out: &[u32]) -> Result<Vec<(Status, u64)>> {
        let mut results: Vec<(Status, u64)> = resolved
            .txs
            .iter()
            .map(|r| match r {
                Resolved::Rejected(s) => (*s, 0),
                Resolved::UnknownSigner { .. } => (Status::UnknownSigner, 0),
                // Overwritten below: every ready tx has an entry in `txs`.
                Resolved::Ready(_) => (Status::Ok, 0),
            })
            .collect();
        for (k, &i) in self.tx_index.iter().enumerate() {
            let w = out
                .get(RECEIPT_WORDS * k..RECEIPT_WORDS * k + 3)
                .ok_or_else(|| gpu_err("execute readback", "receipts cut short".into()))?;
            let status = u8::try_from(w[0])
                .ok()
                .and_then(Status::from_code)
                .ok_or_else(|| {
                    gpu_err(
                        "execute readback",
                        format!("tx {i}: status code {} out of range", w[0]),
                    )
                })?;
            results[i as usize] = (status, join([w[1], w[2]]));
        }
        Ok(results)
    }

    /// Writes the gathered columns into `state`. Call only once every check passed: this
    /// is the one place the GPU path changes the host state.
    pub fn write_back(&self, state: &mut State, out: &[u32]) -> Result<()> {
        let tokens = state.tokens();
        let aw = Self::account_words(tokens);
        let base = self.gather_offset();
        let needed = self.out_words(tokens);
        if out.len() < needed {
            return Err(gpu_err(
                "execute readback",
                format!("{} words read back, {needed} expected", out.len()),
            ));
        }
        let gathered = &out[base..needed];
        let (accounts, pools) = gathered.split_at(self.gather_accounts.len() * aw);
        for (&a, w) in self.gather_accounts.iter().zip(accounts.chunks_exact(aw)) {
            state.nonces_mut()[a as usize] = join([w[0], w[1]]);
            let balances = state.balances_mut();
            for (t, col) in balances.iter_mut().enumerate() {
                col[a as usize] = join([w[2 + 2 * t], w[3 + 2 * t]]);
            }
        }
        let all = state.pools_mut();
        for (&p, w) in self
            .gather_pools
            .iter()
            .zip(pools.chunks_exact(POOL_GATHER_WORDS))
        {
            let pool = &mut all[p as usize];
            pool.reserve_a = join([w[0], w[1]]);
            pool.reserve_b = join([w[2], w[3]]);
        }
        Ok(())
    }
}

fn gpu_err(stage: &'static str, what: String) -> Error {
    Error::Gpu { stage, what }
}

/// The composed execution module.
pub fn exec_module() -> String {
    format!("{U64_WGSL}\n{EXEC_WGSL}")
}

/// The composed arithmetic test module.
pub fn exec_probe_module() -> String {
    format!("{U64_WGSL}\n{EXEC_PROBE_WGSL}")
}

/// Every WGSL module this file compiles, by name, as the device receives it.
#[doc(hidden)]
pub fn wgsl_modules() -> Vec<(&'static str, String)> {
    vec![("exec", exec_module()), ("exec_probe", exec_probe_module())]
}

/// What the device copy mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resident {
    /// `State::sync_tag` after the last block this copy took part in.
    tag: (u64, u64),
    /// Accounts on the device.
    accounts: usize,
    /// Accounts per balance column.
    account_cap: usize,
    tokens: usize,
    pools: usize,
}

/// What the executor keeps between blocks.
#[derive(Debug)]
struct ExecBuffers {
    pubkeys: GrowBuffer,
    /// The pubkey → account table of the resolve stage, and its host copy.
    table: GrowBuffer,
    table_host: Option<AccountTable>,
    nonces: GrowBuffer,
    balances: GrowBuffer,
    pools: GrowBuffer,
    params: GrowBuffer,
    segments: GrowBuffer,
    txs: GrowBuffer,
    order: GrowBuffer,
    gather: GrowBuffer,
    out: GrowBuffer,
    readback: Readback,
    timer: Option<PassTimer>,
    resident: Option<Resident>,
}

impl ExecBuffers {
    /// Drops every buffer and the device copy of the state.
    fn clear(&mut self) {
        for b in [
            &mut self.pubkeys,
            &mut self.table,
            &mut self.nonces,
            &mut self.balances,
            &mut self.pools,
            &mut self.params,
            &mut self.segments,
            &mut self.txs,
            &mut self.order,
            &mut self.gather,
            &mut self.out,
        ] {
            b.clear();
        }
        self.readback = Readback::default();
        self.resident = None;
        self.table_host = None;
    }
}

/// How a block's upload went: whether the whole state went up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// The whole state was uploaded (first block, another state, a rollback, growth).
    pub full_upload: bool,
    /// Accounts uploaded.
    pub accounts_uploaded: usize,
}

/// Executes blocks on the GPU over resident state, bit-identical to the reference.
pub struct GpuExecutor {
    exec: wgpu::ComputePipeline,
    gather: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    limits: BatchLimits,
    segment_stride: u64,
    serial_wave_max: usize,
    /// Hash key of the account table (random per executor).
    table_key: [u8; 32],
    buffers: Mutex<ExecBuffers>,
    last_sync: Mutex<SyncReport>,
    fault_after_dispatch: AtomicBool,
}

impl std::fmt::Debug for GpuExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuExecutor")
            .field("limits", &self.limits)
            .field("serial_wave_max", &self.serial_wave_max)
            .finish()
    }
}

fn layout_entry(
    binding: u32,
    ty: wgpu::BufferBindingType,
    dynamic: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Bytes of a u64 column as u32 pairs (low word first), little-endian as the device reads.
fn column_bytes(col: &[u64]) -> Vec<u8> {
    col.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn words_from_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

impl GpuExecutor {
    /// Compiles the execution pipelines for the device behind `ctx`.
    pub fn new(ctx: &GpuContext) -> Result<Self> {
        use wgpu::BufferBindingType as B;
        let storage = |read_only| B::Storage { read_only };
        let (exec, gather, layout) = ctx.scoped("exec.wgsl", || {
            let dev = &ctx.device;
            let layout = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("exec"),
                entries: &[
                    layout_entry(0, B::Uniform, true),
                    layout_entry(1, B::Uniform, false),
                    layout_entry(2, storage(true), false),
                    layout_entry(3, storage(true), false),
                    layout_entry(4, storage(false), false),
                    layout_entry(5, storage(false), false),
                    layout_entry(6, storage(false), false),
                    layout_entry(7, storage(false), false),
                    layout_entry(8, storage(true), false),
                ],
            });
            let pipeline_layout = dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("exec"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("exec.wgsl"),
                source: wgpu::ShaderSource::Wgsl(exec_module().into()),
            });
            let pipeline = |entry: &'static str| {
                dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
            };
            (pipeline("exec_segment"), pipeline("gather_changed"), layout)
        })?;
        let timer = ctx.scoped("exec timer", || PassTimer::new(ctx))?;
        let rw = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
        Ok(Self {
            exec,
            gather,
            layout,
            limits: BatchLimits::of(ctx),
            segment_stride: u64::from(ctx.limits.min_uniform_buffer_offset_alignment)
                .max(std::mem::size_of::<Segment>() as u64),
            table_key: crate::exec::gpu_resolve::random_key(),
            serial_wave_max: if ctx.adapter.device_type == "Cpu" {
                SOFTWARE_SERIAL_WAVE_MAX
            } else {
                DEFAULT_SERIAL_WAVE_MAX
            },
            buffers: Mutex::new(ExecBuffers {
                pubkeys: GrowBuffer::new("exec pubkeys", rw),
                table: GrowBuffer::new("exec account table", rw),
                table_host: None,
                nonces: GrowBuffer::new("exec nonces", rw),
                balances: GrowBuffer::new("exec balances", rw),
                pools: GrowBuffer::new("exec pools", rw),
                params: GrowBuffer::new("exec params", uniform),
                segments: GrowBuffer::new("exec segments", uniform),
                txs: GrowBuffer::new("exec txs", rw),
                order: GrowBuffer::new("exec order", rw),
                gather: GrowBuffer::new("exec gather", rw),
                out: GrowBuffer::new(
                    "exec out",
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                readback: Readback::default(),
                timer,
                resident: None,
            }),
            last_sync: Mutex::new(SyncReport::default()),
            fault_after_dispatch: AtomicBool::new(false),
        })
    }

    /// Waves of at most this many ready txs join serial segments (0: every wave is its own
    /// parallel dispatch).
    pub fn serial_wave_max(&self) -> usize {
        self.serial_wave_max
    }

    /// Sets the wave size up to which waves join serial segments (see the module docs).
    pub fn set_serial_wave_max(&mut self, n: usize) {
        self.serial_wave_max = n;
    }

    /// The limits blocks are checked against.
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Replaces the limits, so tests can force the too-large paths on any adapter.
    #[doc(hidden)]
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.limits = limits;
    }

    fn lock(&self) -> MutexGuard<'_, ExecBuffers> {
        // A panic while holding the lock could leave a half-updated device copy: drop it.
        self.buffers.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.clear();
            g
        })
    }

    /// Drops the device copy of the state: the next block uploads it whole.
    pub fn invalidate(&self) {
        self.lock().resident = None;
    }

    /// Makes the next block fail with [`Error::Gpu`] after its dispatch and readback, when
    /// the device columns already hold the block's effects but the host does not, so tests
    /// can check that the host stays untouched and the device copy is dropped.
    #[doc(hidden)]
    pub fn inject_fault_after_dispatch(&self) {
        self.fault_after_dispatch.store(true, Ordering::SeqCst);
    }

    /// How the state went up during the last block an engine processed (its resolve,
    /// execute and commit stages share this device copy): whether it went up whole, and
    /// how many accounts. Counts every upload since [`GpuExecutor::begin_block`].
    pub fn last_sync(&self) -> SyncReport {
        *self.last_sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts counting a new block's uploads for [`GpuExecutor::last_sync`].
    pub fn begin_block(&self) {
        *self.last_sync.lock().unwrap_or_else(|p| p.into_inner()) = SyncReport::default();
    }

    /// Executes the ready txs of `resolved` in the waves of `sched` and writes what changed
    /// into `state`; returns (status, amount_out) per tx of the block. On error `state` is
    /// untouched and the device copy dropped.
    pub fn execute(
        &self,
        ctx: &GpuContext,
        state: &mut State,
        resolved: &ResolvedBlock,
        sched: &Schedule,
    ) -> Result<(Vec<(Status, u64)>, GpuTimings)> {
        let mut timings = GpuTimings::default();
        let plan = BlockPlan::build(
            resolved,
            sched,
            state.account_count(),
            state.pools().len(),
            self.serial_wave_max,
            usize::try_from(self.limits.max_invocations(EXEC_WORKGROUP_SIZE)).unwrap_or(usize::MAX),
        )?;
        if plan.txs.is_empty() {
            // Nothing executes; appended accounts are picked up by the next upload.
            return Ok((plan.results(resolved, &[])?, timings));
        }
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let result = self.run(ctx, bufs, state, &plan, &mut timings);
        match result {
            Ok(out) => {
                let results = plan.results(resolved, &out);
                match results.and_then(|r| plan.write_back(state, &out).map(|()| r)) {
                    Ok(r) => {
                        if let Some(res) = &mut bufs.resident {
                            res.tag = state.sync_tag();
                        }
                        Ok((r, timings))
                    }
                    Err(e) => {
                        bufs.clear();
                        Err(e)
                    }
                }
            }
            Err(e) => {
                bufs.clear();
                Err(e)
            }
        }
    }

    /// Brings the device copy up to date with `state` (the appended accounts, or everything
    /// when it mirrors another state) and hands its columns and account table to `f`: the
    /// resolve stage looks accounts up in them, the commit stage hashes leaves from them.
    /// An upload error drops the device copy; an error of `f` leaves it (`f` only reads).
    pub fn with_resident<T>(
        &self,
        ctx: &GpuContext,
        state: &State,
        f: impl FnOnce(ResidentColumns<'_>, ResidentTable<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let columns = self.sync(ctx, bufs, state).and_then(|_| {
            let stage = "resident state";
            let columns = ResidentColumns {
                pubkeys: allocated(stage, &bufs.pubkeys)?,
                nonces: allocated(stage, &bufs.nonces)?,
                balances: allocated(stage, &bufs.balances)?,
                pools: allocated(stage, &bufs.pools)?,
                account_cap: bufs.resident.map_or(0, |r| r.account_cap),
            };
            let table = ResidentTable {
                buffer: allocated(stage, &bufs.table)?,
                host: bufs.table_host.as_ref().ok_or(Error::Gpu {
                    stage,
                    what: "account table missing after upload".into(),
                })?,
            };
            Ok((columns, table))
        });
        match columns {
            Ok((columns, table)) => f(columns, table),
            Err(e) => {
                bufs.clear();
                Err(e)
            }
        }
    }

    /// Brings the device copy up to date with `state`: the appended accounts, or everything.
    fn sync(&self, ctx: &GpuContext, bufs: &mut ExecBuffers, state: &State) -> Result<SyncReport> {
        let n = state.account_count();
        let tokens = state.tokens();
        let pools = state.pools().len();
        let cap_bytes = self.limits.max_binding_bytes;
        let incremental = bufs.resident.filter(|r| {
            bufs.table_host.is_some()
                && r.tag == state.sync_tag()
                && r.tokens == tokens
                && r.pools == pools
                && r.accounts <= n
                && n <= r.account_cap
        });
        // The device copy is invalid from here until the block completes.
        bufs.resident = None;
        let (from, account_cap, full) = match incremental {
            Some(r) => (r.accounts, r.account_cap, false),
            None => {
                // The widest per-account column: the balances, or the 32-byte pubkeys.
                let column_bytes = |cap: usize| (cap as u64) * 8 * (tokens as u64).max(4);
                let fits = |cap: usize| column_bytes(cap) <= cap_bytes;
                let grown = n.max(1).next_power_of_two();
                let cap = if fits(grown) { grown } else { n.max(1) };
                if !fits(cap) {
                    return Err(gpu_err(
                        "execute upload",
                        format!(
                            "{n} accounts × {tokens} tokens need {}-byte columns (balances or pubkeys), above the device's {cap_bytes}-byte binding limit",
                            column_bytes(n)
                        ),
                    ));
                }
                (0, cap, true)
            }
        };
        let cap_u64 = account_cap as u64;
        ctx.scoped("execute upload", || -> Result<()> {
            let (dev, queue) = (&ctx.device, &ctx.queue);
            if full {
                // Fresh buffers: whatever they held belongs to no state we know.
                bufs.pubkeys.clear();
                bufs.table.clear();
                bufs.table_host = None;
                bufs.nonces.clear();
                bufs.balances.clear();
                bufs.pools.clear();
            }
            let pubkeys = bufs.pubkeys.ensure(dev, 32 * cap_u64, cap_bytes);
            if n > from {
                queue.write_buffer(
                    pubkeys,
                    32 * from as u64,
                    bytemuck::cast_slice(&state.pubkeys()[from..n]),
                );
            }
            // The account table: rebuilt with the columns, else the appended accounts
            // inserted and only the changed slots written.
            let slots = (2 * account_cap).next_power_of_two();
            let table = bufs.table.ensure(dev, 4 * slots as u64, cap_bytes);
            match (&mut bufs.table_host, full) {
                (Some(host), false) => {
                    let changed = host.append(&state.pubkeys()[from..n]);
                    if changed.len() > slots / 64 {
                        queue.write_buffer(table, 0, bytemuck::cast_slice(host.slots()));
                    } else {
                        for slot in changed {
                            queue.write_buffer(
                                table,
                                4 * u64::from(slot),
                                bytemuck::bytes_of(&host.slots()[slot as usize]),
                            );
                        }
                    }
                }
                _ => {
                    let host = AccountTable::new(self.table_key, slots, &state.pubkeys()[..n]);
                    queue.write_buffer(table, 0, bytemuck::cast_slice(host.slots()));
                    bufs.table_host = Some(host);
                }
            }
            let nonces = bufs.nonces.ensure(dev, 8 * cap_u64, cap_bytes);
            if n > from {
                queue.write_buffer(
                    nonces,
                    8 * from as u64,
                    &column_bytes(&state.nonces()[from..n]),
                );
            }
            let balances = bufs
                .balances
                .ensure(dev, 8 * cap_u64 * tokens as u64, cap_bytes);
            if n > from {
                for t in 0..tokens {
                    let at = 8 * (t as u64 * cap_u64 + from as u64);
                    queue.write_buffer(
                        balances,
                        at,
                        &column_bytes(&state.balance_column(t)[from..n]),
                    );
                }
            }
            let pool_bytes = (pools * std::mem::size_of::<PoolWords>()) as u64;
            let dev_pools = bufs.pools.ensure(dev, pool_bytes, cap_bytes);
            if full && pools > 0 {
                let words: Vec<PoolWords> = state.pools().iter().map(pool_words).collect();
                queue.write_buffer(dev_pools, 0, bytemuck::cast_slice(&words));
            }
            Ok(())
        })??;
        bufs.resident = Some(Resident {
            tag: state.sync_tag(),
            accounts: n,
            account_cap,
            tokens,
            pools,
        });
        let report = SyncReport {
            full_upload: full,
            accounts_uploaded: n - from,
        };
        let mut block = self.last_sync.lock().unwrap_or_else(|p| p.into_inner());
        block.full_upload |= report.full_upload;
        block.accounts_uploaded += report.accounts_uploaded;
        Ok(report)
    }

    fn run(
        &self,
        ctx: &GpuContext,
        bufs: &mut ExecBuffers,
        state: &State,
        plan: &BlockPlan,
        t: &mut GpuTimings,
    ) -> Result<Vec<u32>> {
        let tokens = state.tokens();
        let pools = state.pools().len();
        let cap_bytes = self.limits.max_binding_bytes;
        let out_bytes = 4 * plan.out_words(tokens) as u64;
        let tx_bytes = (plan.txs.len() * std::mem::size_of::<ExecTx>()) as u64;
        for (what, bytes) in [
            ("receipts and gathered columns", out_bytes),
            ("txs", tx_bytes),
        ] {
            if bytes > cap_bytes {
                return Err(gpu_err(
                    "execute upload",
                    format!(
                        "{what} need {bytes} bytes, above the device's {cap_bytes}-byte binding limit"
                    ),
                ));
            }
        }
        let grids = plan
            .segments
            .iter()
            .map(|s| {
                let n = if s.mode == SEGMENT_SERIAL {
                    1
                } else {
                    u64::from(s.count)
                };
                self.limits.grid(n, EXEC_WORKGROUP_SIZE)
            })
            .collect::<Result<Vec<_>>>()?;
        let gather_grids = plan
            .gather_segments
            .iter()
            .map(|s| self.limits.grid(u64::from(s.count), EXEC_WORKGROUP_SIZE))
            .collect::<Result<Vec<_>>>()?;
        let all_segments: Vec<Segment> = plan
            .segments
            .iter()
            .chain(&plan.gather_segments)
            .copied()
            .collect();
        let stride = self.segment_stride;
        if stride * all_segments.len() as u64 > u64::from(u32::MAX) {
            return Err(gpu_err(
                "execute upload",
                format!(
                    "{} dispatches exceed the dynamic-offset range",
                    all_segments.len()
                ),
            ));
        }

        let upload = Instant::now();
        self.sync(ctx, bufs, state)?;
        let account_cap = bufs.resident.map_or(0, |r| r.account_cap);
        ctx.scoped("execute upload", || {
            let (dev, queue) = (&ctx.device, &ctx.queue);
            let params = plan.params(tokens, account_cap, pools);
            queue.write_buffer(
                bufs.params.ensure(dev, 32, 256),
                0,
                bytemuck::bytes_of(&params),
            );
            let segments = bufs
                .segments
                .ensure(dev, stride * all_segments.len() as u64, u64::MAX);
            let mut seg_bytes = vec![0u8; (stride as usize) * all_segments.len()];
            for (k, s) in all_segments.iter().enumerate() {
                let at = k * stride as usize;
                seg_bytes[at..at + 16].copy_from_slice(bytemuck::bytes_of(s));
            }
            queue.write_buffer(segments, 0, &seg_bytes);
            queue.write_buffer(
                bufs.txs.ensure(dev, tx_bytes, cap_bytes),
                0,
                bytemuck::cast_slice(&plan.txs),
            );
            queue.write_buffer(
                bufs.order
                    .ensure(dev, 4 * plan.order.len() as u64, cap_bytes),
                0,
                bytemuck::cast_slice(&plan.order),
            );
            let gather = plan.gather_list();
            queue.write_buffer(
                bufs.gather.ensure(dev, 4 * gather.len() as u64, cap_bytes),
                0,
                bytemuck::cast_slice(&gather),
            );
            bufs.out.ensure(dev, out_bytes, cap_bytes);
            queue.submit([]);
        })?;
        ctx.wait("execute upload")?;
        t.upload_ns += elapsed_ns(upload);

        let dispatch = Instant::now();
        ctx.scoped("execute dispatch", || -> Result<()> {
            let stage = "execute dispatch";
            let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("exec"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: allocated(stage, &bufs.segments)?,
                            offset: 0,
                            size: wgpu::BufferSize::new(std::mem::size_of::<Segment>() as u64),
                        }),
                    },
                    entry(1, allocated(stage, &bufs.params)?),
                    entry(2, allocated(stage, &bufs.txs)?),
                    entry(3, allocated(stage, &bufs.order)?),
                    entry(4, allocated(stage, &bufs.nonces)?),
                    entry(5, allocated(stage, &bufs.balances)?),
                    entry(6, allocated(stage, &bufs.pools)?),
                    entry(7, allocated(stage, &bufs.out)?),
                    entry(8, allocated(stage, &bufs.gather)?),
                ],
            });
            let mut enc = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(stage) });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("execute waves"),
                    timestamp_writes: bufs.timer.as_ref().map(PassTimer::writes),
                });
                pass.set_pipeline(&self.exec);
                for (k, grid) in grids.iter().enumerate() {
                    // The offset fits u32: the buffer was created with this many strides.
                    pass.set_bind_group(0, &group, &[(k as u64 * stride) as u32]);
                    pass.dispatch_workgroups(grid[0], grid[1], 1);
                }
                pass.set_pipeline(&self.gather);
                for (k, grid) in gather_grids.iter().enumerate() {
                    let at = (grids.len() + k) as u64 * stride;
                    pass.set_bind_group(0, &group, &[at as u32]);
                    pass.dispatch_workgroups(grid[0], grid[1], 1);
                }
            }
            if let Some(timer) = &bufs.timer {
                timer.resolve(&mut enc);
            }
            ctx.queue.submit([enc.finish()]);
            Ok(())
        })??;
        ctx.wait("execute dispatch")?;
        t.dispatch_ns += elapsed_ns(dispatch);

        let out = allocated("execute readback", &bufs.out)?;
        let (bytes, pass_ns) = bufs.readback.read(
            ctx,
            "execute readback",
            out,
            out_bytes,
            bufs.timer.as_ref().as_slice(),
            &mut t.readback_ns,
        )?;
        add_pass(t, pass_ns);
        if self.fault_after_dispatch.swap(false, Ordering::SeqCst) {
            return Err(gpu_err(
                "execute readback",
                "injected fault (GpuExecutor::inject_fault_after_dispatch)".into(),
            ));
        }
        Ok(words_from_bytes(&bytes))
    }
}

/// Runs the `swap_out_probe` test entry point on `probes`: per probe, the shader's
/// `swap_out` and `mul_wide(amount_in low, reserve_out high)`, as (out, product).
#[doc(hidden)]
pub fn swap_out_probe_on_gpu(ctx: &GpuContext, probes: &[SwapProbe]) -> Result<Vec<(u64, u64)>> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let limits = BatchLimits::of(ctx);
    let grid = limits.grid(probes.len() as u64, EXEC_WORKGROUP_SIZE)?;
    let [pipeline] = crate::hash::gpu::pipelines(
        ctx,
        "exec_probe.wgsl",
        &exec_probe_module(),
        ["swap_out_probe"],
    )?;
    let out_bytes = 16 * probes.len() as u64;
    let out = ctx.scoped("exec probe", || {
        let dev = &ctx.device;
        let input = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exec probes"),
            size: std::mem::size_of_val(probes) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue
            .write_buffer(&input, 0, bytemuck::cast_slice(probes));
        let out = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exec probe out"),
            size: out_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("swap_out_probe"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[entry(0, &input), entry(1, &out)],
        });
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("exec probe"),
        });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("swap_out_probe"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(grid[0], grid[1], 1);
        }
        ctx.queue.submit([enc.finish()]);
        out
    })?;
    let bytes = ctx.read_back("exec probe readback", &out, out_bytes)?;
    let words = words_from_bytes(&bytes);
    Ok(words
        .chunks_exact(4)
        .map(|w| (join([w[0], w[1]]), join([w[2], w[3]])))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn shared_structs_match_the_wgsl_layout() {
        // WGSL: struct ExecParams { fee_collector, tokens, account_cap, n_pools,
        // n_gather_accounts, n_gather_pools, gather_offset, pad0 } — 32 bytes.
        assert_eq!(size_of::<ExecParams>(), 32);
        assert_eq!(offset_of!(ExecParams, fee_collector), 0);
        assert_eq!(offset_of!(ExecParams, tokens), 4);
        assert_eq!(offset_of!(ExecParams, account_cap), 8);
        assert_eq!(offset_of!(ExecParams, n_pools), 12);
        assert_eq!(offset_of!(ExecParams, n_gather_accounts), 16);
        assert_eq!(offset_of!(ExecParams, n_gather_pools), 20);
        assert_eq!(offset_of!(ExecParams, gather_offset), 24);
        // WGSL: struct Segment { first, count, mode, pad0 } — 16 bytes.
        assert_eq!(size_of::<Segment>(), 16);
        assert_eq!(offset_of!(Segment, first), 0);
        assert_eq!(offset_of!(Segment, count), 4);
        assert_eq!(offset_of!(Segment, mode), 8);
        // WGSL: struct ExecTx — vec2<u32> members are 8-aligned: nonce at 24, size 64.
        assert_eq!(size_of::<ExecTx>(), 64);
        assert_eq!(offset_of!(ExecTx, kind), 0);
        assert_eq!(offset_of!(ExecTx, signer), 4);
        assert_eq!(offset_of!(ExecTx, recipient), 8);
        assert_eq!(offset_of!(ExecTx, token_or_pool), 12);
        assert_eq!(offset_of!(ExecTx, direction), 16);
        assert_eq!(offset_of!(ExecTx, nonce), 24);
        assert_eq!(offset_of!(ExecTx, fee), 32);
        assert_eq!(offset_of!(ExecTx, amount), 40);
        assert_eq!(offset_of!(ExecTx, min_out), 48);
        // WGSL: struct PoolWords { token_a, token_b, fee_bps, pad0, reserve_a, reserve_b }.
        assert_eq!(size_of::<PoolWords>(), 32);
        assert_eq!(offset_of!(PoolWords, fee_bps), 8);
        assert_eq!(offset_of!(PoolWords, reserve_a), 16);
        assert_eq!(offset_of!(PoolWords, reserve_b), 24);
        // WGSL: struct SwapProbe { amount_in, reserve_in, reserve_out, fee_bps, pad0 }.
        assert_eq!(size_of::<SwapProbe>(), 32);
        assert_eq!(offset_of!(SwapProbe, reserve_in), 8);
        assert_eq!(offset_of!(SwapProbe, reserve_out), 16);
        assert_eq!(offset_of!(SwapProbe, fee_bps), 24);
    }

    #[test]
    fn sentinels_and_constants_match_the_wgsl() {
        let has = |line: &str| assert!(EXEC_WGSL.contains(line), "exec.wgsl lacks {line:?}");
        has("const EXEC_WORKGROUP_SIZE: u32 = 64u;");
        has("@workgroup_size(64)");
        has(&format!("const NO_ACCOUNT: u32 = 0x{NO_ACCOUNT:x}u;"));
        has(&format!(
            "const TX_KIND_TRANSFER: u32 = {TX_KIND_TRANSFER}u;"
        ));
        has(&format!("const TX_KIND_SWAP: u32 = {TX_KIND_SWAP}u;"));
        has(&format!(
            "const DIRECTION_A_TO_B: u32 = {DIRECTION_A_TO_B}u;"
        ));
        has(&format!(
            "const SEGMENT_PARALLEL: u32 = {SEGMENT_PARALLEL}u;"
        ));
        has(&format!("const SEGMENT_SERIAL: u32 = {SEGMENT_SERIAL}u;"));
        has(&format!("const RECEIPT_WORDS: u32 = {RECEIPT_WORDS}u;"));
        has(&format!(
            "const POOL_GATHER_WORDS: u32 = {POOL_GATHER_WORDS}u;"
        ));
        for (name, s) in [
            ("STATUS_OK", Status::Ok),
            ("STATUS_BAD_NONCE", Status::BadNonce),
            ("STATUS_INSUFFICIENT_FEE", Status::InsufficientFee),
            ("STATUS_UNKNOWN_TOKEN", Status::UnknownToken),
            ("STATUS_UNKNOWN_POOL", Status::UnknownPool),
            ("STATUS_INSUFFICIENT_BALANCE", Status::InsufficientBalance),
            ("STATUS_SLIPPAGE_EXCEEDED", Status::SlippageExceeded),
        ] {
            has(&format!("const {name}: u32 = {}u;", s as u8));
        }
        assert!(EXEC_PROBE_WGSL.contains("const PROBE_WORKGROUP_SIZE: u32 = 64u;"));
    }

    #[test]
    fn split_and_join_are_inverse() {
        for v in [0u64, 1, u32::MAX as u64, 1 << 32, u64::MAX - 1, u64::MAX] {
            assert_eq!(join(split(v)), v);
        }
        assert_eq!(split(0x0123_4567_89ab_cdef), [0x89ab_cdef, 0x0123_4567]);
    }
}
