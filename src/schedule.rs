//! Pipeline stage 5, schedule: the conflict-graph colourer that groups txs into waves.
//!
//! Keys and modes (docs/SPEC.md, Conflicts and waves) come from the access lists resolve
//! computed once per tx (`resolve/access.rs`): today the signer account and a swap's pool
//! are **Write**, a transfer recipient and the fee collector **Credit**; **Read** is
//! ready for kinds that read without writing. Read conflicts with Write and Credit, Credit
//! with Write and Read, Write with everything. ASAP layering: wave of a tx = 1 + max over
//! its keys of the latest wave of an earlier access whose mode conflicts with this one.
//! This equals the longest dependency chain, the fewest waves any serial-equivalent
//! schedule can have. Txs rejected at steps 1–2 take no wave.
//!
//! Key details that the rules above leave implicit (the lists keep them):
//! - A key a tx names twice (self-transfer, signer = fee collector) counts once, with the
//!   joined mode: Write.
//! - A swap's pool is keyed by the pool id it names, whether or not that pool exists.
//! - A tx with an unknown signer is keyed by the signer's public key (Write), which no
//!   account has, plus its recipient and the fee collector (Credit).
//!
//! The layering is one pass over the block with the latest level of every key in dense
//! arrays (accounts, existing pools and unknown signers by index); the waves are then laid
//! out by a counting sort, block order inside each wave.

use std::collections::HashMap;

use crate::resolve::ResolvedBlock;
use crate::resolve::access::{KEY_KINDS, Key, MAX_NAMED, Mode};

/// Sentinel: the tx takes no wave (rejected at steps 1–2).
pub const NO_WAVE: u32 = u32::MAX;

/// Pool ids below this are tracked in a dense array; larger ids (which name no pool a
/// genesis can realistically hold) go to a map so a hostile id cannot force a huge
/// allocation.
const DENSE_POOLS: u32 = 1 << 16;

/// Waves of one block, stored as one tx order plus wave boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Wave (0-based) of every tx, or [`NO_WAVE`].
    wave_of: Vec<u32>,
    /// Scheduled tx indices grouped by wave (wave 0 first), block order inside a wave.
    order: Vec<u32>,
    /// `order[starts[w]..starts[w + 1]]` is wave `w`; `starts.len() = waves + 1`.
    starts: Vec<u32>,
}

/// Latest accesses of one key, as 1-based levels (0 = none), in the two maxima the wave
/// rule needs: a Credit waits for `write_or_read`, a Read for `write_or_credit`, a Write
/// for both.
#[derive(Clone, Copy, Default)]
pub(crate) struct Last {
    /// Level of the latest Write or Read.
    write_or_read: u32,
    /// Level of the latest Write or Credit.
    write_or_credit: u32,
}

/// For an access of a mode, by [`Mode`] discriminant (Read, Write, Credit): (mask of
/// `write_or_read`, mask of `write_or_credit`), all ones where the access waits for that
/// maximum. The same masks say which maxima the access raises: a mode raises what the
/// modes it conflicts with wait for (Write raises both, Credit `write_or_credit`, Read
/// `write_or_read`), which is the other one. A table rather than branches: the modes of a
/// block's accesses follow no pattern a branch predictor could learn.
const MASKS: [(u32, u32); 3] = [(0, u32::MAX), (u32::MAX, u32::MAX), (u32::MAX, 0)];

#[inline]
fn masks(mode: Mode) -> (u32, u32) {
    MASKS[mode as usize]
}

impl Last {
    /// The latest level an access of `mode` must come after: the latest access of every
    /// mode it conflicts with.
    #[inline]
    pub(crate) fn before(self, mode: Mode) -> u32 {
        let (wait_wr, wait_wc) = masks(mode);
        (self.write_or_read & wait_wr).max(self.write_or_credit & wait_wc)
    }

    /// Records an access of `mode` at `level` (a Write's level is above every earlier
    /// access of the key, so the maxima become `level`).
    #[inline]
    pub(crate) fn record(&mut self, mode: Mode, level: u32) {
        // Waiting for one maximum is raising the other.
        let (raise_wc, raise_wr) = masks(mode);
        self.write_or_read = self.write_or_read.max(level & raise_wr);
        self.write_or_credit = self.write_or_credit.max(level & raise_wc);
    }
}

/// Latest accesses of every key of a block, in one array: accounts, then unknown signers,
/// then pools by id up to the block's largest named id below [`DENSE_POOLS`], then the
/// larger ids in order of first appearance.
struct Levels {
    levels: Vec<Last>,
    /// By key kind ([`Key::parts`]): the slot of index 0.
    bases: [u32; KEY_KINDS],
    /// By key kind: indices below this have the slot `base + index`; pool ids at or above
    /// it take the slow path.
    limits: [u32; KEY_KINDS],
    /// Slots of larger pool ids.
    sparse_pools: HashMap<u32, usize>,
}

impl Levels {
    /// The slot of `key`. Table lookups by the key's kind, so that the kind decides no
    /// branch; only a pool id past the dense range takes the slow path.
    #[inline]
    fn slot(&mut self, key: Key) -> usize {
        let (kind, index) = key.parts();
        if index < self.limits[kind] {
            (self.bases[kind] + index) as usize
        } else {
            self.sparse_pool(index)
        }
    }

    #[cold]
    fn sparse_pool(&mut self, id: u32) -> usize {
        let next = self.levels.len();
        let slot = *self.sparse_pools.entry(id).or_insert(next);
        if slot == next {
            self.levels.push(Last::default());
        }
        slot
    }
}

impl Schedule {
    /// ASAP layering of a resolved block. `account_count` bounds the account indices
    /// (every index in `block` is below it). Internal: a block's schedule reaches callers
    /// in [`crate::BlockOutcome::schedule`]; callers with their own transactions use
    /// [`crate::waves::WaveSchedule`].
    #[doc(hidden)]
    pub fn build(block: &ResolvedBlock, account_count: usize) -> Schedule {
        // Account indices, and so every base below, fit u32 (`NO_ACCOUNT` is u32::MAX).
        let unknown_base = account_count as u32;
        let pool_base = unknown_base + block.unknown_signers;
        let dense_pools = block.pool_id_bound.min(DENSE_POOLS);
        let bases_and_limits = |kind: Key| match kind {
            Key::Account(_) => (0, u32::MAX),
            Key::UnknownSigner(_) => (unknown_base, u32::MAX),
            Key::Pool(_) => (pool_base, dense_pools),
        };
        let mut levels = Levels {
            levels: vec![Last::default(); pool_base as usize + dense_pools as usize],
            bases: [0; KEY_KINDS],
            limits: [0; KEY_KINDS],
            sparse_pools: HashMap::new(),
        };
        for key in [Key::Account(0), Key::Pool(0), Key::UnknownSigner(0)] {
            let (kind, _) = key.parts();
            (levels.bases[kind], levels.limits[kind]) = bases_and_limits(key);
        }
        debug_assert_eq!(block.accesses.len(), block.txs.len(), "one list per tx");
        let mut wave_of = vec![NO_WAVE; block.txs.len()];
        let mut count = 0u32;
        let mut slots = [0usize; MAX_NAMED];
        for (i, wave) in wave_of.iter_mut().enumerate() {
            let keys = block.accesses.of(i);
            // Only a tx rejected at steps 1–2 has no keys (every other names its signer).
            if keys.is_empty() {
                continue;
            }
            // `level` is 1-based: 1 + max over keys of the conflicting latest level.
            let mut level = 0;
            for (a, slot) in keys.iter().zip(&mut slots) {
                *slot = levels.slot(a.key);
                level = level.max(levels.levels[*slot].before(a.mode));
            }
            let level = level + 1;
            for (a, &slot) in keys.iter().zip(&slots) {
                levels.levels[slot].record(a.mode, level);
            }
            *wave = level - 1;
            count = count.max(level);
        }
        Self::from_waves(wave_of, count as usize)
    }

    /// Lays out the waves from `wave_of` (every entry below `count` or [`NO_WAVE`]) by a
    /// counting sort that keeps block order inside each wave.
    pub(crate) fn from_waves(wave_of: Vec<u32>, count: usize) -> Schedule {
        let mut starts = vec![0u32; count + 1];
        for &w in &wave_of {
            if w != NO_WAVE {
                starts[w as usize + 1] += 1;
            }
        }
        for w in 0..count {
            starts[w + 1] += starts[w];
        }
        let mut next: Vec<u32> = starts[..count].to_vec();
        let mut order = vec![0u32; starts[count] as usize];
        for (i, &w) in wave_of.iter().enumerate() {
            if w != NO_WAVE {
                let at = &mut next[w as usize];
                order[*at as usize] = i as u32;
                *at += 1;
            }
        }
        Schedule {
            wave_of,
            order,
            starts,
        }
    }

    /// Wave (0-based) of every tx in block order, or [`NO_WAVE`] for a tx rejected at
    /// steps 1–2.
    pub fn wave_of(&self) -> &[u32] {
        &self.wave_of
    }

    /// Every scheduled tx index, grouped by wave (wave 0 first), block order inside a
    /// wave. Executing the txs in this order is equivalent to block order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// The tx indices of wave `w`, in block order. Panics if `w >= wave_count()`.
    pub fn wave(&self, w: usize) -> &[u32] {
        &self.order[self.starts[w] as usize..self.starts[w + 1] as usize]
    }

    /// Range of wave `w` inside [`Schedule::order`].
    pub fn wave_range(&self, w: usize) -> std::ops::Range<usize> {
        self.starts[w] as usize..self.starts[w + 1] as usize
    }

    /// The waves in execution order, each as its tx indices in block order.
    pub fn waves(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        self.starts
            .windows(2)
            .map(|s| &self.order[s[0] as usize..s[1] as usize])
    }

    /// Number of waves.
    pub fn wave_count(&self) -> usize {
        self.starts.len() - 1
    }

    /// Txs in the largest wave.
    pub fn largest_wave(&self) -> usize {
        self.waves().map(<[u32]>::len).max().unwrap_or(0)
    }

    /// Txs that take a wave.
    pub fn scheduled(&self) -> usize {
        self.order.len()
    }

    /// Histogram: `(size, number of waves of that size)`, ascending by size.
    pub fn histogram(&self) -> Vec<(usize, usize)> {
        let mut h: std::collections::BTreeMap<usize, usize> = Default::default();
        for w in self.waves() {
            *h.entry(w.len()).or_default() += 1;
        }
        h.into_iter().collect()
    }
}
