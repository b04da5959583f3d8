//! CPU verifier: ed25519-dalek `verify_strict` and ed25519-zebra batches over rayon.

use rayon::prelude::*;

use super::{SigCheck, VerifyRule};

/// Signatures per zebra batch. Large enough for the multiscalar speed-up, small enough
/// that a rayon split keeps both cores busy on a few thousand signatures.
pub const ZIP215_BATCH: usize = 64;

/// Checks every signature; `out[i]` says whether `items[i]` is accepted under `rule`.
pub fn verify_signatures(items: &[SigCheck<'_>], rule: VerifyRule) -> Vec<bool> {
    match rule {
        VerifyRule::Strict => items.par_iter().map(verify_strict_one).collect(),
        VerifyRule::Zip215 => {
            let mut out = vec![false; items.len()];
            out.par_chunks_mut(ZIP215_BATCH)
                .zip(items.par_chunks(ZIP215_BATCH))
                .for_each(|(out, items)| zip215_chunk(items, out));
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

/// Verifies a chunk as zebra batches. A failing batch is bisected, so one bad signature
/// costs O(log n) extra batch checks instead of re-verifying every member one by one.
fn zip215_chunk(items: &[SigCheck<'_>], out: &mut [bool]) {
    let prepared: Vec<ed25519_zebra::batch::Item> = items
        .iter()
        .map(|it| {
            let vk = ed25519_zebra::VerificationKeyBytes::from(it.public_key);
            let sig = ed25519_zebra::Signature::from_bytes(&it.signature);
            ed25519_zebra::batch::Item::from((vk, sig, it.message))
        })
        .collect();
    bisect(&prepared, out);
}

fn bisect(items: &[ed25519_zebra::batch::Item], out: &mut [bool]) {
    match items.len() {
        0 => {}
        1 => out[0] = items[0].clone().verify_single().is_ok(),
        n => {
            let mut batch = ed25519_zebra::batch::Verifier::new();
            for item in items {
                batch.queue(item.clone());
            }
            if batch.verify(rand::thread_rng()).is_ok() {
                out.fill(true);
            } else {
                let (l, r) = items.split_at(n / 2);
                let (lo, ro) = out.split_at_mut(n / 2);
                bisect(l, lo);
                bisect(r, ro);
            }
        }
    }
}
