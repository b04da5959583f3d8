//! End to end on a generated 100k-tx DeFi block, beside the raw verification rate of the
//! same signatures measured in the same run (the ceiling end to end can approach).
//!
//! `cargo bench --bench e2e` — set `TXWAVE_E2E_TXS` for another block size.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use txwave::internal::tx::Tx;
use txwave::internal::workload::{GenConfig, generate};
use txwave::{Backend, Engine, EngineConfig, SigCheck, State, VerifyRule};

fn e2e(c: &mut Criterion) {
    let txs: usize = std::env::var("TXWAVE_E2E_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut backends = vec![("cpu", Backend::Cpu)];
    // A software adapter (lavapipe) would take minutes per 100k-tx block and measure the
    // CPU twice; time it only when asked to.
    let software_ok = std::env::var("TXWAVE_BENCH_SOFTWARE_GPU").is_ok_and(|v| v == "1");
    match txwave::internal::gpu::GpuContext::new(None) {
        Ok(ctx) if !ctx.adapter.is_software() || software_ok => {
            backends.push(("gpu", Backend::Gpu))
        }
        Ok(ctx) => eprintln!(
            "e2e: {} is a software adapter, timing the CPU only (TXWAVE_BENCH_SOFTWARE_GPU=1 to include it)",
            ctx.adapter.name
        ),
        Err(e) => eprintln!("e2e: no GPU adapter ({e}), timing the CPU only"),
    }
    for rule in [VerifyRule::Zip215, VerifyRule::Strict] {
        let cfg = GenConfig {
            verify_rule: rule,
            account_skew: 0.8,
            pool_skew: 0.8,
            ..GenConfig::sized(20_000, 16, 1, txs, 1)
        };
        let g = generate(&cfg, |_, _| {}).expect("generate");
        let genesis = State::from_genesis(&g.genesis).expect("genesis");
        let block = &g.blocks[0];
        let decoded: Vec<(Tx, &[u8])> = block
            .txs()
            .filter_map(|b| Tx::decode(b).map(|t| (t, &b[64..])))
            .collect();
        let checks: Vec<SigCheck<'_>> = decoded
            .iter()
            .map(|(t, m)| SigCheck {
                public_key: t.signer,
                signature: t.signature,
                message: m,
            })
            .collect();
        let mut group = c.benchmark_group(format!("e2e/{}", rule.name()));
        group.sample_size(10);
        for (name, backend) in &backends {
            let engine = Engine::new(EngineConfig {
                backend: *backend,
                ..Default::default()
            })
            .expect("engine");
            group.throughput(Throughput::Elements(txs as u64));
            group.bench_function(
                BenchmarkId::new(format!("{name}/process_block"), txs),
                |b| {
                    b.iter_batched(
                        || genesis.clone(),
                        |mut state| {
                            black_box(
                                engine
                                    .process_block(&mut state, block)
                                    .expect("block applies"),
                            )
                        },
                        BatchSize::LargeInput,
                    )
                },
            );
            group.throughput(Throughput::Elements(checks.len() as u64));
            group.bench_function(BenchmarkId::new(format!("{name}/verify_raw"), txs), |b| {
                b.iter(|| black_box(engine.verify_signatures(&checks, rule).expect("verify")))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, e2e);
criterion_main!(benches);
