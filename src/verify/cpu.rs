//! CPU verifier over rayon: txwave's own `strict` ([`super::strict`]) and `zip215`
//! ([`super::batch`]) verifiers on cached keys, and the two oracle crates one signature at
//! a time (ed25519-dalek `verify_strict`, ed25519-zebra `verify`), which the reference
//! executor and the tests compare against.

use super::batch::{Zip215Options, verify_zip215};
use super::cache::{CacheStats, KeyCache};
use super::strict::verify_strict;
use super::{SigCheck, VerifyRule};

/// Checks every signature; `out[i]` says whether `items[i]` is accepted under `rule`.
/// Keys are decompressed afresh (a cache that lives only for this call); an engine keeps
/// one [`KeyCache`] across blocks and calls [`verify_signatures_cached`].
pub fn verify_signatures(items: &[SigCheck<'_>], rule: VerifyRule) -> Vec<bool> {
    let cache = KeyCache::new(0);
    verify_signatures_cached(items, rule, &cache).0
}

/// Checks every signature with keys from `cache`; returns the verdicts (`out[i]` for
/// `items[i]`) and this call's cache hits and misses. Runs on the current rayon pool.
pub fn verify_signatures_cached(
    items: &[SigCheck<'_>],
    rule: VerifyRule,
    cache: &KeyCache,
) -> (Vec<bool>, CacheStats) {
    match rule {
        VerifyRule::Strict => verify_strict(items, cache),
        VerifyRule::Zip215 => verify_zip215(items, cache, &Zip215Options::default()),
    }
}

/// One signature under ed25519-dalek's `verify_strict` (the oracle of `strict`).
pub fn verify_strict_one(item: &SigCheck<'_>) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&item.public_key) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&item.signature);
    key.verify_strict(item.message, &sig).is_ok()
}

/// One signature under ed25519-zebra's `VerificationKey::verify` (the oracle of `zip215`).
pub fn verify_zip215_one(item: &SigCheck<'_>) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(item.public_key) else {
        return false;
    };
    let sig = ed25519_zebra::Signature::from_bytes(&item.signature);
    key.verify(&sig, item.message).is_ok()
}
