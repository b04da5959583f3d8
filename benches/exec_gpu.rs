//! The execute stage alone on the GPU (`exec::gpu::GpuExecutor`) beside the CPU's in-order
//! executor, per contention regime, and the GPU's serial-segment threshold.
//!
//! Groups `exec/gpu/{workload}`; ids `gpu/serial_max=N` (N = 0: every wave its own
//! dispatch) and `cpu/in_order`. GPU numbers are the dispatch and readback phases of
//! `GpuTimings` (the pass, its waits and the copy back of receipts and changed columns);
//! the state upload is left out because a resident state pays it once, not per block
//! (each iteration starts from a clone, which the executor must upload whole). On a
//! software adapter (lavapipe) these are CPU timings, not GPU speed.
//!
//! `cargo bench --bench exec_gpu` — `TXWAVE_EXEC_TXS` sets the block size (default 4096).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use txwave::internal::exec::gpu::GpuExecutor;
use txwave::internal::gpu::GpuContext;
use txwave::internal::gpu::resident::ResidentState;
use txwave::internal::gpu::tunables::GpuTunables;
use txwave::internal::resolve::{ResolvedBlock, resolve};
use txwave::internal::schedule::Schedule;
use txwave::internal::tx::{Block, Tx};
use txwave::internal::verify;
use txwave::internal::workload::{GenConfig, generate};
use txwave::{State, VerifyRule};

/// Decode, verify, resolve and schedule `block`: everything execution needs.
fn prepare(genesis: &State, block: &Block) -> (State, ResolvedBlock, Schedule) {
    let mut state = genesis.clone();
    let decoded: Vec<Option<Tx>> = block.txs().map(Tx::decode).collect();
    let (checks, check_of) = verify::block_checks(block, &decoded);
    let verdicts = verify::cpu::verify_signatures(&checks, VerifyRule::Zip215);
    let sig_ok = verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
    let resolved = resolve(&mut state, block, &decoded, &sig_ok);
    let sched = Schedule::build(&resolved, state.account_count());
    (state, resolved, sched)
}

fn exec_gpu(c: &mut Criterion) {
    let txs: usize = std::env::var("TXWAVE_EXEC_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    let ctx = match GpuContext::new(None) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            eprintln!("exec_gpu: no GPU adapter ({e}), timing the CPU only");
            None
        }
    };
    let mut executor = ctx.as_ref().map(|ctx| {
        GpuExecutor::new(ctx, &GpuTunables::default()).expect("execution pipelines compile")
    });
    let resident = ctx.as_ref().map(ResidentState::new);
    if let Some(ctx) = &ctx {
        eprintln!(
            "exec_gpu: adapter {} ({})",
            ctx.adapter.name, ctx.adapter.device_type
        );
    }
    let base = GenConfig::sized(2000, 16, 1, txs, 3);
    let workloads = [
        ("uniform", base.clone()),
        (
            "hot_pool_30",
            GenConfig {
                hot_pool_share: 0.3,
                swap_share: 0.6,
                ..base.clone()
            },
        ),
        (
            "all_one_pool",
            GenConfig {
                hot_pool_share: 1.0,
                swap_share: 1.0,
                ..base.clone()
            },
        ),
        (
            "transfers_only",
            GenConfig {
                swap_share: 0.0,
                ..base.clone()
            },
        ),
    ];
    for (name, cfg) in workloads {
        let g = generate(&cfg, |_, _| {}).expect("generate");
        let genesis = State::from_genesis(&g.genesis).expect("genesis");
        let (pre, resolved, sched) = prepare(&genesis, &g.blocks[0]);
        eprintln!(
            "exec_gpu/{name}: {} waves, largest {}",
            sched.wave_count(),
            sched.largest_wave()
        );
        let mut group = c.benchmark_group(format!("exec/gpu/{name}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.throughput(Throughput::Elements(sched.scheduled() as u64));
        if let (Some(ctx), Some(executor), Some(resident)) =
            (&ctx, executor.as_mut(), resident.as_ref())
        {
            for serial_max in [0usize, 1, 4, 16, 64] {
                executor.set_serial_wave_max(serial_max);
                group.bench_function(
                    BenchmarkId::new("gpu", format!("serial_max={serial_max}")),
                    |b| {
                        b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                let mut state = pre.clone();
                                let (results, t) = executor
                                    .execute(ctx, resident, &mut state, &resolved, &sched)
                                    .expect("GPU execution");
                                black_box(results);
                                total += Duration::from_nanos(t.dispatch_ns + t.readback_ns);
                            }
                            total
                        })
                    },
                );
            }
        }
        group.bench_function(BenchmarkId::new("cpu", "in_order"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut state = pre.clone();
                    let start = Instant::now();
                    black_box(txwave::internal::exec::cpu::execute_in_order(
                        &mut state, &resolved,
                    ));
                    total += start.elapsed();
                }
                total
            })
        });
        group.finish();
    }
}

criterion_group!(benches, exec_gpu);
criterion_main!(benches);
