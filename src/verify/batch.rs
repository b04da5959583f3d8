//! `zip215`: txwave's own batch verifier, written on curve25519-dalek's public API.
//!
//! # Decoding (as ed25519-zebra 5 `VerificationKey::verify`)
//! - A: `CompressedEdwardsY::decompress` of the key bytes; non-canonical encodings
//!   (y ≥ p, and x = 0 with the sign bit set) are accepted. From the [`KeyCache`].
//! - R: the same decompression of the signature's first 32 bytes, non-canonical accepted.
//! - S: the last 32 bytes must be the canonical encoding of an integer below ℓ
//!   (`Scalar::from_canonical_bytes`).
//! - k = SHA-512(R_bytes ‖ A_bytes ‖ M) reduced mod ℓ, over the bytes as given.
//! - Accept iff `[8]([S]B − R − [k]A)` is the identity (checked as `[8](R − R')` with
//!   `R' = [S]B − [k]A`).
//!
//! A signature that fails to decode is rejected on its own and never joins a batch.
//!
//! # Batches
//! The decoded signatures of a batch are checked together with one multiscalar
//! multiplication: `[8]( −(Σ zᵢSᵢ)B + Σ zᵢRᵢ + Σ_A (Σ_{i: Aᵢ = A} zᵢkᵢ) A ) = 0`, each zᵢ
//! a fresh 128-bit integer drawn from `rand::rng()` (rand 0.10's `ThreadRng`: ChaCha12,
//! seeded from the operating system's generator and reseeded every 64 KiB of output; a
//! cryptographically secure generator, so a signer cannot predict the coefficients and
//! make the errors of invalid signatures cancel). The coefficients of one key are merged
//! into one term (callers sort by key, so a key's signatures are adjacent). If every
//! signature is valid the sum is zero; if one is not, it is non-zero except with
//! probability about 2⁻¹²⁸, so a passing batch accepts all its members.
//!
//! A failing batch is searched ([`Search`]) for the invalid members, re-using the points
//! already decompressed: sub-batches with fresh coefficients, and at the leaves single
//! checks `[8](R − ([S]B − [k]A)) = 0` that are exactly zebra's equation. Batch sizes adapt
//! to the share of invalid signatures seen so far ([`Zip215Options`]), starting from the
//! share the key cache remembers from recent calls ([`KeyCache::invalid_share`]).

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand10::{Rng, RngExt};
use rayon::prelude::*;
use sha2::{Digest, Sha512};

use super::SigCheck;
use super::cache::{CacheStats, KeyCache, TaskKeys};

/// `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod ℓ`, as both oracle crates compute it.
pub(crate) fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    let digest = h.finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// How a failing batch is searched for its invalid signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Check every member on its own.
    Singles,
    /// Halve: check the left half as a batch; when it passes the right half is known to
    /// fail and is split without being checked. Groups of at most `leaf` are checked one
    /// by one.
    Bisect {
        /// Size at and below which members are checked on their own.
        leaf: usize,
    },
    /// Locate one invalid member with a single extra multiscalar multiplication: with
    /// the failing batch's sum `S₀ = Σ zᵢEᵢ` kept, compute `S₁ = Σ (i+1)zᵢEᵢ`; when only
    /// member `j` is invalid, `[8]S₁ = (j+1)[8]S₀`, so `j` is found by stepping through
    /// the multiples of `[8]S₀`, and `[8](S₀ − zⱼEⱼ) = 0` confirms the others are valid.
    /// Otherwise (two or more invalid) the group is halved, each half checked with fresh
    /// coefficients and located again; groups of at most `leaf` are checked one by one.
    Locate {
        /// Size at and below which members are checked on their own.
        leaf: usize,
    },
    /// Re-check in groups of `size`, then bisect the failing groups down to `leaf`.
    Groups {
        /// Group size.
        size: usize,
        /// Size at and below which members are checked on their own.
        leaf: usize,
    },
}

/// Tuning of the zip215 verifier. [`Zip215Options::default`] is what the engine uses:
/// batches of up to 2048 while clean (per signature, dalek's Pippenger multiplication
/// over 4,000 points costs about half its Straus multiplication over 100), about 0.3
/// expected invalid members per batch otherwise, and [`Search::Locate`], which measured
/// fastest at 1% invalid (`benches/verify.rs`, `zip215_search`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zip215Options {
    /// Largest batch (used while signatures are clean).
    pub max_batch: usize,
    /// Smallest batch the adaptive sizing goes down to.
    pub min_batch: usize,
    /// Batch size ≈ `target_bad / rate`, the rate of invalid signatures seen so far: the
    /// expected number of invalid members per batch.
    pub target_bad: f64,
    /// Failure search.
    pub search: Search,
    /// Signatures per rayon task (batches inside a task adapt as they go).
    pub task: usize,
}

impl Default for Zip215Options {
    fn default() -> Self {
        Zip215Options {
            max_batch: 2048,
            min_batch: 16,
            target_bad: 0.3,
            search: Search::Locate { leaf: 1 },
            task: 4096,
        }
    }
}

impl Zip215Options {
    /// Batch size after `bad` invalid signatures among `checked`.
    fn batch_size(&self, bad: usize, checked: usize) -> usize {
        // Prior: 0.25% invalid, worth 200 signatures of evidence.
        let rate = (bad as f64 + 0.5) / (checked as f64 + 200.0);
        let size = (self.target_bad / rate) as usize;
        size.clamp(self.min_batch.max(1), self.max_batch.max(1))
    }
}

/// A signature whose encodings decoded: what the batch equation needs.
#[derive(Debug, Clone, Copy)]
pub struct Decoded {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
    /// Index of A in the task's key list; equal indices are the same key.
    key: u32,
}

/// Decoded signatures of one task and their distinct keys.
#[derive(Debug, Default)]
pub struct DecodedSet {
    items: Vec<Decoded>,
    /// Position in the caller's slice of each decoded signature.
    at: Vec<usize>,
    keys: Vec<EdwardsPoint>,
}

impl DecodedSet {
    /// Decodes `items` (keys from `keys`): `out[i]` is set to false for every signature
    /// that fails to decode, and the others are kept, in order, for the batch checks.
    fn decode(items: &[SigCheck<'_>], out: &mut [bool], keys: &mut TaskKeys<'_>) -> DecodedSet {
        let mut set = DecodedSet {
            items: Vec::with_capacity(items.len()),
            at: Vec::with_capacity(items.len()),
            keys: Vec::new(),
        };
        let mut key_ok = false;
        for (i, item) in items.iter().enumerate() {
            out[i] = false;
            let (key, same) = keys.get(&item.public_key);
            if !same {
                key_ok = false;
                if let Some(k) = key {
                    set.keys.push(*k.point());
                    key_ok = true;
                }
            }
            if !key_ok {
                continue;
            }
            let mut s_bytes = [0u8; 32];
            s_bytes.copy_from_slice(&item.signature[32..]);
            let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
                continue;
            };
            let mut r_bytes = [0u8; 32];
            r_bytes.copy_from_slice(&item.signature[..32]);
            let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
                continue;
            };
            let k = challenge(&r_bytes, &item.public_key, item.message);
            set.items.push(Decoded {
                r,
                s,
                k,
                key: (set.keys.len() - 1) as u32,
            });
            set.at.push(i);
        }
        set
    }

    /// Decodes `items` without a cache; for tests and tools that build batches by hand.
    /// Returns the set and, for each item, whether it decoded.
    pub fn from_checks(items: &[SigCheck<'_>]) -> (DecodedSet, Vec<bool>) {
        let cache = KeyCache::new(0);
        let mut keys = TaskKeys::new(&cache);
        let mut out = vec![false; items.len()];
        let set = DecodedSet::decode(items, &mut out, &mut keys);
        let mut decoded = vec![false; items.len()];
        for &i in &set.at {
            decoded[i] = true;
        }
        (set, decoded)
    }

    /// Number of decoded signatures.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no signature decoded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the batch equation holds for all decoded signatures together, with fresh
    /// random coefficients from `rng` (false when it fails: some member is invalid, up to
    /// a 2⁻¹²⁸ chance of a wrong true).
    pub fn batch_holds<R: Rng + ?Sized>(&self, rng: &mut R) -> bool {
        batch_holds(&self.items, &self.keys, rng)
    }

    /// The batch equation with the coefficients the caller gives (one per signature),
    /// for tests that show why the coefficients must be random.
    pub fn batch_holds_with(&self, coefficients: &[Scalar]) -> bool {
        equation(&self.items, &self.keys, coefficients.iter().copied())
    }
}

/// `[8](−(Σ zᵢSᵢ)B + Σ zᵢRᵢ + Σ_A (Σ zᵢkᵢ)A) == 0` with fresh 128-bit zᵢ.
fn batch_holds<R: Rng + ?Sized>(items: &[Decoded], keys: &[EdwardsPoint], rng: &mut R) -> bool {
    let z = coefficients(items.len(), rng);
    holds(&combination(items, keys, z.iter().copied()))
}

/// `n` fresh 128-bit coefficients.
fn coefficients<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Scalar> {
    (0..n).map(|_| Scalar::from(rng.random::<u128>())).collect()
}

/// Whether a combination of error terms vanishes up to torsion.
fn holds(sum: &EdwardsPoint) -> bool {
    sum.mul_by_cofactor().is_identity()
}

fn equation(items: &[Decoded], keys: &[EdwardsPoint], z: impl Iterator<Item = Scalar>) -> bool {
    holds(&combination(items, keys, z))
}

/// `Σ zᵢEᵢ` with `Eᵢ = Rᵢ − [Sᵢ]B + [kᵢ]Aᵢ`, as one multiscalar multiplication with the
/// coefficients of each run of one key merged.
fn combination(
    items: &[Decoded],
    keys: &[EdwardsPoint],
    z: impl Iterator<Item = Scalar>,
) -> EdwardsPoint {
    let n = items.len();
    let mut scalars = Vec::with_capacity(2 * n + 1);
    let mut points = Vec::with_capacity(2 * n + 1);
    scalars.push(Scalar::ZERO);
    points.push(ED25519_BASEPOINT_POINT);
    let mut a_scalars: Vec<Scalar> = Vec::with_capacity(n);
    let mut a_points: Vec<EdwardsPoint> = Vec::with_capacity(n);
    let mut b = Scalar::ZERO;
    let mut current: Option<u32> = None;
    for (it, z) in items.iter().zip(z) {
        b -= z * it.s;
        scalars.push(z);
        points.push(it.r);
        let zk = z * it.k;
        match (current, a_scalars.last_mut()) {
            (Some(key), Some(acc)) if key == it.key => *acc += zk,
            _ => {
                a_scalars.push(zk);
                a_points.push(keys[it.key as usize]);
                current = Some(it.key);
            }
        }
    }
    scalars[0] = b;
    scalars.extend(a_scalars);
    points.extend(a_points);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
}

/// The error term `E = R − ([S]B − [k]A)` of one signature.
fn error_term(item: &Decoded, keys: &[EdwardsPoint]) -> EdwardsPoint {
    let minus_a = -keys[item.key as usize];
    item.r - EdwardsPoint::vartime_double_scalar_mul_basepoint(&item.k, &minus_a, &item.s)
}

/// zebra's single equation on decoded points: `[8](R − ([S]B − [k]A)) = 0`.
fn single_holds(item: &Decoded, keys: &[EdwardsPoint]) -> bool {
    holds(&error_term(item, keys))
}

/// [`Search::Locate`] on a failing group whose coefficients `z` gave the sum `s0`.
#[allow(clippy::too_many_arguments)]
fn locate<R: Rng + ?Sized>(
    items: &[Decoded],
    keys: &[EdwardsPoint],
    out: &mut [bool],
    z: &[Scalar],
    s0: &EdwardsPoint,
    leaf: usize,
    rng: &mut R,
) {
    let n = items.len();
    if n <= leaf.max(1) {
        for (it, o) in items.iter().zip(out.iter_mut()) {
            *o = single_holds(it, keys);
        }
        return;
    }
    let weighted = z
        .iter()
        .enumerate()
        .map(|(i, z)| Scalar::from(i as u64 + 1) * z);
    let p1 = combination(items, keys, weighted).mul_by_cofactor();
    let p0 = s0.mul_by_cofactor();
    let mut multiple = p0;
    for j in 0..n {
        if multiple == p1 {
            let rest = s0 - z[j] * error_term(&items[j], keys);
            if holds(&rest) {
                out.fill(true);
                out[j] = false;
                return;
            }
            break;
        }
        multiple += p0;
    }
    // Two or more invalid: halve, check each half with fresh coefficients.
    let (l, r) = items.split_at(n / 2);
    let (lo, ro) = out.split_at_mut(n / 2);
    for (items, out) in [(l, lo), (r, ro)] {
        let z = coefficients(items.len(), rng);
        let s0 = combination(items, keys, z.iter().copied());
        if holds(&s0) {
            out.fill(true);
        } else {
            locate(items, keys, out, &z, &s0, leaf, rng);
        }
    }
}

/// Finds the invalid members of `items` (`known_bad`: the caller saw this group fail).
fn search<R: Rng + ?Sized>(
    items: &[Decoded],
    keys: &[EdwardsPoint],
    out: &mut [bool],
    known_bad: bool,
    how: Search,
    rng: &mut R,
) {
    let n = items.len();
    let leaf = match how {
        Search::Singles => usize::MAX,
        Search::Bisect { leaf } | Search::Groups { leaf, .. } | Search::Locate { leaf } => {
            leaf.max(1)
        }
    };
    if n <= leaf {
        for (it, o) in items.iter().zip(out.iter_mut()) {
            *o = single_holds(it, keys);
        }
        return;
    }
    if !known_bad && batch_holds(items, keys, rng) {
        out.fill(true);
        return;
    }
    if let Search::Groups { size, leaf } = how
        && n > size.max(2)
    {
        let inner = Search::Bisect { leaf };
        for (items, out) in items.chunks(size).zip(out.chunks_mut(size)) {
            search(items, keys, out, false, inner, rng);
        }
        return;
    }
    let (l, r) = items.split_at(n / 2);
    let (lo, ro) = out.split_at_mut(n / 2);
    search(l, keys, lo, false, how, rng);
    let left_ok = lo.iter().all(|&ok| ok);
    search(r, keys, ro, left_ok, how, rng);
}

/// Verdicts for one task's decoded signatures, in adaptive batches. Returns how many
/// were invalid.
fn check_set<R: Rng + ?Sized>(
    set: &DecodedSet,
    verdicts: &mut [bool],
    opts: &Zip215Options,
    prior: (usize, usize),
    rng: &mut R,
) -> usize {
    let (mut bad, mut checked) = prior;
    let mut local_bad = 0;
    let mut at = 0;
    while at < set.items.len() {
        let size = opts.batch_size(bad, checked).min(set.items.len() - at);
        let range = at..at + size;
        let items = &set.items[range.clone()];
        let out = &mut verdicts[range];
        let z = coefficients(items.len(), rng);
        let s0 = combination(items, &set.keys, z.iter().copied());
        if holds(&s0) {
            out.fill(true);
        } else if let Search::Locate { leaf } = opts.search {
            locate(items, &set.keys, out, &z, &s0, leaf, rng);
        } else {
            search(items, &set.keys, out, true, opts.search, rng);
        }
        let found = out.iter().filter(|&&ok| !ok).count();
        bad += found;
        local_bad += found;
        checked += size;
        at += size;
    }
    local_bad
}

/// Checks one task: decode, then adaptive batches. `out[i]` is the verdict for `items[i]`.
fn zip215_task(
    items: &[SigCheck<'_>],
    out: &mut [bool],
    keys: &mut TaskKeys<'_>,
    opts: &Zip215Options,
    seen: &std::sync::atomic::AtomicU64,
) {
    use std::sync::atomic::Ordering;
    let set = DecodedSet::decode(items, out, keys);
    let mut verdicts = vec![false; set.items.len()];
    // The rate seen so far by the call's other tasks (bad in the high half).
    let s = seen.load(Ordering::Relaxed);
    let prior = ((s >> 32) as usize, (s & 0xffff_ffff) as usize);
    let mut rng = rand10::rng();
    let bad = check_set(&set, &mut verdicts, opts, prior, &mut rng);
    seen.fetch_add(
        ((bad as u64) << 32) | set.items.len() as u64,
        Ordering::Relaxed,
    );
    for (&i, ok) in set.at.iter().zip(verdicts) {
        out[i] = ok;
    }
}

/// Checks every signature under `zip215` with keys from `cache`; `out[i]` is the verdict
/// for `items[i]`, identical to ed25519-zebra 5 `VerificationKey::verify` on that
/// signature alone. Signatures are sorted by key so that one key's signatures share a
/// batch term; tasks run on the current rayon pool.
pub fn verify_zip215(
    items: &[SigCheck<'_>],
    cache: &KeyCache,
    opts: &Zip215Options,
) -> (Vec<bool>, CacheStats) {
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| items[i as usize].public_key);
    let sorted: Vec<SigCheck<'_>> = order.iter().map(|&i| items[i as usize]).collect();
    let mut sorted_out = vec![false; items.len()];
    // At least two tasks per worker so the split balances.
    let per_worker = items.len().div_ceil(2 * rayon::current_num_threads());
    let task = per_worker.clamp(1, opts.task.max(1));
    // The share of invalid signatures this cache's callers met recently starts the
    // adaptive batch sizing (bad in the high half, checked in the low half).
    let (bad0, checked0) = cache.invalid_share();
    let start = (bad0.min(u32::MAX as u64) << 32) | checked0.min(u32::MAX as u64);
    let seen = std::sync::atomic::AtomicU64::new(start);
    let stats = sorted_out
        .par_chunks_mut(task)
        .zip(sorted.par_chunks(task))
        .map(|(out, items)| {
            let mut keys = TaskKeys::new(cache);
            zip215_task(items, out, &mut keys, opts, &seen);
            keys.stats
        })
        .reduce(CacheStats::default, |mut a, b| {
            a.add(&b);
            a
        });
    cache.record(&stats);
    let end = seen.load(std::sync::atomic::Ordering::Relaxed);
    let invalid = (end >> 32).saturating_sub(start >> 32);
    let checked = (end & 0xffff_ffff).saturating_sub(start & 0xffff_ffff);
    cache.remember_invalid(invalid, checked);
    let mut out = vec![false; items.len()];
    for (&i, ok) in order.iter().zip(sorted_out) {
        out[i as usize] = ok;
    }
    (out, stats)
}
