//! Ed25519 verification: txwave's CPU verifiers against the crates they are checked
//! against, and CPU against GPU.
//!
//! `verify/anchor/*` and `verify/txwave/*` (throughput in signatures, all on the same
//! signatures in one run): 40,000 signatures over 100-byte messages, either over 20,000
//! keys drawn Zipf(0.8) like the workload generator's accounts (`zipf`) or with every key
//! distinct (`distinct`); `1pct` has 1% of the messages altered after signing.
//! - `verify/anchor/{set}/zebra_batch/{64..1024}`: ed25519-zebra 5 `batch::Verifier`
//!   over consecutive chunks, in parallel (clean signatures).
//! - `verify/anchor/{set}/dalek_verify_strict`: ed25519-dalek 3 `verify_strict` from bytes.
//! - `verify/anchor/{set}/zebra_batch_then_singles/1pct/{16,64,256}`: zebra batches on the
//!   `1pct` set, a failing chunk verified again one signature at a time.
//! - `verify/txwave/{set}/{rule}/{clean,1pct}/{warm,cold}`: `verify_signatures_cached`;
//!   `warm` with a key cache that already holds every key (a validator seeing its signers
//!   again), `cold` with an empty cache each iteration.
//! - `verify/txwave/zipf/zip215_search/1pct/{search}`: the failure searches compared.
//!
//! `verify/{cpu,gpu}/{rule}/{batch}` (a group per backend and rule, a `BenchmarkId` per
//! batch size): valid signatures from seeded keys. The GPU side is skipped with a message
//! when no adapter opens. On a software adapter (lavapipe) the GPU numbers measure the CPU
//! emulating a GPU, not a GPU.

use std::hint::black_box;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Zipf};
use rayon::prelude::*;
use txwave::internal::gpu::GpuContext;
use txwave::internal::verify::batch::{Search, Zip215Options, verify_zip215};
use txwave::internal::verify::cache::KeyCache;
use txwave::internal::verify::cpu::verify_signatures_cached;
use txwave::internal::verify::gpu::GpuVerifier;
use txwave::{SigCheck, VerifyRule};

/// Signatures per CPU comparison set.
const CPU_SIGS: usize = 40_000;
/// Keys of the Zipf set.
const ZIPF_KEYS: usize = 20_000;

const BATCHES: [usize; 2] = [1024, 16384];

struct Signed {
    key: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
}

fn signed(n: usize) -> Vec<Signed> {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    (0..n)
        .map(|_| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let key = SigningKey::from_bytes(&seed);
            let mut msg = vec![0u8; 100];
            rng.fill_bytes(&mut msg);
            Signed {
                key: key.verifying_key().to_bytes(),
                sig: key.sign(&msg).to_bytes(),
                msg,
            }
        })
        .collect()
}

fn checks(s: &[Signed]) -> Vec<SigCheck<'_>> {
    s.iter()
        .map(|s| SigCheck {
            public_key: s.key,
            signature: s.sig,
            message: &s.msg,
        })
        .collect()
}

/// `n` signatures; `keys` distinct signers drawn Zipf(0.8) (`None`: one key each).
fn cpu_set(n: usize, keys: Option<usize>, seed: u64) -> Vec<Signed> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let signers: Vec<SigningKey> = (0..keys.unwrap_or(n))
        .map(|_| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let zipf = keys.map(|k| Zipf::new(k as u64, 0.8).expect("zipf"));
    let picks: Vec<(usize, Vec<u8>)> = (0..n)
        .map(|i| {
            let who = match &zipf {
                Some(z) => (z.sample(&mut rng) as usize - 1).min(signers.len() - 1),
                None => i,
            };
            let mut msg = vec![0u8; 100];
            rng.fill_bytes(&mut msg);
            (who, msg)
        })
        .collect();
    picks
        .into_par_iter()
        .map(|(who, msg)| Signed {
            key: signers[who].verifying_key().to_bytes(),
            sig: signers[who].sign(&msg).to_bytes(),
            msg,
        })
        .collect()
}

/// A copy of `set` with the message of `share` of the signatures altered.
fn with_invalid(set: &[Signed], share: f64, seed: u64) -> Vec<Signed> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    set.iter()
        .map(|s| {
            let mut msg = s.msg.clone();
            if rng.gen_bool(share) {
                msg[0] ^= 1;
            }
            Signed {
                key: s.key,
                sig: s.sig,
                msg,
            }
        })
        .collect()
}

/// Whether ed25519-zebra 5's `batch::Verifier` accepts `chunk` as one batch.
fn zebra_batch_ok(chunk: &[SigCheck<'_>]) -> bool {
    let mut v = ed25519_zebra::batch::Verifier::new();
    for it in chunk {
        let vk = ed25519_zebra::VerificationKeyBytes::from(it.public_key);
        let sig = ed25519_zebra::Signature::from_bytes(&it.signature);
        v.queue((vk, sig, it.message));
    }
    v.verify(rand10::rng()).is_ok()
}

fn zebra_batches(items: &[SigCheck<'_>], size: usize) -> usize {
    items
        .par_chunks(size)
        .map(|chunk| usize::from(zebra_batch_ok(chunk)))
        .sum()
}

/// zebra batches as a caller without a failure search uses them: a chunk whose batch
/// fails is verified again one signature at a time (`VerificationKey::verify`). Returns
/// how many signatures were accepted.
fn zebra_batches_then_singles(items: &[SigCheck<'_>], size: usize) -> usize {
    items
        .par_chunks(size)
        .map(|chunk| {
            if zebra_batch_ok(chunk) {
                return chunk.len();
            }
            chunk
                .iter()
                .filter(|it| txwave::internal::verify::cpu::verify_zip215_one(it))
                .count()
        })
        .sum()
}

fn dalek_strict(items: &[SigCheck<'_>]) -> usize {
    items
        .par_iter()
        .filter(|it| {
            ed25519_dalek::VerifyingKey::from_bytes(&it.public_key).is_ok_and(|k| {
                k.verify_strict(
                    it.message,
                    &ed25519_dalek::Signature::from_bytes(&it.signature),
                )
                .is_ok()
            })
        })
        .count()
}

fn cpu_comparison(c: &mut Criterion) {
    let zipf = cpu_set(CPU_SIGS, Some(ZIPF_KEYS), 7);
    let distinct = cpu_set(CPU_SIGS, None, 8);
    for (name, clean) in [("zipf", &zipf), ("distinct", &distinct)] {
        let dirty = with_invalid(clean, 0.01, 9);
        let clean_checks = checks(clean);
        let dirty_checks = checks(&dirty);
        let mut group = c.benchmark_group(format!("verify/anchor/{name}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.throughput(Throughput::Elements(CPU_SIGS as u64));
        for size in [64usize, 128, 256, 1024] {
            group.bench_function(BenchmarkId::new("zebra_batch", size), |b| {
                b.iter(|| zebra_batches(black_box(&clean_checks), size))
            });
        }
        group.bench_function("dalek_verify_strict", |b| {
            b.iter(|| dalek_strict(black_box(&clean_checks)))
        });
        for size in [16usize, 64, 256] {
            group.bench_function(
                BenchmarkId::new("zebra_batch_then_singles/1pct", size),
                |b| b.iter(|| zebra_batches_then_singles(black_box(&dirty_checks), size)),
            );
        }
        group.finish();

        let mut group = c.benchmark_group(format!("verify/txwave/{name}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.throughput(Throughput::Elements(CPU_SIGS as u64));
        for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
            for (state, items) in [("clean", &clean_checks), ("1pct", &dirty_checks)] {
                let warm = KeyCache::default();
                let _ = verify_signatures_cached(items, rule, &warm);
                let id = format!("{}/{state}", rule.name());
                group.bench_function(BenchmarkId::new(id.clone(), "warm"), |b| {
                    b.iter(|| verify_signatures_cached(black_box(items), rule, &warm))
                });
                group.bench_function(BenchmarkId::new(id, "cold"), |b| {
                    b.iter_batched(
                        KeyCache::default,
                        |cache| verify_signatures_cached(black_box(items), rule, &cache),
                        criterion::BatchSize::PerIteration,
                    )
                });
            }
        }
        if name == "zipf" {
            let warm = KeyCache::default();
            let _ = verify_signatures_cached(&dirty_checks, VerifyRule::Zip215, &warm);
            for (label, search) in [
                ("locate_leaf1", Search::Locate { leaf: 1 }),
                ("singles", Search::Singles),
                ("bisect_leaf4", Search::Bisect { leaf: 4 }),
                ("bisect_leaf1", Search::Bisect { leaf: 1 }),
                ("groups16_leaf4", Search::Groups { size: 16, leaf: 4 }),
            ] {
                let opts = Zip215Options {
                    search,
                    ..Zip215Options::default()
                };
                group.bench_function(BenchmarkId::new("zip215_search/1pct", label), |b| {
                    b.iter(|| verify_zip215(black_box(&dirty_checks), &warm, &opts))
                });
            }
        }
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    cpu_comparison(c);
    let max = BATCHES.iter().copied().max().unwrap_or(0);
    let data = signed(max);
    let all = checks(&data);
    let gpu = match GpuContext::new(None) {
        Ok(ctx) => match GpuVerifier::new(&ctx, Default::default()) {
            Ok(v) => {
                eprintln!(
                    "GPU adapter: {} ({}), pipeline compiled in {:?}",
                    ctx.adapter.name,
                    ctx.adapter.device_type,
                    v.compile_time()
                );
                Some((ctx, v))
            }
            Err(e) => {
                eprintln!("skipping GPU benches: {e}");
                None
            }
        },
        Err(e) => {
            eprintln!("skipping GPU benches: {e}");
            None
        }
    };
    for rule in [VerifyRule::Strict, VerifyRule::Zip215] {
        for backend in ["cpu", "gpu"] {
            let mut group = c.benchmark_group(format!("verify/{backend}/{}", rule.name()));
            group.sample_size(10);
            for batch in BATCHES {
                let items = &all[..batch];
                group.throughput(Throughput::Elements(batch as u64));
                let id = BenchmarkId::from_parameter(batch);
                match backend {
                    "cpu" => {
                        group.bench_with_input(id, items, |b, items| {
                            b.iter(|| {
                                txwave::internal::verify::cpu::verify_signatures(
                                    black_box(items),
                                    rule,
                                )
                            })
                        });
                    }
                    _ => {
                        let Some((ctx, verifier)) = &gpu else {
                            continue;
                        };
                        // Warm-up: the first submit after pipeline creation is slow.
                        if let Err(e) = verifier.verify(ctx, &items[..1], rule) {
                            eprintln!("skipping GPU bench: {e}");
                            continue;
                        }
                        group.bench_with_input(id, items, |b, items| {
                            b.iter(|| verifier.verify(ctx, black_box(items), rule))
                        });
                    }
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
