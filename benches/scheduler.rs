//! The generic wave scheduler (`txwave::waves`) against Agave's `prio-graph` on the same
//! access lists, per contention regime, on one core.
//!
//! `cargo bench --bench scheduler`; groups `scheduler/{workload}`, functions
//! `txwave` (pushing the lists into `AccessLists` and `WaveSchedule::build`),
//! `txwave-uniform-hasher` (the same through `build_with_hasher` with a one-multiply hasher
//! for uniform keys) and `prio-graph` (`PrioGraph::natural_batches` from the same lists). Keys are 32-byte
//! account keys, modes Read and Write only: prio-graph has no Credit, so both see the same
//! conflict relation. Before timing, each workload prints both wave counts and the ASAP
//! layering of the order in which prio-graph releases the txs.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prio_graph::{AccessKind, GraphNode, PrioGraph, TopLevelId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use txwave::waves::{Access, AccessLists, Mode, WaveSchedule};

type Key = [u8; 32];

/// One access list per tx, as a caller holds them before scheduling.
type Txs = Vec<Vec<(Key, Mode)>>;

/// A workload generator.
type Generate = fn(&mut ChaCha8Rng) -> Txs;

/// Transactions per block: the size of Agave's greedy-scheduler benchmark.
const TXS: usize = 16 * 1024;

fn key(n: u64) -> Key {
    // Spread like public keys: a hash of the number.
    *blake3::hash(&n.to_le_bytes()).as_bytes()
}

/// Uniform: a writable payer and a writable and a read-only account, each drawn from 2^20
/// accounts.
fn uniform(rng: &mut ChaCha8Rng) -> Txs {
    (0..TXS)
        .map(|_| {
            vec![
                (key(rng.gen_range(0..1 << 20)), Mode::Write),
                (key(rng.gen_range(0..1 << 20)), Mode::Write),
                (key(rng.gen_range(0..1 << 20)), Mode::Read),
            ]
        })
        .collect()
}

/// Uniform, and one in ten txs also writes one hot account.
fn hot_10(rng: &mut ChaCha8Rng) -> Txs {
    let hot = key(u64::MAX);
    let mut txs = uniform(rng);
    for tx in &mut txs {
        if rng.gen_bool(0.1) {
            tx.push((hot, Mode::Write));
        }
    }
    txs
}

/// Solana-like: a distinct writable payer per tx; a program and three more read-only
/// accounts from 64 shared ones (programs, sysvars, mints); one writable account from 16
/// hot ones (pools, order books) in 30% of the txs, otherwise from 2^20 cold ones.
fn solana_like(rng: &mut ChaCha8Rng) -> Txs {
    let shared = 1 << 40;
    let hot = 1 << 41;
    (0..TXS as u64)
        .map(|payer| {
            let mut tx = vec![(key(payer), Mode::Write)];
            for _ in 0..4 {
                tx.push((key(shared + rng.gen_range(0..64)), Mode::Read));
            }
            let writable = if rng.gen_bool(0.3) {
                hot + rng.gen_range(0..16)
            } else {
                (1 << 30) + rng.gen_range(0..1 << 20)
            };
            tx.push((key(writable), Mode::Write));
            tx
        })
        .collect()
}

fn lists_of(txs: &[Vec<(Key, Mode)>]) -> AccessLists<Key> {
    let mut lists = AccessLists::with_capacity(txs.len(), 6);
    for tx in txs {
        lists.push(tx.iter().map(|&(key, mode)| Access { key, mode }));
    }
    lists
}

fn txwave_build(txs: &[Vec<(Key, Mode)>]) -> WaveSchedule {
    WaveSchedule::build(&lists_of(txs))
}

/// A hasher for keys that are already uniform (hashes, public keys nobody grinds): mixes
/// the words it is given with one multiply each.
#[derive(Default)]
struct UniformKeyHasher(u64);

impl std::hash::Hasher for UniformKeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for word in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..word.len()].copy_from_slice(word);
            self.write_u64(u64::from_le_bytes(w));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn txwave_build_uniform_hasher(txs: &[Vec<(Key, Mode)>]) -> WaveSchedule {
    let hasher = std::hash::BuildHasherDefault::<UniformKeyHasher>::default();
    WaveSchedule::build_with_hasher(&lists_of(txs), hasher)
}

/// prio-graph's priority: earlier txs first (its heap pops the largest).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Earliest(std::cmp::Reverse<u32>);

impl TopLevelId<u32> for Earliest {
    fn id(&self) -> u32 {
        self.0.0
    }
}

fn earliest(id: &u32, _: &GraphNode<u32>) -> Earliest {
    Earliest(std::cmp::Reverse(*id))
}

fn prio_graph_batches(txs: &[Vec<(Key, Mode)>]) -> Vec<Vec<u32>> {
    PrioGraph::natural_batches(
        txs.iter().enumerate().map(|(i, tx)| {
            let accesses = tx.iter().map(|&(key, mode)| {
                let kind = match mode {
                    Mode::Read => AccessKind::Read,
                    Mode::Write | Mode::Credit => AccessKind::Write,
                };
                (key, kind)
            });
            (i as u32, accesses)
        }),
        earliest,
    )
}

/// Waves of the ASAP layering of `txs` taken in prio-graph's release order.
fn asap_of_release_order(txs: &[Vec<(Key, Mode)>], batches: &[Vec<u32>]) -> usize {
    let released: Txs = batches
        .iter()
        .flatten()
        .map(|&i| txs[i as usize].clone())
        .collect();
    assert_eq!(released.len(), txs.len(), "prio-graph releases every tx");
    txwave_build(&released).wave_count()
}

fn bench(c: &mut Criterion) {
    let workloads: [(&str, Generate); 3] = [
        ("uniform", uniform),
        ("hot-10pct", hot_10),
        ("solana-like", solana_like),
    ];
    for (name, generate) in workloads {
        let txs = generate(&mut ChaCha8Rng::seed_from_u64(7));
        let schedule = txwave_build(&txs);
        assert_eq!(
            txwave_build_uniform_hasher(&txs),
            schedule,
            "{name}: same waves"
        );
        let batches = prio_graph_batches(&txs);
        println!(
            "scheduler/{name}: {} txs; txwave waves {}; prio-graph batches {}; \
             ASAP waves of prio-graph's release order {}",
            txs.len(),
            schedule.wave_count(),
            batches.len(),
            asap_of_release_order(&txs, &batches),
        );
        let mut group = c.benchmark_group(format!("scheduler/{name}"));
        group.throughput(Throughput::Elements(txs.len() as u64));
        group.bench_function(BenchmarkId::new("txwave", txs.len()), |b| {
            b.iter(|| txwave_build(black_box(&txs)))
        });
        group.bench_function(BenchmarkId::new("txwave-uniform-hasher", txs.len()), |b| {
            b.iter(|| txwave_build_uniform_hasher(black_box(&txs)))
        });
        group.bench_function(BenchmarkId::new("prio-graph", txs.len()), |b| {
            b.iter(|| prio_graph_batches(black_box(&txs)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
