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

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rayon::prelude::*;

use crate::exec::ExecResult;
use crate::exec::cpu::{self, ExecKind, ExecTx, Ledger, apply_tx};
use crate::receipt::{Amounts, Status};
use crate::resolve::ResolvedBlock;
use crate::resolve::access::{AccessLists, Key, Mode};
use crate::schedule::Schedule;
use crate::state::{Pool, State};

/// (status, amount_out) of one tx.
type Outcome = ExecResult;

/// Waves with fewer txs than this are not split into chunks. A transfer costs tens of
/// nanoseconds and a rayon fork/join a few microseconds, so below this size splitting a
/// wave does not pay.
pub const PARALLEL_MIN: usize = 1024;

/// Smallest chunk of a parallel wave handed to one worker.
pub const CHUNK_MIN: usize = 256;

/// Most txs in one segment of consecutive small waves. Bounded so the chains inside a
/// segment stay many and short (over a whole block they would join into one).
pub const SEGMENT_MAX: usize = 4096;

/// Segments whose waves average fewer txs than this run inline, without grouping: a
/// chain only a few txs wide has too little to run beside it to pay for the grouping
/// (measured: with 4, a block whose swaps put 30% on one hot pool ran 3× slower than in
/// block order on 2 threads; with 64 it runs as fast as a uniform block).
pub const GROUP_MIN_WIDTH: usize = 64;

/// Tuning of the wave executor. Results never depend on it; tests shrink the sizes to
/// drive every path with small blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaveOptions {
    /// Waves with at least this many txs run split into chunks in parallel.
    pub parallel_min: usize,
    /// Smallest chunk of a parallel wave handed to one worker (at least 1).
    pub chunk_min: usize,
    /// Most txs in a segment of consecutive small waves (at least 1).
    pub segment_max: usize,
    /// Segments with fewer txs per wave than this run inline; wider ones are split into
    /// independent chains that run in parallel.
    pub group_min_width: usize,
}

impl Default for WaveOptions {
    fn default() -> Self {
        WaveOptions {
            parallel_min: PARALLEL_MIN,
            chunk_min: CHUNK_MIN,
            segment_max: SEGMENT_MAX,
            group_min_width: GROUP_MIN_WIDTH,
        }
    }
}

/// How one piece of the wave order runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// One large wave, split into chunks run in parallel.
    Wave(Range<usize>),
    /// Consecutive small waves, split into independent chains run in parallel.
    Chains(Range<usize>),
    /// Consecutive small waves, run in wave order on the calling thread.
    Inline(Range<usize>),
}

/// Cuts the wave order into steps (ranges of [`Schedule::order`]).
fn plan(schedule: &Schedule, options: &WaveOptions, threads: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut w = 0;
    while w < schedule.wave_count() {
        let range = schedule.wave_range(w);
        w += 1;
        if threads > 1 && range.len() >= options.parallel_min {
            steps.push(Step::Wave(range));
            continue;
        }
        let (start, mut end, first) = (range.start, range.end, w - 1);
        while w < schedule.wave_count() {
            let next = schedule.wave_range(w);
            if next.len() >= options.parallel_min || next.end - start > options.segment_max {
                break;
            }
            end = next.end;
            w += 1;
        }
        let width = (end - start) / (w - first);
        if threads > 1 && width >= options.group_min_width {
            steps.push(Step::Chains(start..end));
        } else {
            steps.push(Step::Inline(start..end));
        }
    }
    steps
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
) -> Vec<ExecResult> {
    execute_waves_with(state, block, schedule, WaveOptions::default())
}

/// [`execute_waves`] with explicit tuning.
pub fn execute_waves_with(
    state: &mut State,
    block: &ResolvedBlock,
    schedule: &Schedule,
    options: WaveOptions,
) -> Vec<ExecResult> {
    let options = WaveOptions {
        parallel_min: options.parallel_min.max(1),
        chunk_min: options.chunk_min.max(1),
        segment_max: options.segment_max.max(1),
        group_min_width: options.group_min_width,
    };
    let threads = rayon::current_num_threads();
    let fc = block.fee_collector;
    let steps = plan(schedule, &options, threads);
    if steps.iter().all(|s| matches!(s, Step::Inline(_))) {
        // Nothing runs in parallel: block order, on the state directly, is cheapest.
        return cpu::execute_in_order(state, block);
    }

    // Compact copies of the txs, made in block order (a stream) so that the steps can
    // read them in wave order from a quarter of the memory.
    let txs: Vec<ExecTx> = block
        .txs
        .par_iter()
        .with_min_len(4096)
        .map(ExecTx::of)
        .collect();
    let order = schedule.order();
    let mut chains = Chains::new(state.account_count(), state.pools().len());
    let shared = SharedColumns::take(state);
    // Results in `order` positions, so chunks of a wave write disjoint slices.
    let mut out: Vec<ExecResult> = vec![(Status::UnknownSigner, Amounts::NONE); order.len()];
    for step in steps {
        match step {
            Step::Wave(range) => {
                let chunk = options.chunk_min.max(range.len().div_ceil(threads * 4));
                let fees: u64 = out[range.clone()]
                    .par_chunks_mut(chunk)
                    .zip(order[range].par_chunks(chunk))
                    .map(|(out, positions)| {
                        let mut view = SharedView::new(&shared, Access::Concurrent);
                        run(&mut view, &txs, fc, positions, out);
                        view.fees
                    })
                    .sum();
                shared.add_fees(fc, fees);
            }
            Step::Chains(range) => {
                chains.run(
                    &shared,
                    &txs,
                    &block.accesses,
                    fc,
                    &order[range.clone()],
                    &mut out[range],
                );
            }
            Step::Inline(range) => {
                let mut view = SharedView::new(&shared, Access::Exclusive);
                run(&mut view, &txs, fc, &order[range.clone()], &mut out[range]);
            }
        }
    }
    shared.put_back(state);
    // Txs outside every wave were rejected at steps 1–2.
    let mut results: Vec<ExecResult> = txs
        .iter()
        .map(|t| match t.kind {
            ExecKind::Done(s) => (s, Amounts::NONE),
            // Overwritten below: every tx that reaches step 4 is in a wave.
            ExecKind::Transfer { .. }
            | ExecKind::Swap { .. }
            | ExecKind::AddLiquidity(_)
            | ExecKind::RemoveLiquidity(_)
            | ExecKind::Route(_) => (Status::UnknownSigner, Amounts::NONE),
        })
        .collect();
    for (&i, &r) in order.iter().zip(&out) {
        results[i as usize] = r;
    }
    results
}

/// Splits a segment of consecutive waves into chains — groups of txs linked by the
/// cells they read or write — and runs the chains in parallel, each in wave order.
///
/// The keys come from the block's access lists. Two txs of the segment are linked when
/// they touch a key whose accesses within the segment do not all commute: some tx of the
/// segment writes it, or it is both read and credited. What is left between chains are
/// keys only credited (or only read) within the segment, which commute; so running chains
/// side by side is equivalent to the segment's wave order. The fee collector is credited
/// by every tx and read by none, unless a tx of the segment reads or writes it (signs
/// one); then the segment runs in order on the calling thread, since chunks defer their
/// fee credits. Unknown-signer txs change nothing and link nothing; keys of pools that do
/// not exist are never touched.
struct Chains {
    accounts: Vec<KeySlot>,
    pools: Vec<KeySlot>,
    /// Segment counter (stamps, so the arrays need no clearing).
    segment: u32,
    /// Union-find parents over positions in the segment.
    parent: Vec<u32>,
}

/// What the current segment does with one key.
#[derive(Clone, Copy)]
struct KeySlot {
    /// The segment `mode` describes, 1-based (0 = none).
    seen: u32,
    /// Join of the modes of every access to the key in that segment.
    mode: Mode,
    /// The segment `first` belongs to.
    linked: u32,
    /// First position of the segment linked through the key.
    first: u32,
}

impl Default for KeySlot {
    fn default() -> Self {
        KeySlot {
            seen: 0,
            mode: Mode::Credit,
            linked: 0,
            first: 0,
        }
    }
}

impl Chains {
    fn new(accounts: usize, pools: usize) -> Chains {
        Chains {
            accounts: vec![KeySlot::default(); accounts],
            pools: vec![KeySlot::default(); pools],
            segment: 0,
            parent: Vec::new(),
        }
    }

    /// The slot of a key executors may touch: an account or an existing pool.
    #[inline]
    fn slot(&mut self, key: Key) -> Option<&mut KeySlot> {
        match key {
            Key::Account(a) => self.accounts.get_mut(a as usize),
            Key::Pool(p) => self.pools.get_mut(p as usize),
            // Only on unknown-signer txs, which execute nothing.
            Key::UnknownSigner(_) => None,
        }
    }

    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }

    fn union(parent: &mut [u32], a: u32, b: u32) {
        let (ra, rb) = (Self::find(parent, a), Self::find(parent, b));
        // The smaller position becomes the root: deterministic, and a chain's root is
        // its first tx.
        if ra < rb {
            parent[rb as usize] = ra;
        } else if rb < ra {
            parent[ra as usize] = rb;
        }
    }

    /// Runs the txs at `positions` (a segment of the wave order), writing results to
    /// `out`.
    fn run(
        &mut self,
        cols: &SharedColumns,
        txs: &[ExecTx],
        accesses: &AccessLists<Key>,
        fc: u32,
        positions: &[u32],
        out: &mut [ExecResult],
    ) {
        self.segment += 1;
        let seg = self.segment;
        for &i in positions {
            if matches!(txs[i as usize].kind, ExecKind::Done(_)) {
                continue;
            }
            for a in accesses.of(i as usize) {
                if let Some(slot) = self.slot(a.key) {
                    if slot.seen == seg {
                        slot.mode = slot.mode.join(a.mode);
                    } else {
                        slot.seen = seg;
                        slot.mode = a.mode;
                    }
                }
            }
        }
        // A fee collector that signs reads the fees credited before it: keep the whole
        // segment in order (it would be one chain anyway).
        if let Some(slot) = self.accounts.get(fc as usize)
            && slot.seen == seg
            && slot.mode != Mode::Credit
        {
            let mut view = SharedView::new(cols, Access::Exclusive);
            run(&mut view, txs, fc, positions, out);
            return;
        }
        self.parent.clear();
        self.parent.extend(0..positions.len() as u32);
        for (k, &i) in positions.iter().enumerate() {
            let k = k as u32;
            if matches!(txs[i as usize].kind, ExecKind::Done(_)) {
                continue;
            }
            for a in accesses.of(i as usize) {
                let Some(slot) = self.slot(a.key) else {
                    continue;
                };
                // Accesses that all commute within the segment link nothing.
                if !slot.mode.conflicts(slot.mode) {
                    continue;
                }
                if slot.linked == seg {
                    let first = slot.first;
                    Self::union(&mut self.parent, k, first);
                } else {
                    slot.linked = seg;
                    slot.first = k;
                }
            }
        }
        // Chains as lists of positions (ascending: wave order), by counting sort on roots.
        let n = positions.len();
        // Chain length by root.
        let mut size = vec![0u32; n];
        let mut root = vec![0u32; n];
        for k in 0..n {
            root[k] = Self::find(&mut self.parent, k as u32);
            size[root[k] as usize] += 1;
        }
        if size.iter().filter(|&&c| c > 0).count() <= 1 {
            // One chain: nothing to run beside it.
            let mut view = SharedView::new(cols, Access::Exclusive);
            run(&mut view, txs, fc, positions, out);
            return;
        }
        // Pack the chains into bins, longest chain first onto the lightest bin (LPT),
        // then lay the txs out bin by bin, ascending positions inside a bin: a bin runs
        // its chains interleaved in wave order, each chain still in its own order.
        let threads = rayon::current_num_threads();
        let bins = (2 * threads).min(n);
        let mut chains: Vec<(u32, u32)> = (0..n)
            .filter(|&r| size[r] > 0)
            .map(|r| (size[r], r as u32))
            .collect();
        chains.sort_unstable_by_key(|&(len, r)| (std::cmp::Reverse(len), r));
        let mut load = vec![0u32; bins];
        let mut bin_of_root = vec![0u32; n];
        for (len, r) in chains {
            let (b, _) = load
                .iter()
                .enumerate()
                .min_by_key(|&(b, &l)| (l, b))
                .expect("at least one bin");
            load[b] += len;
            bin_of_root[r as usize] = b as u32;
        }
        let mut bin_start = vec![0usize; bins + 1];
        for b in 0..bins {
            bin_start[b + 1] = bin_start[b] + load[b] as usize;
        }
        let mut next = bin_start.clone();
        let mut members = vec![0u32; n];
        for k in 0..n {
            let at = &mut next[bin_of_root[root[k] as usize] as usize];
            members[*at] = k as u32;
            *at += 1;
        }
        let mut chain_out = vec![(Status::UnknownSigner, Amounts::NONE); n];
        let mut work: Vec<(&[u32], &mut [Outcome])> = Vec::with_capacity(bins);
        let (mut m_rest, mut o_rest) = (&members[..], &mut chain_out[..]);
        for b in 0..bins {
            let len = bin_start[b + 1] - bin_start[b];
            let (m, m_tail) = m_rest.split_at(len);
            let (o, o_tail) = o_rest.split_at_mut(len);
            work.push((m, o));
            m_rest = m_tail;
            o_rest = o_tail;
        }
        let fees: u64 = work
            .into_par_iter()
            .with_max_len(1)
            .map(|(members, out)| {
                let mut view = SharedView::new(cols, Access::Concurrent);
                for (slot, &k) in out.iter_mut().zip(members) {
                    *slot = apply_tx(&mut view, &txs[positions[k as usize] as usize], fc);
                }
                view.fees
            })
            .sum();
        cols.add_fees(fc, fees);
        for (&k, &r) in members.iter().zip(&chain_out) {
            out[k as usize] = r;
        }
    }
}

/// Runs the txs at `positions`, in that order, on `view`; writes their results to `out`.
#[inline]
fn run(
    view: &mut SharedView<'_>,
    txs: &[ExecTx],
    fc: u32,
    positions: &[u32],
    out: &mut [ExecResult],
) {
    for (slot, &i) in out.iter_mut().zip(positions) {
        *slot = apply_tx(view, &txs[i as usize], fc);
    }
}

/// A pool whose reserves threads can update.
struct SharedPool {
    /// Tokens and fee (reserves here are stale; the atomics hold the live ones).
    meta: Pool,
    reserve_a: AtomicU64,
    reserve_b: AtomicU64,
    lp_supply: AtomicU64,
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
                lp_supply: AtomicU64::new(p.lp_supply),
            })
            .collect();
        SharedColumns {
            balances,
            nonces,
            pools,
        }
    }

    /// Adds the fees deferred by the views of a parallel step to the fee collector.
    fn add_fees(&self, fc: u32, fees: u64) {
        if fees != 0 {
            self.balances[0][fc as usize].fetch_add(fees, Relaxed);
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
            dst.lp_supply = p.lp_supply.into_inner();
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
            lp_supply: sp.lp_supply.load(Relaxed),
            ..sp.meta
        })
    }
    #[inline]
    fn set_reserves(&mut self, p: usize, reserve_a: u64, reserve_b: u64) {
        let sp = &self.cols.pools[p];
        sp.reserve_a.store(reserve_a, Relaxed);
        sp.reserve_b.store(reserve_b, Relaxed);
    }
    #[inline]
    fn set_lp_supply(&mut self, p: usize, supply: u64) {
        self.cols.pools[p].lp_supply.store(supply, Relaxed);
    }
}
