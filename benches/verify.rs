//! Ed25519 verification, CPU against GPU, per rule and batch size.
//!
//! Benchmarks `verify/{cpu,gpu}/{rule}/{batch}` (a group per backend and rule, a
//! `BenchmarkId` per batch size), throughput in signatures. Valid signatures over 100-byte messages from seeded keys. The GPU side is
//! skipped with a message when no adapter opens. On a software adapter (lavapipe) the GPU
//! numbers measure the CPU emulating a GPU, not a GPU.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use txwave::gpu::GpuContext;
use txwave::verify::gpu::GpuVerifier;
use txwave::{SigCheck, VerifyRule};

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

fn bench(c: &mut Criterion) {
    let max = BATCHES.iter().copied().max().unwrap_or(0);
    let data = signed(max);
    let all = checks(&data);
    let gpu = match GpuContext::new(None) {
        Ok(ctx) => match GpuVerifier::new(&ctx) {
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
                                txwave::verify::cpu::verify_signatures(black_box(items), rule)
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
