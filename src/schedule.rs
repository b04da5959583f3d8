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

use crate::resolve::access::{Key, Mode};
use crate::resolve::{Resolved, ResolvedBlock};

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

/// Latest accesses of one key, by mode, as 1-based levels (0 = none).
#[derive(Clone, Copy, Default)]
struct Last {
    read: u32,
    write: u32,
    credit: u32,
}

impl Last {
    /// The latest level an access of `mode` must come after: the latest access of every
    /// mode it conflicts with.
    #[inline]
    fn before(&self, mode: Mode) -> u32 {
        match mode {
            Mode::Write => self.write.max(self.read).max(self.credit),
            Mode::Credit => self.write.max(self.read),
            Mode::Read => self.write.max(self.credit),
        }
    }

    /// Records an access of `mode` at `level`.
    #[inline]
    fn record(&mut self, mode: Mode, level: u32) {
        let latest = match mode {
            Mode::Write => &mut self.write,
            Mode::Credit => &mut self.credit,
            Mode::Read => &mut self.read,
        };
        *latest = (*latest).max(level);
    }
}

/// Latest accesses of every key of a block.
struct Levels {
    accounts: Vec<Last>,
    pools: Vec<Last>,
    /// Pools at or above [`DENSE_POOLS`].
    sparse_pools: HashMap<u32, Last>,
    unknown_signers: Vec<Last>,
}

impl Levels {
    #[inline]
    fn get(&self, key: Key) -> Last {
        match key {
            Key::Account(a) => self.accounts[a as usize],
            Key::Pool(p) => match self.pools.get(p as usize) {
                Some(l) => *l,
                None => self.sparse_pools.get(&p).copied().unwrap_or_default(),
            },
            Key::UnknownSigner(u) => self.unknown_signers[u as usize],
        }
    }

    #[inline]
    fn get_mut(&mut self, key: Key) -> &mut Last {
        match key {
            Key::Account(a) => &mut self.accounts[a as usize],
            Key::Pool(p) if p < DENSE_POOLS => {
                if p as usize >= self.pools.len() {
                    self.pools.resize(p as usize + 1, Last::default());
                }
                &mut self.pools[p as usize]
            }
            Key::Pool(p) => self.sparse_pools.entry(p).or_default(),
            Key::UnknownSigner(u) => &mut self.unknown_signers[u as usize],
        }
    }
}

impl Schedule {
    /// ASAP layering of a resolved block. `account_count` bounds the account indices
    /// (every index in `block` is below it).
    pub fn build(block: &ResolvedBlock, account_count: usize) -> Schedule {
        let mut levels = Levels {
            accounts: vec![Last::default(); account_count],
            pools: Vec::new(),
            sparse_pools: HashMap::new(),
            unknown_signers: vec![Last::default(); block.unknown_signers as usize],
        };
        debug_assert_eq!(block.accesses.len(), block.txs.len(), "one list per tx");
        let mut wave_of = vec![NO_WAVE; block.txs.len()];
        let mut count = 0u32;
        for (i, r) in block.txs.iter().enumerate() {
            if matches!(r, Resolved::Rejected(_)) {
                continue;
            }
            let keys = block.accesses.of(i);
            // `level` is 1-based: 1 + max over keys of the conflicting latest level.
            let level = 1 + keys
                .iter()
                .map(|a| levels.get(a.key).before(a.mode))
                .max()
                .unwrap_or(0);
            for a in keys {
                levels.get_mut(a.key).record(a.mode, level);
            }
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
