//! Parallel CPU wave executor (pipeline stage 6 on the CPU): runs the scheduler's waves
//! in order, the txs of a large wave in parallel with rayon, over the SoA state.
//!
//! # Why it is equivalent to block order
//! Inside a wave no two txs conflict (`schedule`): every Write key (signer account,
//! pool) belongs to one tx, and no other tx of the wave credits it. So the cells a tx
//! reads — its signer's nonce and balances, its pool — are touched by no one else in the
//! wave, and hold exactly the values block order would show it. The only cells several
//! txs of a wave touch are credited balances (recipients, the fee collector), and those
//! txs only add to them; u64 adds commute and cannot overflow (genesis supply bound), so
//! the sum does not depend on which thread adds first. The outcome is therefore the
//! same, bit for bit, for any thread count and any split of a wave into chunks.
//!
//! # Memory: shared columns, no unsafe
//! For a block with a parallel wave, the balance columns are converted in place to
//! `AtomicU64` columns (`Vec<u64>` → `Vec<AtomicU64>` reuses the allocation), the nonces
//! and pool reserves are copied into atomics, and everything is written back at the end.
//! Relaxed loads and stores compile to plain moves; only credits to cells shared within
//! a wave use `fetch_add`. The conversion is a linear pass over the columns, far cheaper
//! than the commit stage, which hashes every account of the state each block.
//!
//! # Credits and hot chains
//! - The fee collector is credited by every tx: each chunk of a wave sums its fees
//!   locally and adds the sum once, so the collector's cell is not contended per tx.
//!   Recipient credits use `fetch_add` (spread over many accounts).
//! - A wave smaller than [`PARALLEL_MIN`] txs runs inline on the calling thread: a hot
//!   pool or account makes thousands of tiny waves, and a fork/join per tiny wave would
//!   cost more than the txs. Runs of consecutive small waves execute as one sequential
//!   segment in wave order (a valid serial order), and a block with no large wave skips
//!   the column conversion and runs on the state directly, so a fully serial block costs
//!   what the sequential executor costs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use crate::exec::Status;
use crate::exec::cpu::{Ledger, apply_tx};
use crate::resolve::{Resolved, ResolvedBlock};
use crate::schedule::Schedule;
use crate::state::{Pool, State};

/// Waves with fewer txs than this run inline on the calling thread. A transfer costs
/// tens of nanoseconds and a rayon fork/join a few microseconds, so below this size
/// splitting a wave does not pay.
pub const PARALLEL_MIN: usize = 1024;

/// Smallest chunk of a parallel wave handed to one worker.
pub const CHUNK_MIN: usize = 256;

/// Tuning of the wave executor. Results never depend on it; tests lower the sizes to
/// drive the parallel path with small blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaveOptions {
    /// Waves with at least this many txs run in parallel; smaller ones inline.
    pub parallel_min: usize,
    /// Smallest chunk of a parallel wave handed to one worker (at least 1).
    pub chunk_min: usize,
}

impl Default for WaveOptions {
    fn default() -> Self {
        WaveOptions {
            parallel_min: PARALLEL_MIN,
            chunk_min: CHUNK_MIN,
        }
    }
}

/// Executes a resolved block wave by wave on the current rayon pool; returns
/// (status, amount_out) per tx, block order. Same state and results as
/// [`crate::exec::cpu::execute_in_order`], for any thread count.
///
/// `schedule` must be `Schedule::build` of this `block`.
pub fn execute_waves(
    state: &mut State,
    block: &ResolvedBlock,
    schedule: &Schedule,
) -> Vec<(Status, u64)> {
    execute_waves_with(state, block, schedule, WaveOptions::default())
}

/// [`execute_waves`] with explicit tuning.
pub fn execute_waves_with(
    state: &mut State,
    block: &ResolvedBlock,
    schedule: &Schedule,
    options: WaveOptions,
) -> Vec<(Status, u64)> {
    let parallel_min = options.parallel_min.max(1);
    let chunk_min = options.chunk_min.max(1);
    let threads = rayon::current_num_threads();
    let fc = block.fee_collector;
    let mut results: Vec<(Status, u64)> = block
        .txs
        .iter()
        .map(|r| match r {
            Resolved::Rejected(s) => (*s, 0),
            // Ready txs are overwritten below.
            Resolved::UnknownSigner { .. } | Resolved::Ready(_) => (Status::UnknownSigner, 0),
        })
        .collect();
    let any_parallel = threads > 1 && schedule.waves().any(|w| w.len() >= parallel_min);
    if !any_parallel {
        // Wave order is a serial order equivalent to block order.
        for &i in schedule.order() {
            if let Resolved::Ready(tx) = &block.txs[i as usize] {
                results[i as usize] = apply_tx(state, tx, fc);
            }
        }
        return results;
    }

    let shared = SharedColumns::take(state);
    let order = schedule.order();
    // Results in `order` positions, so chunks of a wave write disjoint slices.
    let mut out: Vec<(Status, u64)> = vec![(Status::UnknownSigner, 0); order.len()];
    let mut w = 0;
    while w < schedule.wave_count() {
        let range = schedule.wave_range(w);
        if range.len() >= parallel_min {
            let chunk = chunk_min.max(range.len().div_ceil(threads * 4));
            out[range.clone()]
                .par_chunks_mut(chunk)
                .zip(order[range].par_chunks(chunk))
                .for_each(|(out, txs)| {
                    let mut view = SharedView::new(&shared, Access::Concurrent);
                    run(&mut view, block, txs, out);
                    view.flush_fees(fc);
                });
            w += 1;
        } else {
            // The run of small waves from `w` on, as one inline segment.
            let start = range.start;
            let mut end = range.end;
            w += 1;
            while w < schedule.wave_count() && schedule.wave_range(w).len() < parallel_min {
                end = schedule.wave_range(w).end;
                w += 1;
            }
            let mut view = SharedView::new(&shared, Access::Exclusive);
            run(&mut view, block, &order[start..end], &mut out[start..end]);
        }
    }
    shared.put_back(state);
    for (&i, &r) in order.iter().zip(&out) {
        results[i as usize] = r;
    }
    results
}

/// Runs `txs` (tx indices) in order on `view`, writing their results to `out`.
#[inline]
fn run(view: &mut SharedView<'_>, block: &ResolvedBlock, txs: &[u32], out: &mut [(Status, u64)]) {
    for (slot, &i) in out.iter_mut().zip(txs) {
        *slot = match &block.txs[i as usize] {
            Resolved::Ready(tx) => apply_tx(view, tx, block.fee_collector),
            Resolved::UnknownSigner { .. } => (Status::UnknownSigner, 0),
            // Never scheduled; kept total rather than trusting that.
            Resolved::Rejected(s) => (*s, 0),
        };
    }
}

/// A pool whose reserves threads can update.
struct SharedPool {
    /// Tokens and fee (reserves here are stale; the atomics hold the live ones).
    meta: Pool,
    reserve_a: AtomicU64,
    reserve_b: AtomicU64,
}

/// The state's mutable columns as atomics, for the duration of one block.
struct SharedColumns {
    /// `balances[token][account]`, taken out of the state.
    balances: Vec<Vec<AtomicU64>>,
    nonces: Vec<AtomicU64>,
    pools: Vec<SharedPool>,
}

impl SharedColumns {
    /// Moves the balance columns out of `state` (in place, no copy of the allocation)
    /// and copies the nonces and pools. Until [`SharedColumns::put_back`], `state`'s
    /// balance columns are empty.
    fn take(state: &mut State) -> SharedColumns {
        let balances = state
            .balances_mut()
            .iter_mut()
            .map(|col| {
                std::mem::take(col)
                    .into_iter()
                    .map(AtomicU64::new)
                    .collect()
            })
            .collect();
        let nonces = state.nonces().iter().map(|&n| AtomicU64::new(n)).collect();
        let pools = state
            .pools()
            .iter()
            .map(|&p| SharedPool {
                meta: p,
                reserve_a: AtomicU64::new(p.reserve_a),
                reserve_b: AtomicU64::new(p.reserve_b),
            })
            .collect();
        SharedColumns {
            balances,
            nonces,
            pools,
        }
    }

    /// Writes everything back into `state`.
    fn put_back(self, state: &mut State) {
        for (dst, col) in state.balances_mut().iter_mut().zip(self.balances) {
            *dst = col.into_iter().map(AtomicU64::into_inner).collect();
        }
        for (dst, n) in state.nonces_mut().iter_mut().zip(self.nonces) {
            *dst = n.into_inner();
        }
        for (dst, p) in state.pools_mut().iter_mut().zip(self.pools) {
            dst.reserve_a = p.reserve_a.into_inner();
            dst.reserve_b = p.reserve_b.into_inner();
        }
    }
}

/// Whether other threads run txs of the same wave at the same time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Other chunks of the wave run concurrently: shared credits use `fetch_add`, and
    /// fees are summed per chunk.
    Concurrent,
    /// Only this thread runs: credits are plain load + store.
    Exclusive,
}

/// One worker's view of the shared columns.
struct SharedView<'a> {
    cols: &'a SharedColumns,
    access: Access,
    /// Fees of this chunk not yet added to the fee collector.
    fees: u64,
}

impl<'a> SharedView<'a> {
    fn new(cols: &'a SharedColumns, access: Access) -> Self {
        SharedView {
            cols,
            access,
            fees: 0,
        }
    }

    /// Adds this chunk's fee sum to the fee collector.
    fn flush_fees(self, fc: u32) {
        if self.fees != 0 {
            self.cols.balances[0][fc as usize].fetch_add(self.fees, Relaxed);
        }
    }
}

impl Ledger for SharedView<'_> {
    #[inline]
    fn tokens(&self) -> usize {
        self.cols.balances.len()
    }
    #[inline]
    fn nonce(&self, a: usize) -> u64 {
        self.cols.nonces[a].load(Relaxed)
    }
    #[inline]
    fn set_nonce(&mut self, a: usize, v: u64) {
        self.cols.nonces[a].store(v, Relaxed);
    }
    #[inline]
    fn balance(&self, t: usize, a: usize) -> u64 {
        self.cols.balances[t][a].load(Relaxed)
    }
    #[inline]
    fn set_balance(&mut self, t: usize, a: usize, v: u64) {
        self.cols.balances[t][a].store(v, Relaxed);
    }
    #[inline]
    fn credit(&mut self, t: usize, a: usize, v: u64) {
        let cell = &self.cols.balances[t][a];
        match self.access {
            Access::Concurrent => {
                cell.fetch_add(v, Relaxed);
            }
            Access::Exclusive => cell.store(cell.load(Relaxed) + v, Relaxed),
        }
    }
    #[inline]
    fn credit_fee(&mut self, fc: usize, signer: usize, fee: u64) {
        // The collector's balance is read by no tx of the wave except one it signs, and
        // such a tx is alone in its wave (every other tx credits the collector), so
        // deferring the add to the end of the chunk is unobservable. A tx signed by the
        // collector is credited at once: its own later checks read that balance.
        if self.access == Access::Concurrent && fc != signer {
            // Cannot overflow: all fees of a block are part of the token-0 supply.
            self.fees += fee;
        } else {
            self.credit(0, fc, fee);
        }
    }
    #[inline]
    fn pool(&self, p: usize) -> Option<Pool> {
        self.cols.pools.get(p).map(|sp| Pool {
            reserve_a: sp.reserve_a.load(Relaxed),
            reserve_b: sp.reserve_b.load(Relaxed),
            ..sp.meta
        })
    }
    #[inline]
    fn set_reserves(&mut self, p: usize, reserve_a: u64, reserve_b: u64) {
        let sp = &self.cols.pools[p];
        sp.reserve_a.store(reserve_a, Relaxed);
        sp.reserve_b.store(reserve_b, Relaxed);
    }
}
