//! The schedule stage for any transaction type: ASAP waves from access lists the caller
//! writes, and a runner that executes them on rayon.
//!
//! txwave schedules its own blocks with [`crate::schedule`]; this module gives the same
//! rule (docs/SPEC.md, Conflicts and waves) to a caller with its own transactions. Each
//! transaction lists the keys it touches, of any `K: Hash + Eq`, each with a [`Mode`]:
//!
//! | | Read | Write | Credit |
//! |---|---|---|---|
//! | **Read** | — | conflict | conflict |
//! | **Write** | conflict | conflict | conflict |
//! | **Credit** | conflict | conflict | — |
//!
//! [`WaveSchedule::build`] puts transaction `i` (in submission order) in wave
//! 1 + the largest, over its keys, of the latest wave of an earlier transaction whose
//! access to the key conflicts with its own (wave 0 when there is none). So no two
//! transactions of one wave conflict, and the number of waves is the longest chain of
//! conflicting transactions: no schedule equivalent to submission order has fewer.
//! [`WaveSchedule::run`] calls a closure for every transaction, wave by wave, the
//! transactions of a large wave in parallel; runs of small waves (a hot key makes many
//! one-transaction waves) run on one thread in wave order, without a fork/join per wave.
//!
//! # Example: bank transfers keyed by account name
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//! use txwave::waves::{Access, AccessLists, Mode, WaveSchedule};
//!
//! struct Transfer {
//!     from: String,
//!     to: String,
//!     amount: u64,
//! }
//! let transfers = [
//!     Transfer { from: "alice".into(), to: "bob".into(), amount: 30 },
//!     Transfer { from: "carol".into(), to: "bob".into(), amount: 5 },
//!     Transfer { from: "bob".into(), to: "dave".into(), amount: 50 },
//!     Transfer { from: "erin".into(), to: "alice".into(), amount: 1 },
//! ];
//!
//! // The payer's balance is read and written; the payee's is only added to, so
//! // payments to one account commute.
//! let mut lists = AccessLists::new();
//! for t in &transfers {
//!     lists.push([
//!         Access { key: t.from.clone(), mode: Mode::Write },
//!         Access { key: t.to.clone(), mode: Mode::Credit },
//!     ]);
//! }
//! let schedule = WaveSchedule::build(&lists);
//! // Alice's and Carol's payments to Bob commute; Bob pays Dave after both; Erin pays
//! // Alice after Alice has paid.
//! let waves: Vec<&[u32]> = schedule.waves().collect();
//! assert_eq!(waves, [&[0, 1][..], &[2, 3][..]]);
//!
//! let balances: HashMap<&str, AtomicU64> = [("alice", 40), ("bob", 20), ("carol", 5), ("dave", 0), ("erin", 1)]
//!     .into_iter()
//!     .map(|(name, b)| (name, AtomicU64::new(b)))
//!     .collect();
//! schedule.run(None, |i| {
//!     let t = &transfers[i];
//!     // No other transaction of this wave touches `from`: load and store are safe.
//!     let from = &balances[t.from.as_str()];
//!     let have = from.load(Relaxed);
//!     if have >= t.amount {
//!         from.store(have - t.amount, Relaxed);
//!         balances[t.to.as_str()].fetch_add(t.amount, Relaxed);
//!     }
//! });
//! let balance = |name: &str| balances[name].load(Relaxed);
//! assert_eq!(
//!     [balance("alice"), balance("bob"), balance("carol"), balance("dave"), balance("erin")],
//!     [11, 5, 0, 50, 0]
//! );
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use rayon::prelude::*;

pub use crate::resolve::access::{Access, AccessLists, Mode};
use crate::schedule::{Last, Schedule};

/// Waves with fewer transactions than this run on one thread by default
/// ([`RunOptions::parallel_min`]).
pub const PARALLEL_MIN: usize = 256;

/// Fewest transactions of a parallel wave handed to one rayon task by default
/// ([`RunOptions::chunk_min`]).
pub const CHUNK_MIN: usize = 32;

/// The waves of a list of transactions, in submission order inside each wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveSchedule {
    schedule: Schedule,
    /// The dense slot of every access's key, aligned with the lists' items, and each
    /// transaction's first access (`starts[i]..starts[i + 1]`): what the runner splits
    /// runs of small waves into independent chains by.
    slots: Vec<u32>,
    modes: Vec<Mode>,
    starts: Vec<u32>,
    key_count: usize,
}

/// How [`WaveSchedule::run`] splits the work. The order of calls inside a wave is the only
/// thing it changes: conflicting transactions keep their order for every setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Waves with at least this many transactions run in parallel; runs of smaller
    /// consecutive waves run on one thread, in wave order. A rayon fork/join costs a few
    /// microseconds, so the right value depends on what one call of the closure costs.
    pub parallel_min: usize,
    /// Fewest transactions of a parallel wave handed to one rayon task (at least 1).
    pub chunk_min: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            parallel_min: PARALLEL_MIN,
            chunk_min: CHUNK_MIN,
        }
    }
}

impl WaveSchedule {
    /// ASAP layering of `lists` (transaction `i` is `lists.of(i)`), keys hashed with
    /// foldhash's quality hasher under a random per-schedule seed: fast on short keys, and
    /// keys an attacker chooses cannot be ground to collide without knowing the seed. The
    /// schedule does not depend on the seed.
    ///
    /// Panics if there are 2^32 transactions or more.
    pub fn build<K: Hash + Eq>(lists: &AccessLists<K>) -> WaveSchedule {
        Self::build_with_hasher(lists, foldhash::quality::RandomState::default())
    }

    /// [`WaveSchedule::build`] with the caller's hasher for the key table: a faster one
    /// pays where keys are already uniform (32-byte public keys or hashes) and cannot be
    /// chosen by an attacker to collide.
    ///
    /// Panics if there are 2^32 transactions or more.
    pub fn build_with_hasher<K: Hash + Eq, S: BuildHasher>(
        lists: &AccessLists<K>,
        hasher: S,
    ) -> WaveSchedule {
        let n = lists.len();
        assert!(u32::try_from(n).is_ok(), "fewer than 2^32 transactions");
        // Keys by reference to dense slots, so the layering reads and writes an array.
        let mut slot_of: HashMap<&K, usize, S> =
            HashMap::with_capacity_and_hasher(n.min(1 << 16), hasher);
        let mut levels: Vec<Last> = Vec::new();
        let mut slots: Vec<usize> = Vec::new();
        let mut all_slots: Vec<u32> = Vec::with_capacity(lists.items().len());
        let mut starts: Vec<u32> = Vec::with_capacity(n + 1);
        starts.push(0);
        let mut wave_of = vec![0u32; n];
        let mut count = 0u32;
        for (i, wave) in wave_of.iter_mut().enumerate() {
            let keys = lists.of(i);
            slots.clear();
            // `level` is 1-based: 1 + max over keys of the conflicting latest level.
            let mut level = 0;
            for a in keys {
                let next = levels.len();
                let slot = *slot_of.entry(&a.key).or_insert(next);
                if slot == next {
                    levels.push(Last::default());
                }
                slots.push(slot);
                level = level.max(levels[slot].before(a.mode));
            }
            // Below 2^32: at most one level per transaction.
            let level = level + 1;
            for (a, &slot) in keys.iter().zip(&slots) {
                levels[slot].record(a.mode, level);
            }
            // Slots are below the number of accesses, itself below 2^32 (AccessLists).
            all_slots.extend(slots.iter().map(|&s| s as u32));
            starts.push(all_slots.len() as u32);
            *wave = level - 1;
            count = count.max(level);
        }
        WaveSchedule {
            schedule: Schedule::from_waves(wave_of, count as usize),
            slots: all_slots,
            modes: lists.items().iter().map(|a| a.mode).collect(),
            starts,
            key_count: levels.len(),
        }
    }

    /// Number of transactions scheduled (every one takes a wave).
    pub fn len(&self) -> usize {
        self.schedule.wave_of().len()
    }

    /// Whether there is no transaction.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of waves: the longest chain of conflicting transactions.
    pub fn wave_count(&self) -> usize {
        self.schedule.wave_count()
    }

    /// The waves in execution order, each as its transaction indices in submission order.
    pub fn waves(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        self.schedule.waves()
    }

    /// The wave (0-based) of every transaction, in submission order.
    pub fn wave_of(&self) -> &[u32] {
        self.schedule.wave_of()
    }

    /// Every transaction index, grouped by wave (wave 0 first), submission order inside a
    /// wave: a serial order equivalent to submission order.
    pub fn order(&self) -> &[u32] {
        self.schedule.order()
    }

    /// Calls `f(i)` once for every transaction `i`, wave by wave, with the default
    /// [`RunOptions`], on `pool` or, when `None`, on the current rayon pool (the global
    /// one outside any pool). Every call of a wave returns before a call of a later wave
    /// starts, so `f` is never called concurrently for two conflicting transactions.
    pub fn run<F: Fn(usize) + Sync>(&self, pool: Option<&rayon::ThreadPool>, f: F) {
        self.run_with(pool, RunOptions::default(), f)
    }

    /// [`WaveSchedule::run`] with explicit [`RunOptions`].
    pub fn run_with<F: Fn(usize) + Sync>(
        &self,
        pool: Option<&rayon::ThreadPool>,
        options: RunOptions,
        f: F,
    ) {
        match pool {
            Some(pool) => pool.install(|| self.run_here(options, &f)),
            None => self.run_here(options, &f),
        }
    }

    /// The runner on the current pool: large waves split into chunks in parallel;
    /// consecutive small waves form one segment in wave order (a valid serial order,
    /// since it is the order of [`WaveSchedule::order`]), so a hot chain of
    /// one-transaction waves costs no fork/join per wave. A segment is split into chains
    /// (transactions linked through keys whose accesses in the segment do not all
    /// commute), which run side by side, each in wave order: several hot keys' chains
    /// use several threads, as the block executor's do.
    fn run_here<F: Fn(usize) + Sync>(&self, options: RunOptions, f: &F) {
        let order = self.schedule.order();
        let parallel = rayon::current_num_threads() > 1;
        let parallel_min = options.parallel_min.max(1);
        let chunk_min = options.chunk_min.max(1);
        let mut chains = ChainSplitter::new(self.key_count);
        let mut w = 0;
        while w < self.wave_count() {
            let range = self.schedule.wave_range(w);
            w += 1;
            if parallel && range.len() >= parallel_min {
                order[range]
                    .par_iter()
                    .with_min_len(chunk_min)
                    .for_each(|&i| f(i as usize));
                continue;
            }
            let start = range.start;
            let mut end = range.end;
            while w < self.wave_count() {
                let next = self.schedule.wave_range(w);
                if parallel && next.len() >= parallel_min {
                    break;
                }
                end = next.end;
                w += 1;
            }
            let segment = &order[start..end];
            if !parallel || segment.len() < 2 {
                segment.iter().for_each(|&i| f(i as usize));
                continue;
            }
            let groups = chains.split(self, segment);
            if groups.len() == 1 {
                segment.iter().for_each(|&i| f(i as usize));
            } else {
                groups
                    .par_iter()
                    .with_max_len(1)
                    .for_each(|chain| chain.iter().for_each(|&i| f(i as usize)));
            }
        }
    }

    /// Transaction `i`'s key slots and modes.
    fn accesses_of(&self, i: usize) -> impl Iterator<Item = (usize, Mode)> + '_ {
        let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        self.slots[a..b]
            .iter()
            .zip(&self.modes[a..b])
            .map(|(&s, &m)| (s as usize, m))
    }
}

/// Splits a segment of consecutive waves into chains with union-find over positions,
/// stamping key slots per segment so nothing is cleared between segments.
struct ChainSplitter {
    /// Per key slot: the segment (1-based stamp) `mode` and `first` describe.
    seen: Vec<u32>,
    /// Join of the modes of the key's accesses in that segment.
    mode: Vec<Mode>,
    /// Per key slot: the stamp `first` belongs to, and the first position linked through it.
    linked: Vec<u32>,
    first: Vec<u32>,
    stamp: u32,
    parent: Vec<u32>,
}

impl ChainSplitter {
    fn new(keys: usize) -> ChainSplitter {
        ChainSplitter {
            seen: vec![0; keys],
            mode: vec![Mode::Read; keys],
            linked: vec![0; keys],
            first: vec![0; keys],
            stamp: 0,
            parent: Vec::new(),
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

    /// The chains of `segment` (transaction indices in wave order), each in that order.
    /// Two transactions share a chain when they touch a key whose accesses within the
    /// segment do not all commute (not all reads, not all credits).
    fn split(&mut self, schedule: &WaveSchedule, segment: &[u32]) -> Vec<Vec<u32>> {
        self.stamp += 1;
        let stamp = self.stamp;
        for &i in segment {
            for (slot, m) in schedule.accesses_of(i as usize) {
                if self.seen[slot] == stamp {
                    self.mode[slot] = self.mode[slot].join(m);
                } else {
                    self.seen[slot] = stamp;
                    self.mode[slot] = m;
                }
            }
        }
        self.parent.clear();
        self.parent.extend(0..segment.len() as u32);
        for (pos, &i) in segment.iter().enumerate() {
            for (slot, _) in schedule.accesses_of(i as usize) {
                if !matches!(self.mode[slot], Mode::Write) {
                    continue;
                }
                if self.linked[slot] != stamp {
                    self.linked[slot] = stamp;
                    self.first[slot] = pos as u32;
                } else {
                    let a = Self::find(&mut self.parent, self.first[slot]);
                    let b = Self::find(&mut self.parent, pos as u32);
                    // The smaller position is the root: a chain's root is its first tx.
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    self.parent[hi as usize] = lo;
                }
            }
        }
        let mut chain_of_root: HashMap<u32, usize> = HashMap::new();
        let mut chains: Vec<Vec<u32>> = Vec::new();
        for (pos, &i) in segment.iter().enumerate() {
            let root = Self::find(&mut self.parent, pos as u32);
            let c = *chain_of_root.entry(root).or_insert_with(|| {
                chains.push(Vec::new());
                chains.len() - 1
            });
            chains[c].push(i);
        }
        chains
    }
}
