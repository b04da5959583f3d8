//! Wave scheduling (`Schedule::build`) on one core, per contention regime.
//!
//! `cargo bench --bench schedule`; groups `schedule/{workload}`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

mod common;

fn bench(c: &mut Criterion) {
    for (name, cfg) in common::workloads() {
        let p = common::prepare(name, &cfg);
        let rebuilt =
            txwave::internal::schedule::Schedule::build(&p.resolved, p.state.account_count());
        assert_eq!(rebuilt, p.schedule, "{name}: scheduling is deterministic");
        let mut group = c.benchmark_group(format!("schedule/{}", p.name));
        group.throughput(Throughput::Elements(p.resolved.txs.len() as u64));
        group.bench_function(BenchmarkId::new("cpu", p.resolved.txs.len()), |b| {
            b.iter(|| {
                txwave::internal::schedule::Schedule::build(
                    black_box(&p.resolved),
                    p.state.account_count(),
                )
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
