//! Differential tests: txwave's `zip215` against ed25519-zebra 5 `VerificationKey::verify`
//! and txwave's `strict` against ed25519-dalek 3 `VerifyingKey::verify_strict`, each
//! signature on its own, over adversarial corpora (`common/adversarial.rs`): valid
//! signatures, torsion components in A and R, small-order and non-canonical A and R,
//! S ≥ ℓ, wrong S, flipped bits, garbage, all mixed in the same batches. Every input is
//! checked through a shared warm cache, a cold one, a cache far smaller than the key set,
//! no cache, and in calls of assorted sizes.

#[path = "common/adversarial.rs"]
#[allow(dead_code)]
mod adversarial;

use adversarial::{Input, corpus, dalek_strict, zebra};
use rayon::prelude::*;
use txwave::internal::verify::batch::{Search, Zip215Options, verify_zip215};
use txwave::internal::verify::cache::KeyCache;
use txwave::internal::verify::cpu::verify_signatures_cached;
use txwave::{SigCheck, VerifyRule};

fn expected(inputs: &[Input], rule: VerifyRule) -> Vec<bool> {
    inputs
        .par_iter()
        .map(|i| match rule {
            VerifyRule::Zip215 => zebra(i),
            VerifyRule::Strict => dalek_strict(i),
        })
        .collect()
}

fn assert_same(inputs: &[Input], want: &[bool], got: &[bool], what: &str) {
    assert_eq!(want.len(), got.len(), "{what}: length");
    let bad: Vec<usize> = (0..want.len()).filter(|&i| want[i] != got[i]).collect();
    if let Some(&i) = bad.first() {
        let x = &inputs[i];
        panic!(
            "{what}: {} disagreements of {}; first: input {i} ({}), oracle {}, txwave {}, key {}, sig {}, msg {}",
            bad.len(),
            want.len(),
            x.kind,
            want[i],
            got[i],
            hex::encode(x.key),
            hex::encode(x.sig),
            hex::encode(&x.msg)
        );
    }
}

/// Checks `inputs` every way under `rule` and compares with the oracle.
fn differential(inputs: &[Input], rule: VerifyRule) {
    let want = expected(inputs, rule);
    let accepted = want.iter().filter(|&&ok| ok).count();
    // The corpus must exercise both verdicts heavily.
    assert!(
        accepted > inputs.len() / 5 && accepted < inputs.len() * 4 / 5,
        "{rule:?}: {accepted} of {} accepted",
        inputs.len()
    );
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();

    let cache = KeyCache::new(100_000);
    let (cold, stats) = verify_signatures_cached(&checks, rule, &cache);
    assert_same(inputs, &want, &cold, &format!("{rule:?}, cold cache"));
    assert!(stats.misses > 0);
    let (warm, stats) = verify_signatures_cached(&checks, rule, &cache);
    assert_same(inputs, &want, &warm, &format!("{rule:?}, warm cache"));
    assert_eq!(stats.misses, 0, "{rule:?}: the warm cache held every key");

    // The other ways on a fifth of the corpus (the oracle's verdicts are the same).
    let part = checks.len().min(20_000);
    let (inputs, want, checks) = (&inputs[..part], &want[..part], &checks[..part]);
    let tiny = KeyCache::new(16);
    let (got, _) = verify_signatures_cached(checks, rule, &tiny);
    assert_same(inputs, want, &got, &format!("{rule:?}, 16-entry cache"));

    let got = txwave::internal::verify::cpu::verify_signatures(checks, rule);
    assert_same(inputs, want, &got, &format!("{rule:?}, no cache"));

    // Calls of assorted sizes: single signatures, tiny and odd batches.
    let mut at = 0;
    let mut got = Vec::with_capacity(checks.len());
    for size in [1usize, 2, 3, 7, 64, 129, 1000].iter().cycle() {
        if at >= checks.len() {
            break;
        }
        let end = (at + size).min(checks.len());
        got.extend(verify_signatures_cached(&checks[at..end], rule, &cache).0);
        at = end;
    }
    assert_same(
        inputs,
        want,
        &got,
        &format!("{rule:?}, assorted call sizes"),
    );
}

/// zip215 under every failure search and batch bound, on a corpus with few invalid
/// signatures so large batches form and fail.
fn zip215_options(inputs: &[Input]) {
    let want = expected(inputs, VerifyRule::Zip215);
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    let cache = KeyCache::new(100_000);
    for (search, max_batch, min_batch) in [
        (Search::Singles, 4096, 4096),
        (Search::Bisect { leaf: 1 }, 4096, 4096),
        (Search::Bisect { leaf: 8 }, 1024, 16),
        (Search::Groups { size: 16, leaf: 2 }, 1024, 16),
        (Search::Bisect { leaf: 1 }, 8, 1),
        (Search::Locate { leaf: 1 }, 4096, 4096),
        (Search::Locate { leaf: 3 }, 64, 2),
    ] {
        {
            let opts = Zip215Options {
                max_batch,
                min_batch,
                search,
                ..Zip215Options::default()
            };
            let (got, _) = verify_zip215(&checks, &cache, &opts);
            assert_same(
                inputs,
                &want,
                &got,
                &format!("zip215 {search:?}, batches {min_batch}..{max_batch}"),
            );
        }
    }
}

#[test]
fn zip215_equals_zebra_on_100k_adversarial_inputs() {
    differential(&corpus(100_000, 1, 0.2), VerifyRule::Zip215);
}

#[test]
fn strict_equals_dalek_on_100k_adversarial_inputs() {
    differential(&corpus(100_000, 2, 0.2), VerifyRule::Strict);
}

#[test]
fn zip215_equals_zebra_with_rare_invalid_signatures_under_every_search() {
    // 0.5% mutated on top of the valid kinds only: long clean runs, sparse failures.
    let inputs: Vec<Input> = corpus(40_000, 3, 0.005)
        .into_iter()
        .filter(|i| i.kind != "garbage" && i.kind != "small-y A/R")
        .take(20_000)
        .collect();
    zip215_options(&inputs);
}

#[test]
#[ignore = "long run: 2,000,000 adversarial inputs per rule, about 10 minutes on 2 cores; run with `cargo test --release --test verify_differential -- --ignored` after any change to src/verify/"]
fn long_differential_2m_inputs_per_rule() {
    for chunk in 0..20u64 {
        differential(&corpus(100_000, 1000 + chunk, 0.2), VerifyRule::Zip215);
        differential(&corpus(100_000, 2000 + chunk, 0.2), VerifyRule::Strict);
    }
    for chunk in 0..10u64 {
        let inputs: Vec<Input> = corpus(40_000, 3000 + chunk, 0.005)
            .into_iter()
            .filter(|i| i.kind != "garbage" && i.kind != "small-y A/R")
            .take(20_000)
            .collect();
        zip215_options(&inputs);
    }
}
