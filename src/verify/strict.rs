//! `strict`: the checks of ed25519-dalek 3 `VerifyingKey::verify_strict`, on cached keys.
//!
//! dalek, from bytes, (1) decompresses A (non-canonical y accepted), (2) rejects S ≥ ℓ,
//! (3) decompresses R, (4) rejects a small-order R or A, (5) computes
//! `R' = [S]B − [k]A` with `k = SHA-512(R_bytes ‖ A_bytes ‖ M)` and accepts exactly when
//! the canonical encoding of R' equals the 32 bytes of R.
//!
//! Here A (and whether it is of small order) comes from the [`KeyCache`]. R is never
//! decompressed: when `compress(R') == R_bytes`, R_bytes is the canonical encoding of R',
//! so (3) succeeds and gives R = R', and (4) on R is (4) on R'; when they differ, dalek
//! rejects at (3) or at (5). So the verdict is `compress(R') == R_bytes` and R' not of
//! small order. The encodings of a chunk's R' are computed together with one field
//! inversion (`EdwardsPoint::compress_batch_alloc`).

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;

use super::SigCheck;
use super::batch::challenge;
use super::cache::{CacheStats, KeyCache, TaskKeys};

/// Signatures whose R' share one batched inversion.
const CHUNK: usize = 64;

/// Checks `items` (one chunk) under `strict`, writing `out[i]` for `items[i]`.
pub(crate) fn verify_chunk(items: &[SigCheck<'_>], out: &mut [bool], keys: &mut TaskKeys<'_>) {
    let mut candidates: Vec<(usize, EdwardsPoint)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out[i] = false;
        let (key, _) = keys.get(&item.public_key);
        let Some(key) = key else { continue };
        if key.is_small_order() {
            continue;
        }
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&item.signature[32..]);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            continue;
        };
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&item.signature[..32]);
        let k = challenge(&r_bytes, &item.public_key, item.message);
        let minus_a = -key.point();
        let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &minus_a, &s);
        candidates.push((i, r_prime));
    }
    if candidates.is_empty() {
        return;
    }
    let points: Vec<EdwardsPoint> = candidates.iter().map(|(_, p)| *p).collect();
    let encoded = EdwardsPoint::compress_batch_alloc(&points);
    for ((i, r_prime), enc) in candidates.iter().zip(encoded) {
        out[*i] = enc.as_bytes()[..] == items[*i].signature[..32] && !r_prime.is_small_order();
    }
}

/// Checks every signature under `strict` with keys from `cache`; `out[i]` is the verdict
/// for `items[i]`, identical to ed25519-dalek `verify_strict` from bytes.
pub fn verify_strict(items: &[SigCheck<'_>], cache: &KeyCache) -> (Vec<bool>, CacheStats) {
    use rayon::prelude::*;
    let mut out = vec![false; items.len()];
    let stats = out
        .par_chunks_mut(CHUNK)
        .zip(items.par_chunks(CHUNK))
        .map(|(out, items)| {
            let mut keys = TaskKeys::new(cache);
            verify_chunk(items, out, &mut keys);
            keys.stats
        })
        .reduce(CacheStats::default, |mut a, b| {
            a.add(&b);
            a
        });
    cache.record(&stats);
    (out, stats)
}
