//! A bounded, concurrent cache of decompressed signer keys, shared by both rules.
//!
//! Decompressing a public key costs a field square root; validators see the same signers
//! block after block, so [`KeyCache`] keeps `key bytes → point` (and whether the point
//! is of small order, which `strict` rejects). Decompression is a pure function of the
//! bytes, so a cached answer is always the answer a fresh decompression would give; a key
//! that fails to decompress is cached as failing. The map is a `quick_cache` sync cache
//! (sharded, CLOCK-Pro eviction), bounded in entries.
//!
//! The cache also remembers the recent share of invalid signatures its callers met
//! ([`KeyCache::invalid_share`]): zip215 sizes its first batches of a call from it rather
//! than from a fixed guess, which matters for a service that verifies many small calls.
//! Like the keys, it only changes how fast a verdict comes, never the verdict.

use std::sync::atomic::{AtomicU64, Ordering};

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};

/// Default bound of an engine's key cache, in entries. One entry holds the 32 key bytes
/// and a decompressed point (160 bytes) with its flags, about 220 bytes with the map's
/// own bookkeeping, so the default takes about 55 MB when full.
pub const DEFAULT_KEY_CACHE_ENTRIES: usize = 250_000;

/// Signatures whose verdicts [`KeyCache::invalid_share`] remembers, about.
pub const RECENT_WINDOW: u64 = 8192;

/// A public key after decompression: the point, and whether it has small order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedKey {
    point: EdwardsPoint,
    small_order: bool,
}

impl DecodedKey {
    /// Decompresses `bytes` exactly as curve25519-dalek's `CompressedEdwardsY::decompress`
    /// does (non-canonical y accepted, as ed25519-zebra and ed25519-dalek both accept it
    /// for A); `None` when the bytes are not the y-coordinate of a curve point.
    pub fn decode(bytes: &[u8; 32]) -> Option<DecodedKey> {
        CompressedEdwardsY(*bytes)
            .decompress()
            .map(|point| DecodedKey {
                point,
                small_order: point.is_small_order(),
            })
    }

    /// The decompressed point A.
    pub fn point(&self) -> &EdwardsPoint {
        &self.point
    }

    /// Whether A has small order (`[8]A` is the identity); `strict` rejects such keys.
    pub fn is_small_order(&self) -> bool {
        self.small_order
    }
}

/// Cache lookups made by one call (or, from [`KeyCache::totals`], over a cache's life).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that decompressed the key (and stored the result).
    pub misses: u64,
}

impl CacheStats {
    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &CacheStats) {
        self.hits += o.hits;
        self.misses += o.misses;
    }
}

/// Decompressed public keys by their 32 bytes, bounded in entries and safe to share
/// between threads. A bound of 0 disables caching: every lookup decompresses.
pub struct KeyCache {
    map: Option<quick_cache::sync::Cache<[u8; 32], Option<DecodedKey>>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Invalid and checked signatures of recent calls, decayed
    /// ([`KeyCache::remember_invalid`]).
    recent: std::sync::Mutex<(f64, f64)>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("totals", &self.totals())
            .finish()
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(DEFAULT_KEY_CACHE_ENTRIES)
    }
}

impl KeyCache {
    /// A cache holding at most about `entries` keys (0: no caching).
    pub fn new(entries: usize) -> KeyCache {
        KeyCache {
            map: (entries > 0).then(|| quick_cache::sync::Cache::new(entries)),
            capacity: entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            recent: std::sync::Mutex::new((0.0, 0.0)),
        }
    }

    /// Invalid and checked signatures remembered from recent zip215 calls (about the last
    /// [`RECENT_WINDOW`] signatures; `(0, 0)` for a cache that caches nothing, so that
    /// one-off calls start from the verifier's fixed prior).
    pub fn invalid_share(&self) -> (u64, u64) {
        if self.map.is_none() {
            return (0, 0);
        }
        let r = *self.recent.lock().unwrap_or_else(|p| p.into_inner());
        (r.0.round() as u64, r.1.round() as u64)
    }

    /// Adds one call's `invalid` among `checked` to the recent share, keeping the weight
    /// of the past to about [`RECENT_WINDOW`] signatures.
    pub(crate) fn remember_invalid(&self, invalid: u64, checked: u64) {
        if self.map.is_none() || checked == 0 {
            return;
        }
        let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        r.0 += invalid as f64;
        r.1 += checked as f64;
        if r.1 > RECENT_WINDOW as f64 {
            let keep = RECENT_WINDOW as f64 / r.1;
            r.0 *= keep;
            r.1 *= keep;
        }
    }

    /// The bound this cache was created with, in entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys held now (never more than the bound, give or take the rounding of the
    /// cache's shards).
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len())
    }

    /// Whether the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups over the cache's life (every call that went through it added its counts).
    pub fn totals(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Drops every cached key (the counters stay).
    pub fn clear(&self) {
        if let Some(m) = &self.map {
            m.clear();
        }
    }

    /// The decoded key for `bytes` (`None`: it does not decompress), and whether the
    /// answer came from the cache. Concurrent lookups of one missing key decompress it
    /// once; the others wait for that result.
    pub fn lookup(&self, bytes: &[u8; 32]) -> (Option<DecodedKey>, bool) {
        let Some(map) = &self.map else {
            return (DecodedKey::decode(bytes), false);
        };
        let mut missed = false;
        let value = map.get_or_insert_with(bytes, || {
            missed = true;
            Ok::<_, std::convert::Infallible>(DecodedKey::decode(bytes))
        });
        let value = match value {
            Ok(v) => v,
            Err(never) => match never {},
        };
        (value, !missed)
    }

    /// Decompresses keys from `keys`, in order, into the cache until it holds its bound,
    /// and returns how many it stored. Keys already cached are passed over; a key that
    /// does not decompress is stored as failing, as a lookup would store it. Runs on the
    /// calling rayon pool; the hit and miss counters are not touched (no signature asked
    /// for these keys).
    ///
    /// Filling the cache from a state's account keys before the first block makes the
    /// cache's memory a cost paid at start-up, set by the bound, rather than one that grows
    /// as a long log meets new signers, and takes the decompressions off the blocks.
    pub fn warm(&self, keys: &[[u8; 32]]) -> usize {
        use rayon::prelude::*;
        let Some(map) = &self.map else {
            return 0;
        };
        let room = self.capacity.saturating_sub(map.len());
        let fresh: Vec<&[u8; 32]> = keys
            .iter()
            .filter(|k| map.peek(*k).is_none())
            .take(room)
            .collect();
        fresh
            .par_chunks(1024)
            .map(|chunk| {
                for k in chunk {
                    map.insert(**k, DecodedKey::decode(k));
                }
                chunk.len()
            })
            .sum()
    }

    /// Adds one call's counts to the life totals.
    pub(crate) fn record(&self, stats: &CacheStats) {
        if stats.hits > 0 {
            self.hits.fetch_add(stats.hits, Ordering::Relaxed);
        }
        if stats.misses > 0 {
            self.misses.fetch_add(stats.misses, Ordering::Relaxed);
        }
    }
}

/// Looks keys up for one task and counts the hits and misses; a run of equal keys (the
/// zip215 path sorts by key) costs one lookup.
pub(crate) struct TaskKeys<'c> {
    cache: &'c KeyCache,
    last: Option<([u8; 32], Option<DecodedKey>)>,
    pub(crate) stats: CacheStats,
}

impl<'c> TaskKeys<'c> {
    pub(crate) fn new(cache: &'c KeyCache) -> Self {
        TaskKeys {
            cache,
            last: None,
            stats: CacheStats::default(),
        }
    }

    /// The key for `bytes`, and whether it is the same key as the previous call's.
    pub(crate) fn get(&mut self, bytes: &[u8; 32]) -> (Option<DecodedKey>, bool) {
        if let Some((b, k)) = &self.last
            && b == bytes
        {
            self.stats.hits += 1;
            return (*k, true);
        }
        let (k, hit) = self.cache.lookup(bytes);
        if hit {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        self.last = Some((*bytes, k));
        (k, false)
    }
}
