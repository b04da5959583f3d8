//! Execution alone (resolve and schedule done beforehand): the wave executor on the
//! rayon pool against the sequential in-order executor, per contention regime.
//!
//! `cargo bench --bench exec`; groups `exec/cpu/{workload}` (waves, all cores) and
//! `exec/sequential/{workload}` (`execute_in_order`, one core). Each iteration starts
//! from a fresh clone of the state, made outside the timed part.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use txwave::internal::exec::{cpu, waves};

mod common;

fn bench(c: &mut Criterion) {
    // As in `Engine::process_block`: the executor runs on a worker of the pool, so its
    // parallel steps do not pay a cross-thread hand-off from outside the pool each time.
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .expect("thread pool");
    eprintln!("wave executor on {} threads", pool.current_num_threads());
    for (name, cfg) in common::workloads() {
        let p = common::prepare(name, &cfg);
        let txs = p.resolved.txs.len();
        // Sanity: both executors agree on this block before anything is timed.
        let (mut a, mut b) = (p.state.clone(), p.state.clone());
        assert_eq!(
            cpu::execute_in_order(&mut a, &p.resolved),
            waves::execute_waves(&mut b, &p.resolved, &p.schedule)
        );
        assert!(a == b, "{name}: executors disagree");

        for backend in ["sequential", "cpu"] {
            let mut group = c.benchmark_group(format!("exec/{backend}/{}", p.name));
            group.throughput(Throughput::Elements(txs as u64));
            group.bench_function(BenchmarkId::new(backend, txs), |bench| {
                bench.iter_batched(
                    || p.state.clone(),
                    // Both run on a pool thread, so neither gets the cache of the
                    // thread that made the state clone.
                    |mut state| {
                        pool.install(|| match backend {
                            "sequential" => {
                                cpu::execute_in_order(&mut state, black_box(&p.resolved))
                            }
                            _ => waves::execute_waves(
                                &mut state,
                                black_box(&p.resolved),
                                black_box(&p.schedule),
                            ),
                        })
                    },
                    BatchSize::LargeInput,
                )
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
