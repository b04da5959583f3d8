//! Pipeline stage 5, schedule: the conflict-graph colourer that groups txs into waves.
//!
//! Keys and modes (DESIGN.md): the signer account and a swap's pool are **Write**; a
//! transfer recipient and the fee collector are **Credit**. Write conflicts with Write and
//! Credit on the same key; credits commute. ASAP layering: wave of a tx = 1 + max over its
//! keys of (Write: latest wave of any earlier access; Credit: latest wave of an earlier
//! Write). This equals the longest dependency chain, the fewest waves any serial-equivalent
//! schedule can have. Txs rejected at steps 1–2 take no wave.

use std::collections::HashMap;

use crate::resolve::{NO_ACCOUNT, Resolved, ResolvedBlock};
use crate::tx::Action;

/// Sentinel: the tx takes no wave (rejected at steps 1–2).
pub const NO_WAVE: u32 = u32::MAX;

/// Waves of one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Wave (0-based) of every tx, or [`NO_WAVE`].
    pub wave_of: Vec<u32>,
    /// Tx indices of every wave, block order inside a wave.
    pub waves: Vec<Vec<u32>>,
}

/// Latest accesses of one key.
#[derive(Clone, Copy, Default)]
struct Last {
    /// 1 + wave of the latest Write (0 = none).
    write: u32,
    /// 1 + wave of the latest access of any mode (0 = none).
    any: u32,
}

impl Schedule {
    /// ASAP layering of a resolved block. `account_count` bounds the account indices.
    pub fn build(block: &ResolvedBlock, account_count: usize) -> Schedule {
        let mut accounts = vec![Last::default(); account_count];
        let mut pools: HashMap<u32, Last> = HashMap::new();
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
                    for c in [*recipient, fc] {
                        if c != NO_ACCOUNT {
                            level = level.max(accounts[c as usize].write);
                        }
                    }
                    let level = level + 1;
                    s.write = level;
                    s.any = level;
                    for c in [*recipient, fc] {
                        if c != NO_ACCOUNT {
                            let a = &mut accounts[c as usize];
                            a.any = a.any.max(level);
                        }
                    }
                    level
                }
                Resolved::Ready(tx) => {
                    let pool = match tx.tx.action {
                        Action::Swap(s) => Some(s.pool),
                        Action::Transfer(_) => None,
                    };
                    let mut level = accounts[tx.signer as usize].any;
                    if let Some(p) = pool {
                        level = level.max(pools.get(&p).map_or(0, |l| l.any));
                    }
                    for c in [tx.recipient, fc] {
                        if c != NO_ACCOUNT && c != tx.signer {
                            level = level.max(accounts[c as usize].write);
                        }
                    }
                    let level = level + 1;
                    let s = &mut accounts[tx.signer as usize];
                    s.write = level;
                    s.any = level;
                    if let Some(p) = pool {
                        let l = pools.entry(p).or_default();
                        l.write = level;
                        l.any = level;
                    }
                    for c in [tx.recipient, fc] {
                        if c != NO_ACCOUNT {
                            let a = &mut accounts[c as usize];
                            a.any = a.any.max(level);
                        }
                    }
                    level
                }
            };
            wave_of[i] = level - 1;
            count = count.max(level);
        }
        // Counting sort into waves, keeping block order inside each wave.
        let mut sizes = vec![0usize; count as usize];
        for &w in wave_of.iter().filter(|&&w| w != NO_WAVE) {
            sizes[w as usize] += 1;
        }
        let mut waves: Vec<Vec<u32>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
        for (i, &w) in wave_of.iter().enumerate() {
            if w != NO_WAVE {
                waves[w as usize].push(i as u32);
            }
        }
        Schedule { wave_of, waves }
    }

    /// Number of waves.
    pub fn wave_count(&self) -> usize {
        self.waves.len()
    }

    /// Txs in the largest wave.
    pub fn largest_wave(&self) -> usize {
        self.waves.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Txs that take a wave.
    pub fn scheduled(&self) -> usize {
        self.waves.iter().map(Vec::len).sum()
    }

    /// Histogram: `(size, number of waves of that size)`, ascending by size.
    pub fn histogram(&self) -> Vec<(usize, usize)> {
        let mut h: std::collections::BTreeMap<usize, usize> = Default::default();
        for w in &self.waves {
            *h.entry(w.len()).or_default() += 1;
        }
        h.into_iter().collect()
    }
}
