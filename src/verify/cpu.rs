//! CPU verifier: ed25519-dalek `verify_strict` and ed25519-zebra batches over rayon.

use rayon::prelude::*;

use super::{SigCheck, VerifyRule};

/// Largest zebra batch. Bigger batches amortise more (repeated keys coalesce, the
/// multiscalar multiplication gets cheaper per point), but a failing batch wastes its
/// whole cost, so the size is capped.
pub const ZIP215_MAX_BATCH: usize = 128;
/// Smallest batch the adaptive sizing goes down to.
pub const ZIP215_MIN_BATCH: usize = 8;
/// Size of the groups a failing batch is re-checked in before bisection starts.
pub const ZIP215_SPLIT: usize = 16;
/// Signatures per rayon task; inside a task, batches adapt to the failures seen so far.
const ZIP215_TASK: usize = 2048;

/// Batch size for an estimated share `bad` of invalid signatures. A batch of `b` fails
/// with probability ≈ `b·bad` and then costs about twice over, so the best size is near
/// `k / bad` for a small constant `k`. Measured with the AVX2 backend on the generated
/// workload, 2 cores: at 1% bad signatures, batches of 16 verified 103k sig/s against 79k/s
/// for 128; with none bad, 128 gave 155k/s against 131k/s for 16. With the IFMA backend
/// (`cargo bench --bench e2e -- zip215/cpu/verify_raw`, 100k signatures, 1% bad, `k`
/// varied in one session): k = 0.08 → 154k sig/s, 0.16 → 149–151k, 0.32 → 137–139k,
/// 0.64 → 130k. 0.16 is kept: within 3% of the best at 1% bad, and clean blocks keep
/// batches of 128.
fn zip215_batch_size(bad_seen: usize, checked: usize) -> usize {
    // Prior: 0.1% bad, worth 100 signatures of evidence.
    let rate = (bad_seen as f64 + 0.1) / (checked as f64 + 100.0);
    ((0.16 / rate) as usize).clamp(ZIP215_MIN_BATCH, ZIP215_MAX_BATCH)
}

/// Checks every signature; `out[i]` says whether `items[i]` is accepted under `rule`.
pub fn verify_signatures(items: &[SigCheck<'_>], rule: VerifyRule) -> Vec<bool> {
    match rule {
        VerifyRule::Strict => items.par_iter().map(verify_strict_one).collect(),
        VerifyRule::Zip215 => {
            // Batches are formed over items sorted by key: zebra merges the A terms of
            // one key inside a batch, so signatures of a busy signer share one point.
            let mut order: Vec<u32> = (0..items.len() as u32).collect();
            order.par_sort_unstable_by_key(|&i| items[i as usize].public_key);
            let sorted: Vec<SigCheck<'_>> = order.iter().map(|&i| items[i as usize]).collect();
            let mut sorted_out = vec![false; items.len()];
            // At least two tasks per worker so the split balances.
            let per_worker = items.len().div_ceil(2 * rayon::current_num_threads());
            let task = per_worker.clamp(1, ZIP215_TASK);
            sorted_out
                .par_chunks_mut(task)
                .zip(sorted.par_chunks(task))
                .for_each(|(out, items)| zip215_task(items, out));
            let mut out = vec![false; items.len()];
            for (&i, ok) in order.iter().zip(sorted_out) {
                out[i as usize] = ok;
            }
            out
        }
    }
}

/// One signature under ed25519-dalek's `verify_strict`.
pub fn verify_strict_one(item: &SigCheck<'_>) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&item.public_key) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&item.signature);
    key.verify_strict(item.message, &sig).is_ok()
}

/// One signature under ed25519-zebra (ZIP-215).
pub fn verify_zip215_one(item: &SigCheck<'_>) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(item.public_key) else {
        return false;
    };
    let sig = ed25519_zebra::Signature::from_bytes(&item.signature);
    key.verify(&sig, item.message).is_ok()
}

/// Verifies one task's signatures as zebra batches whose size follows the share of bad
/// signatures found so far. A failing batch is re-checked in groups, then bisected, so a
/// bad signature costs O(log n) extra batch checks instead of re-verifying every member
/// one by one.
fn zip215_task(items: &[SigCheck<'_>], out: &mut [bool]) {
    let prepared: Vec<ed25519_zebra::batch::Item> = items
        .iter()
        .map(|it| {
            let vk = ed25519_zebra::VerificationKeyBytes::from(it.public_key);
            let sig = ed25519_zebra::Signature::from_bytes(&it.signature);
            ed25519_zebra::batch::Item::from((vk, sig, it.message))
        })
        .collect();
    let (mut at, mut bad_seen) = (0, 0);
    while at < prepared.len() {
        let size = zip215_batch_size(bad_seen, at).min(prepared.len() - at);
        let range = at..at + size;
        bisect(&prepared[range.clone()], &mut out[range.clone()], false);
        bad_seen += out[range].iter().filter(|&&ok| !ok).count();
        at += size;
    }
}

/// Batch-checks `items`; `known_bad` says the caller already knows the batch fails (its
/// sibling passed), so the whole-batch check is skipped.
fn bisect(items: &[ed25519_zebra::batch::Item], out: &mut [bool], known_bad: bool) {
    match items.len() {
        0 => {}
        1 => out[0] = items[0].clone().verify_single().is_ok(),
        n => {
            if !known_bad && batch_ok(items) {
                out.fill(true);
                return;
            }
            let split = ZIP215_SPLIT;
            if n > split {
                // Re-check in groups first: with a few bad signatures most groups pass.
                for (items, out) in items.chunks(split).zip(out.chunks_mut(split)) {
                    bisect(items, out, false);
                }
                return;
            }
            let (l, r) = items.split_at(n / 2);
            let (lo, ro) = out.split_at_mut(n / 2);
            bisect(l, lo, false);
            // The whole failed: if the left half passed, the right half must fail.
            let left_ok = lo.iter().all(|&ok| ok);
            bisect(r, ro, left_ok);
        }
    }
}

fn batch_ok(items: &[ed25519_zebra::batch::Item]) -> bool {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for item in items {
        batch.queue(item.clone());
    }
    batch.verify(rand10::rng()).is_ok()
}
