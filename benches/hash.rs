//! Hash-stage benches: batch BLAKE3 of transaction-sized messages (134-byte swaps and
//! 155-byte transfers, alternating) on the CPU and the GPU, the GPU's phases apart, and
//! Merkle roots of 100k leaves.
//!
//! Groups and ids (what `scripts/gpu-bench.sh` collects):
//! - `hash/{cpu,cpu-simd,gpu}/{batch}`: whole calls, Throughput::Elements = messages.
//!   `cpu` is rayon over the batch with `blake3::hash` per message; `cpu-simd` is rayon
//!   over slices of 256 messages, each hashed with the `blake3` crate's many-message SIMD
//!   path (`blake3::platform`, which the crate keeps for benchmarks) — the fastest CPU
//!   baseline available. Both use every core.
//! - `hash-phases/{upload,dispatch,readback,gpu_pass}/{batch}`: the time of one phase of
//!   the GPU call (GpuTimings), so the medians show where a call's time goes.
//! - `merkle/{cpu,gpu}/100000`: root of 100k leaves; `tx_root/{cpu,gpu}/{batch}`: hash a
//!   batch and take the root of the hashes (the GPU keeps the hashes on the device).
//!
//! Batch sizes: `TXWAVE_BENCH_SIZES` (comma-separated), default 1024,65536,1048576.
//! With no adapter the GPU benches are skipped. The adapter is printed: on a CPU adapter
//! such as Mesa's lavapipe the "gpu" numbers are CPU emulation, not GPU speed.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use txwave::internal::commit::gpu_merkle::GpuMerkle;
use txwave::internal::gpu::tunables::GpuTunables;
use txwave::internal::gpu::{GpuContext, GpuTimings};
use txwave::internal::hash::gpu::GpuHasher;

fn sizes() -> Vec<usize> {
    std::env::var("TXWAVE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1024, 65_536, 1_048_576])
}

/// Alternating swaps (134 bytes) and transfers (155 bytes) of random bytes.
fn tx_messages(n: usize) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    (0..n)
        .map(|i| {
            let len = if i % 2 == 0 { 134 } else { 155 };
            (0..len).map(|_| rng.r#gen()).collect()
        })
        .collect()
}

fn cpu_hash_many(msgs: &[&[u8]]) -> Vec<[u8; 32]> {
    msgs.par_iter()
        .map(|m| *blake3::hash(m).as_bytes())
        .collect()
}

/// Messages of 129..=192 bytes (two full blocks and a partial third) hashed with the
/// blake3 crate's SIMD many-message compression for the two full blocks, then one
/// compression per message for the last block.
fn cpu_simd_hash_many(msgs: &[&[u8]]) -> Vec<[u8; 32]> {
    const FLAGS_CHUNK_START: u8 = 1;
    const FLAGS_CHUNK_END_ROOT: u8 = 2 | 8;
    let platform = blake3::platform::Platform::detect();
    let mut out = vec![[0u8; 32]; msgs.len()];
    out.par_chunks_mut(256)
        .zip(msgs.par_chunks(256))
        .for_each(|(out, msgs)| {
            let prefixes: Vec<&[u8; 128]> = msgs
                .iter()
                .map(|m| m[..128].try_into().expect("messages of 129..=192 bytes"))
                .collect();
            let mut cvs = vec![0u8; 32 * msgs.len()];
            platform.hash_many(
                &prefixes,
                &txwave::internal::hash::twin::BLAKE3_IV,
                0,
                blake3::IncrementCounter::No,
                0,
                FLAGS_CHUNK_START,
                0,
                &mut cvs,
            );
            for ((m, cv_bytes), o) in msgs.iter().zip(cvs.chunks_exact(32)).zip(out.iter_mut()) {
                let mut cv: [u32; 8] = std::array::from_fn(|k| {
                    u32::from_le_bytes(cv_bytes[4 * k..4 * k + 4].try_into().expect("4 bytes"))
                });
                let tail = &m[128..];
                let mut block = [0u8; 64];
                block[..tail.len()].copy_from_slice(tail);
                platform.compress_in_place(
                    &mut cv,
                    &block,
                    tail.len() as u8,
                    0,
                    FLAGS_CHUNK_END_ROOT,
                );
                for (k, w) in cv.iter().enumerate() {
                    o[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
                }
            }
        });
    out
}

/// A phase name and how to pick its time out of a call's timings.
type Phase = (&'static str, fn(&GpuTimings) -> u64);

struct Gpu {
    ctx: GpuContext,
    hasher: GpuHasher,
    merkle: GpuMerkle,
}

fn open_gpu() -> Option<Gpu> {
    let ctx = match GpuContext::new(None) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("GPU benches skipped: {e}");
            return None;
        }
    };
    let a = &ctx.adapter;
    eprintln!(
        "GPU benches on {} ({}, {}, driver {}){}",
        a.name,
        a.backend,
        a.device_type,
        a.driver,
        if a.is_software() {
            " — a CPU adapter: these \"gpu\" numbers are CPU emulation, not GPU speed"
        } else {
            ""
        }
    );
    let hasher = GpuHasher::new(&ctx, &GpuTunables::default())
        .map_err(|e| eprintln!("GPU benches skipped: {e}"))
        .ok()?;
    let merkle = GpuMerkle::new(&ctx, &GpuTunables::default())
        .map_err(|e| eprintln!("GPU benches skipped: {e}"))
        .ok()?;
    Some(Gpu {
        ctx,
        hasher,
        merkle,
    })
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    n: usize,
) {
    group.throughput(Throughput::Elements(n as u64));
    if n >= 50_000 {
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(10));
    } else {
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(3));
    }
    group.warm_up_time(Duration::from_secs(1));
}

fn bench_hash(c: &mut Criterion) {
    let gpu = open_gpu();
    for n in sizes() {
        let owned = tx_messages(n);
        let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let reference = cpu_hash_many(&msgs);
        assert_eq!(
            cpu_simd_hash_many(&msgs),
            reference,
            "SIMD baseline is wrong"
        );
        if let Some(g) = &gpu {
            let (got, t) = g.hasher.hash_many(&g.ctx, &msgs).expect("GPU hash");
            assert_eq!(got, reference, "GPU hash is wrong");
            print_breakdown("hash", n, &t);
        }

        let mut group = c.benchmark_group("hash");
        configure(&mut group, n);
        group.bench_with_input(BenchmarkId::new("cpu", n), &msgs, |b, msgs| {
            b.iter(|| cpu_hash_many(black_box(msgs)))
        });
        group.bench_with_input(BenchmarkId::new("cpu-simd", n), &msgs, |b, msgs| {
            b.iter(|| cpu_simd_hash_many(black_box(msgs)))
        });
        if let Some(g) = &gpu {
            group.bench_with_input(BenchmarkId::new("gpu", n), &msgs, |b, msgs| {
                b.iter(|| {
                    g.hasher
                        .hash_many(&g.ctx, black_box(msgs))
                        .expect("GPU hash")
                })
            });
        }
        group.finish();

        if let Some(g) = &gpu {
            let mut group = c.benchmark_group("hash-phases");
            configure(&mut group, n);
            let phases: [Phase; 4] = [
                ("upload", |t| t.upload_ns),
                ("dispatch", |t| t.dispatch_ns),
                ("readback", |t| t.readback_ns),
                ("gpu_pass", |t| t.gpu_pass_ns.unwrap_or(0)),
            ];
            for (phase, pick) in phases {
                if phase == "gpu_pass" && !g.ctx.timestamps {
                    continue;
                }
                group.bench_with_input(BenchmarkId::new(phase, n), &msgs, |b, msgs| {
                    b.iter_custom(|iters| {
                        let mut ns = 0u64;
                        for _ in 0..iters {
                            let (_, t) = g
                                .hasher
                                .hash_many(&g.ctx, black_box(msgs))
                                .expect("GPU hash");
                            ns += pick(&t);
                        }
                        Duration::from_nanos(ns)
                    })
                });
            }
            group.finish();
        }

        let mut group = c.benchmark_group("tx_root");
        configure(&mut group, n);
        group.bench_with_input(BenchmarkId::new("cpu", n), &msgs, |b, msgs| {
            b.iter(|| txwave::internal::merkle::merkle_root(&cpu_simd_hash_many(black_box(msgs))))
        });
        if let Some(g) = &gpu {
            let want = txwave::internal::merkle::merkle_root(&reference);
            let (root, _) = g
                .merkle
                .root_of_messages(&g.ctx, &g.hasher, &msgs)
                .expect("GPU root");
            assert_eq!(root, want, "GPU tx_root is wrong");
            group.bench_with_input(BenchmarkId::new("gpu", n), &msgs, |b, msgs| {
                b.iter(|| {
                    g.merkle
                        .root_of_messages(&g.ctx, &g.hasher, black_box(msgs))
                        .expect("GPU root")
                })
            });
        }
        group.finish();
    }

    let n = 100_000usize;
    let leaves: Vec<[u8; 32]> = (0..n as u32)
        .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
        .collect();
    let mut group = c.benchmark_group("merkle");
    configure(&mut group, n);
    group.bench_with_input(BenchmarkId::new("cpu", n), &leaves, |b, leaves| {
        b.iter(|| txwave::internal::merkle::merkle_root(black_box(leaves)))
    });
    if let Some(g) = &gpu {
        let (root, t) = g.merkle.merkle_root(&g.ctx, &leaves).expect("GPU root");
        assert_eq!(
            root,
            txwave::internal::merkle::merkle_root(&leaves),
            "GPU Merkle root is wrong"
        );
        print_breakdown("merkle", n, &t);
        group.bench_with_input(BenchmarkId::new("gpu", n), &leaves, |b, leaves| {
            b.iter(|| {
                g.merkle
                    .merkle_root(&g.ctx, black_box(leaves))
                    .expect("GPU root")
            })
        });
    }
    group.finish();
}

fn print_breakdown(what: &str, n: usize, t: &GpuTimings) {
    let ms = |ns: u64| ns as f64 / 1e6;
    eprintln!(
        "{what} {n}: first call upload {:.3} ms, dispatch {:.3} ms, readback {:.3} ms, device pass {}",
        ms(t.upload_ns),
        ms(t.dispatch_ns),
        ms(t.readback_ns),
        t.gpu_pass_ns
            .map_or("n/a".to_string(), |ns| format!("{:.3} ms", ms(ns)))
    );
}

criterion_group!(benches, bench_hash);
criterion_main!(benches);
