//! The engine's cache of decompressed signer keys: keys that fail to decompress, the
//! bound on entries, many threads on one key, and the counts the engine reports.

#[path = "common/adversarial.rs"]
#[allow(dead_code)]
mod adversarial;

use adversarial::{Input, dalek_strict, zebra};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use txwave::internal::verify::cache::{DecodedKey, KeyCache};
use txwave::internal::verify::cpu::verify_signatures_cached;
use txwave::{Backend, Engine, EngineConfig, SigCheck, VerifyRule};

fn signed(n: usize, keys: usize, seed: u64) -> Vec<Input> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let signers: Vec<SigningKey> = (0..keys)
        .map(|_| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            SigningKey::from_bytes(&s)
        })
        .collect();
    (0..n)
        .map(|i| {
            let k = &signers[i % keys];
            let mut msg = vec![0u8; 40];
            rng.fill_bytes(&mut msg);
            Input {
                key: k.verifying_key().to_bytes(),
                sig: k.sign(&msg).to_bytes(),
                msg,
                kind: "valid",
            }
        })
        .collect()
}

/// 32 bytes that are not the y-coordinate of a curve point.
fn undecodable() -> [u8; 32] {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if CompressedEdwardsY(b).decompress().is_none() {
            return b;
        }
    }
}

#[test]
fn a_key_that_fails_to_decompress_is_cached_as_failing() {
    let cache = KeyCache::new(100);
    let bad = undecodable();
    assert_eq!(
        cache.lookup(&bad),
        (None, false),
        "first lookup decompresses"
    );
    assert_eq!(
        cache.lookup(&bad),
        (None, true),
        "second comes from the cache"
    );
    assert_eq!(cache.len(), 1);
    // Signatures under it are rejected by both rules, as by the oracles, warm or cold.
    let mut inputs = signed(300, 10, 6);
    for i in inputs.iter_mut().step_by(3) {
        i.key = bad;
    }
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        for _ in 0..2 {
            let (got, _) = verify_signatures_cached(&checks, rule, &cache);
            for (i, (g, inp)) in got.iter().zip(&inputs).enumerate() {
                let want = match rule {
                    VerifyRule::Zip215 => zebra(inp),
                    VerifyRule::Strict => dalek_strict(inp),
                };
                assert_eq!(*g, want, "input {i} under {rule:?}");
                assert_eq!(*g, i % 3 != 0);
            }
        }
    }
    assert_eq!(cache.lookup(&bad), (None, true));
}

#[test]
fn the_cache_stays_within_its_bound_and_evicted_keys_decode_again() {
    let cache = KeyCache::new(64);
    let inputs = signed(3000, 1500, 7);
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        for round in 0..2 {
            let (got, stats) = verify_signatures_cached(&checks, rule, &cache);
            assert!(got.iter().all(|&ok| ok), "{rule:?} round {round}");
            assert!(cache.len() <= 64, "{} entries held, bound 64", cache.len());
            // Far more keys than the bound: most lookups must decompress again.
            assert!(stats.misses >= 1000, "{rule:?} round {round}: {stats:?}");
        }
    }
    // A bound of 0 turns caching off.
    let off = KeyCache::new(0);
    let (got, stats) = verify_signatures_cached(&checks, VerifyRule::Zip215, &off);
    assert!(got.iter().all(|&ok| ok));
    assert_eq!(off.len(), 0);
    assert_eq!(stats.hits + stats.misses, 3000);
}

#[test]
fn many_threads_on_one_key_decompress_it_once() {
    let cache = KeyCache::new(1000);
    let key = signed(1, 1, 8)[0].key;
    let expect = DecodedKey::decode(&key).expect("valid key");
    let threads = 16;
    let per = 2000;
    let barrier = std::sync::Barrier::new(threads);
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let mut hits = 0;
                    for _ in 0..per {
                        let (k, hit) = cache.lookup(&key);
                        assert_eq!(k, Some(expect));
                        hits += usize::from(hit);
                    }
                    (hits, per - hits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let misses: usize = results.iter().map(|r| r.1).sum();
    let hits: usize = results.iter().map(|r| r.0).sum();
    assert_eq!(misses, 1, "exactly one thread decompressed the key");
    assert_eq!(hits, threads * per - 1);
    assert_eq!(cache.len(), 1);
}

#[test]
fn the_engine_keeps_its_cache_between_calls_and_counts() {
    let engine = Engine::new(EngineConfig {
        backend: Backend::Cpu,
        key_cache_entries: 10_000,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(engine.key_cache().capacity(), 10_000);
    let inputs = signed(2000, 200, 9);
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    assert!(
        engine
            .verify_signatures(&checks, VerifyRule::Zip215)
            .unwrap()
            .iter()
            .all(|&ok| ok)
    );
    let first = engine.key_cache().totals();
    assert_eq!(first.misses, 200, "each of the 200 keys decompressed once");
    assert_eq!(first.hits, 1800);
    assert!(
        engine
            .verify_signatures(&checks, VerifyRule::Strict)
            .unwrap()
            .iter()
            .all(|&ok| ok)
    );
    let second = engine.key_cache().totals();
    assert_eq!(second.misses, 200, "strict reuses the keys zip215 cached");
    assert_eq!(second.hits, 1800 + 2000);
}

#[test]
fn the_split_path_of_the_service_uses_the_engine_cache() {
    // `verify_split` is what `VerifyService` and the hybrid path call; its CPU share must
    // look keys up in the engine's cache like `verify_signatures` does.
    let engine = Engine::new(EngineConfig {
        backend: Backend::Cpu,
        key_cache_entries: 10_000,
        ..Default::default()
    })
    .unwrap();
    let inputs = signed(1000, 100, 11);
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        let run = engine.verify_split(&checks, rule, 256);
        assert!(run.value.iter().all(|&ok| ok));
        assert_eq!(run.cpu_items, 1000);
    }
    let totals = engine.key_cache().totals();
    assert_eq!(totals.misses, 100, "each of the 100 keys decompressed once");
    assert_eq!(totals.hits, 2000 - 100);
    assert_eq!(engine.key_cache().len(), 100);
}

#[test]
fn the_cache_remembers_the_recent_share_of_invalid_signatures() {
    let mut inputs = signed(1000, 50, 12);
    for input in inputs.iter_mut().step_by(10) {
        input.msg[0] ^= 1;
    }
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    let cache = KeyCache::new(1000);
    assert_eq!(cache.invalid_share(), (0, 0));
    let (ok, _) = verify_signatures_cached(&checks, VerifyRule::Zip215, &cache);
    assert_eq!(ok.iter().filter(|&&v| !v).count(), 100);
    assert_eq!(cache.invalid_share(), (100, 1000));
    // The memory is bounded: after many more clean signatures the old share fades.
    let clean = signed(3000, 50, 13);
    let clean_checks: Vec<SigCheck<'_>> = clean.iter().map(Input::check).collect();
    for _ in 0..4 {
        let (ok, _) = verify_signatures_cached(&clean_checks, VerifyRule::Zip215, &cache);
        assert!(ok.iter().all(|&v| v));
    }
    let (bad, checked) = cache.invalid_share();
    assert_eq!(checked, txwave::internal::verify::cache::RECENT_WINDOW);
    assert!(bad < 100 && bad > 0, "{bad} of {checked}");
    // A cache that caches nothing remembers nothing.
    let none = KeyCache::new(0);
    let _ = verify_signatures_cached(&checks, VerifyRule::Zip215, &none);
    assert_eq!(none.invalid_share(), (0, 0));
}

#[test]
fn a_warmed_cache_answers_every_lookup_and_keeps_its_bound() {
    let inputs = signed(600, 60, 14);
    let bad = undecodable();
    let mut keys: Vec<[u8; 32]> = inputs.iter().map(|i| i.key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 60);
    keys.push(bad);

    // Room for all: every key decompressed once, no lookup counted, then only hits.
    let cache = KeyCache::new(1000);
    assert_eq!(cache.warm(&keys), 61);
    assert_eq!(cache.len(), 61);
    assert_eq!(cache.warm(&keys), 0, "cached keys are passed over");
    assert_eq!(cache.totals(), Default::default());
    assert_eq!(cache.lookup(&bad), (None, true), "stored as failing");
    let checks: Vec<SigCheck<'_>> = inputs.iter().map(Input::check).collect();
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        let (ok, stats) = verify_signatures_cached(&checks, rule, &cache);
        assert!(ok.iter().all(|&v| v), "{rule:?}");
        assert_eq!(stats.misses, 0, "{rule:?}");
    }

    // A bound smaller than the keys: the first keys, up to the bound.
    let small = KeyCache::new(10);
    assert_eq!(small.warm(&keys), 10);
    assert!(small.len() <= 10 && !small.is_empty(), "{}", small.len());
    assert_eq!(small.totals(), Default::default());
    assert_eq!(
        KeyCache::new(0).warm(&keys),
        0,
        "a cache of 0 caches nothing"
    );
}

#[test]
fn an_engine_warms_its_cache_from_the_state_and_the_roots_do_not_change() {
    use txwave::State;
    use txwave::internal::workload::{GenConfig, generate};
    let g = generate(&GenConfig::sized(500, 4, 3, 400, 15), |_, _| {}).unwrap();
    let run = |warm: bool| {
        let engine = Engine::new(EngineConfig {
            backend: Backend::Cpu,
            ..Default::default()
        })
        .unwrap();
        let mut state = State::from_genesis(&g.genesis).unwrap();
        if warm {
            assert_eq!(engine.warm_key_cache(&state), 500);
            assert_eq!(engine.warm_key_cache(&state), 0, "already cached");
        }
        let mut roots = Vec::new();
        for block in &g.blocks {
            let outcome = engine.process_block(&mut state, block).unwrap();
            roots.push(outcome.state_root);
        }
        (roots, state.to_snapshot(), engine.key_cache().totals())
    };
    let (cold_roots, cold_state, cold) = run(false);
    let (warm_roots, warm_state, warm) = run(true);
    assert_eq!(cold_roots, warm_roots);
    assert_eq!(cold_state, warm_state);
    assert_eq!(warm.hits + warm.misses, cold.hits + cold.misses);
    // Only signers that are not genesis accounts (created by the blocks) can miss.
    assert!(cold.misses >= 400, "{cold:?}");
    assert!(warm.misses * 10 < cold.misses, "{warm:?} vs {cold:?}");
}
