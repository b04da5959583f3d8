//! Pipeline stage 5, schedule: the conflict-graph colourer that groups txs into waves.
//!
//! Keys and modes (docs/SPEC.md, Conflicts and waves): the signer account and a swap's pool are **Write**; a
//! transfer recipient and the fee collector are **Credit**. Write conflicts with Write and
//! Credit on the same key; credits commute. ASAP layering: wave of a tx = 1 + max over its
//! keys of (Write: latest wave of any earlier access; Credit: latest wave of an earlier
//! Write). This equals the longest dependency chain, the fewest waves any serial-equivalent
//! schedule can have. Txs rejected at steps 1–2 take no wave.
//!
//! Key details that the rules above leave implicit:
//! - A key a tx names twice (self-transfer, signer = fee collector) counts once, with the
//!   stronger mode: Write.
//! - A swap's pool is keyed by the pool id it names, whether or not that pool exists.
//! - A tx with an unknown signer is keyed by the signer's public key (Write), which no
//!   account has, plus its recipient and the fee collector (Credit).
//!
//! The layering is one pass over the block with the latest level of every key in dense
//! arrays (accounts and existing pools by index); the waves are then laid out by a
//! counting sort, block order inside each wave.

use std::collections::HashMap;

use crate::resolve::{NO_ACCOUNT, Resolved, ResolvedBlock};
use crate::tx::Action;

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

/// Latest accesses of one key, as 1-based levels (0 = none).
#[derive(Clone, Copy, Default)]
struct Last {
    /// Level of the latest Write.
    write: u32,
    /// Level of the latest access of any mode.
    any: u32,
}

impl Last {
    #[inline]
    fn write_at(&mut self, level: u32) {
        self.write = level;
        self.any = level;
    }
    #[inline]
    fn credit_at(&mut self, level: u32) {
        self.any = self.any.max(level);
    }
}

/// Latest accesses of the pool keys.
struct PoolLevels {
    dense: Vec<Last>,
    sparse: HashMap<u32, Last>,
}

impl PoolLevels {
    #[inline]
    fn get(&self, p: u32) -> u32 {
        match self.dense.get(p as usize) {
            Some(l) => l.any,
            None => self.sparse.get(&p).map_or(0, |l| l.any),
        }
    }
    #[inline]
    fn write_at(&mut self, p: u32, level: u32) {
        if p < DENSE_POOLS {
            if p as usize >= self.dense.len() {
                self.dense.resize(p as usize + 1, Last::default());
            }
            self.dense[p as usize].write_at(level);
        } else {
            self.sparse.entry(p).or_default().write_at(level);
        }
    }
}

impl Schedule {
    /// ASAP layering of a resolved block. `account_count` bounds the account indices
    /// (every index in `block` is below it).
    pub fn build(block: &ResolvedBlock, account_count: usize) -> Schedule {
        let mut accounts = vec![Last::default(); account_count];
        let mut pools = PoolLevels {
            dense: Vec::new(),
            sparse: HashMap::new(),
        };
        let mut unknown: HashMap<[u8; 32], Last> = HashMap::new();
        let fc = block.fee_collector;
        let mut wave_of = vec![NO_WAVE; block.txs.len()];
        let mut count = 0u32;
        for (i, r) in block.txs.iter().enumerate() {
            // `level` is 1-based: 1 + max over keys of the relevant latest level.
            let level = match r {
                Resolved::Rejected(_) => continue,
                Resolved::UnknownSigner { signer, recipient } => {
                    let s = unknown.entry(*signer).or_default();
                    let mut level = s.any;
                    // The unknown pubkey is no account's, so it never equals a credit key.
                    for c in [*recipient, fc] {
                        if c != NO_ACCOUNT {
                            level = level.max(accounts[c as usize].write);
                        }
                    }
                    let level = level + 1;
                    s.write_at(level);
                    for c in [*recipient, fc] {
                        if c != NO_ACCOUNT {
                            accounts[c as usize].credit_at(level);
                        }
                    }
                    level
                }
                Resolved::Ready(tx) => {
                    let signer = tx.signer as usize;
                    let pool = match tx.tx.action {
                        Action::Swap(s) => Some(s.pool),
                        Action::Transfer(_) => None,
                    };
                    let mut level = accounts[signer].any;
                    if let Some(p) = pool {
                        level = level.max(pools.get(p));
                    }
                    // A credit to the signer itself is part of its Write.
                    if tx.recipient != NO_ACCOUNT && tx.recipient != tx.signer {
                        level = level.max(accounts[tx.recipient as usize].write);
                    }
                    if fc != NO_ACCOUNT && fc != tx.signer {
                        level = level.max(accounts[fc as usize].write);
                    }
                    let level = level + 1;
                    accounts[signer].write_at(level);
                    if let Some(p) = pool {
                        pools.write_at(p, level);
                    }
                    if tx.recipient != NO_ACCOUNT {
                        accounts[tx.recipient as usize].credit_at(level);
                    }
                    if fc != NO_ACCOUNT {
                        accounts[fc as usize].credit_at(level);
                    }
                    level
                }
            };
            wave_of[i] = level - 1;
            count = count.max(level);
        }
        Self::from_waves(wave_of, count as usize)
    }

    /// Lays out the waves from `wave_of` (every entry below `count` or [`NO_WAVE`]) by a
    /// counting sort that keeps block order inside each wave.
    fn from_waves(wave_of: Vec<u32>, count: usize) -> Schedule {
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
