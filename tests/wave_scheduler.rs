//! `txwave::waves` on caller-supplied access lists: exact waves of drawn graphs, and
//! property tests on random lists of all three modes over small key spaces.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

use proptest::prelude::*;
use txwave::waves::{Access, AccessLists, Mode, RunOptions, WaveSchedule};

const MODES: [Mode; 3] = [Mode::Read, Mode::Write, Mode::Credit];

fn lists_of(txs: &[Vec<(u8, Mode)>]) -> AccessLists<u8> {
    let mut lists = AccessLists::new();
    for tx in txs {
        lists.push(tx.iter().map(|&(key, mode)| Access { key, mode }));
    }
    lists
}

/// Whether txs `a` and `b` conflict, from the lists as pushed (a key named twice counts
/// once, with the joined mode).
fn conflict(lists: &AccessLists<u8>, a: usize, b: usize) -> bool {
    lists.of(a).iter().any(|x| {
        lists
            .of(b)
            .iter()
            .any(|y| x.key == y.key && x.mode.conflicts(y.mode))
    })
}

/// Longest chain of conflicting txs ending at each tx, in submission order: the O(n²)
/// dynamic programme over the conflict relation, independent of the scheduler.
fn chain_lengths(lists: &AccessLists<u8>) -> Vec<usize> {
    let mut chain = vec![1usize; lists.len()];
    for i in 0..lists.len() {
        for j in 0..i {
            if conflict(lists, j, i) {
                chain[i] = chain[i].max(chain[j] + 1);
            }
        }
    }
    chain
}

#[test]
fn drawn_graph_gets_the_exact_waves() {
    use Mode::{Credit, Read, Write};
    // Key 0 is read by 0 and 1 (reads commute), written by 2 (after both), credited by 3
    // (after the write) and 4 (credits commute: beside 3), read by 5 (after the credits).
    // Tx 6 touches key 1 only: wave 0. Tx 7 has no keys: wave 0.
    //
    //   0:R0  1:R0  6:W1  7:-
    //      \  /
    //      2:W0
    //      /  \
    //   3:C0  4:C0
    //      \  /
    //      5:R0
    let lists = lists_of(&[
        vec![(0, Read)],
        vec![(0, Read)],
        vec![(0, Write)],
        vec![(0, Credit)],
        vec![(0, Credit)],
        vec![(0, Read)],
        vec![(1, Write)],
        vec![],
    ]);
    let schedule = WaveSchedule::build(&lists);
    let waves: Vec<&[u32]> = schedule.waves().collect();
    assert_eq!(waves, [&[0, 1, 6, 7][..], &[2], &[3, 4], &[5]]);
    assert_eq!(schedule.wave_of(), [0, 0, 1, 2, 2, 3, 0, 0]);
    assert_eq!(schedule.order(), [0, 1, 6, 7, 2, 3, 4, 5]);
}

#[test]
fn a_key_named_twice_is_one_write_when_read_and_credited() {
    use Mode::{Credit, Read};
    // Tx 1 reads and credits key 0: a Write, so it follows tx 0's credit and tx 2's read
    // follows it.
    let lists = lists_of(&[
        vec![(0, Credit)],
        vec![(0, Read), (0, Credit)],
        vec![(0, Read)],
    ]);
    assert_eq!(
        lists.of(1),
        [Access {
            key: 0,
            mode: Mode::Write
        }]
    );
    assert_eq!(WaveSchedule::build(&lists).wave_count(), 3);
}

#[test]
fn string_keys_and_no_transactions() {
    let lists: AccessLists<String> = AccessLists::new();
    let schedule = WaveSchedule::build(&lists);
    assert!(schedule.is_empty());
    assert_eq!(schedule.wave_count(), 0);
    schedule.run(None, |_| panic!("no transaction to run"));
}

fn tx_strategy(keys: u8) -> impl Strategy<Value = Vec<(u8, Mode)>> {
    prop::collection::vec((0..keys, prop::sample::select(MODES.to_vec())), 0..4)
}

fn txs_strategy() -> impl Strategy<Value = Vec<Vec<(u8, Mode)>>> {
    (1u8..8).prop_flat_map(|keys| prop::collection::vec(tx_strategy(keys), 0..60))
}

/// A toy ledger: key `k` is balance `k`. Write: take 1 if there is one, and double what
/// is left (reads and writes); Credit: add tx index + 1; Read: fold the balance into the
/// tx's own result.
fn apply(i: usize, tx: &[Access<u8>], balances: &[AtomicU64]) -> u64 {
    let mut seen = 0u64;
    for a in tx {
        let cell = &balances[a.key as usize];
        match a.mode {
            Mode::Write => {
                let v = cell.load(SeqCst);
                cell.store(v.saturating_sub(1).wrapping_mul(2) + 1, SeqCst);
            }
            Mode::Credit => {
                cell.fetch_add(i as u64 + 1, SeqCst);
            }
            Mode::Read => seen = seen.wrapping_mul(31).wrapping_add(cell.load(SeqCst)),
        }
    }
    seen
}

proptest! {
    #[test]
    fn waves_are_conflict_free_and_as_few_as_the_longest_chain(txs in txs_strategy()) {
        let lists = lists_of(&txs);
        let schedule = WaveSchedule::build(&lists);
        // Every tx in exactly one wave, the one `wave_of` names.
        let mut count = vec![0usize; txs.len()];
        for (w, wave) in schedule.waves().enumerate() {
            for &i in wave {
                count[i as usize] += 1;
                prop_assert_eq!(schedule.wave_of()[i as usize] as usize, w);
            }
            // No conflicting pair in one wave.
            for (x, &a) in wave.iter().enumerate() {
                for &b in &wave[x + 1..] {
                    prop_assert!(!conflict(&lists, a as usize, b as usize), "{a} and {b} in wave {w}");
                }
            }
        }
        prop_assert!(count.iter().all(|&c| c == 1), "{count:?}");
        // Conflicting txs keep submission order across waves.
        for i in 0..txs.len() {
            for j in 0..i {
                if conflict(&lists, j, i) {
                    prop_assert!(schedule.wave_of()[j] < schedule.wave_of()[i]);
                }
            }
        }
        let chains = chain_lengths(&lists);
        prop_assert_eq!(schedule.wave_count(), chains.iter().copied().max().unwrap_or(0));
        // ASAP: each tx sits at its own longest chain.
        for (i, &c) in chains.iter().enumerate() {
            prop_assert_eq!(schedule.wave_of()[i] as usize + 1, c);
        }
    }

    #[test]
    fn run_calls_each_tx_once_apart_from_its_conflicts_and_matches_serial(
        txs in txs_strategy(),
        parallel_min in prop::sample::select(vec![1usize, 2, 4, 1 << 20]),
    ) {
        let lists = lists_of(&txs);
        let schedule = WaveSchedule::build(&lists);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().expect("a pool");
        let keys = 8;
        let balances: Vec<AtomicU64> = (0..keys).map(|k| AtomicU64::new(k as u64 * 3)).collect();
        // Per key: txs inside now, by mode, to catch two conflicting calls at once.
        let inside: Vec<[AtomicU32; 3]> = (0..keys).map(|_| Default::default()).collect();
        let calls: Vec<AtomicU32> = (0..txs.len()).map(|_| AtomicU32::new(0)).collect();
        let results: Vec<Mutex<u64>> = (0..txs.len()).map(|_| Mutex::new(0)).collect();
        let overlap = AtomicU32::new(0);
        let options = RunOptions { parallel_min, chunk_min: 1 };
        schedule.run_with(Some(&pool), options, |i| {
            calls[i].fetch_add(1, SeqCst);
            let tx = lists.of(i);
            for a in tx {
                inside[a.key as usize][a.mode as usize].fetch_add(1, SeqCst);
            }
            for a in tx {
                let here = &inside[a.key as usize];
                for m in MODES {
                    // Ourselves once in our own mode.
                    let others = here[m as usize].load(SeqCst) - u32::from(m == a.mode);
                    if others > 0 && a.mode.conflicts(m) {
                        overlap.fetch_add(1, SeqCst);
                    }
                }
            }
            // Widen the window in which an overlap would show.
            std::thread::yield_now();
            *results[i].lock().expect("not poisoned") = apply(i, tx, &balances);
            for a in tx {
                inside[a.key as usize][a.mode as usize].fetch_sub(1, SeqCst);
            }
        });
        prop_assert!(calls.iter().all(|c| c.load(SeqCst) == 1));
        prop_assert_eq!(overlap.load(SeqCst), 0);

        // The same ledger, one tx at a time in submission order.
        let serial: Vec<AtomicU64> = (0..keys).map(|k| AtomicU64::new(k as u64 * 3)).collect();
        let serial_results: Vec<u64> =
            (0..txs.len()).map(|i| apply(i, lists.of(i), &serial)).collect();
        let got: Vec<u64> = results.iter().map(|r| *r.lock().expect("not poisoned")).collect();
        prop_assert_eq!(got, serial_results);
        let balances: Vec<u64> = balances.iter().map(|b| b.load(SeqCst)).collect();
        let serial: Vec<u64> = serial.iter().map(|b| b.load(SeqCst)).collect();
        prop_assert_eq!(balances, serial);
    }
}

/// Two hot keys, each written by a chain of one-transaction waves: the runner's serial
/// segment splits into the two chains and runs them side by side (each first transaction
/// sees the other one running), each chain in order.
#[test]
fn chains_of_two_hot_keys_run_side_by_side() {
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};
    // Txs 0, 2, 4 write key 0; txs 1, 3, 5 write key 1: three waves of two txs, below
    // parallel_min, so one serial segment of two chains.
    let txs: Vec<Vec<(u8, Mode)>> = (0..6).map(|i| vec![(i % 2, Mode::Write)]).collect();
    let lists = lists_of(&txs);
    let schedule = WaveSchedule::build(&lists);
    assert_eq!(schedule.wave_count(), 3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a pool");
    let started = [AtomicBool::new(false), AtomicBool::new(false)];
    let met = [AtomicBool::new(false), AtomicBool::new(false)];
    let order: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let options = RunOptions {
        parallel_min: 1 << 20,
        chunk_min: 1,
    };
    schedule.run_with(Some(&pool), options, |i| {
        if i < 2 {
            started[i].store(true, SeqCst);
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if started[1 - i].load(SeqCst) {
                    met[i].store(true, SeqCst);
                    break;
                }
                std::thread::yield_now();
            }
        }
        order.lock().expect("not poisoned").push(i);
    });
    assert!(
        met[0].load(SeqCst) && met[1].load(SeqCst),
        "the two chains did not overlap"
    );
    let order = order.into_inner().expect("not poisoned");
    for key in 0..2 {
        let chain: Vec<usize> = order.iter().copied().filter(|i| i % 2 == key).collect();
        assert_eq!(
            chain,
            [key, key + 2, key + 4],
            "chain of key {key} in order"
        );
    }
}
