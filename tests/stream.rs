//! `Engine::process_stream` over `LogReader` equals `process_block` in a loop: the same
//! receipts, roots, final state and error, for every generator workload, with rejected
//! blocks in the middle and truncated tails, at 1, 2 and 8 threads and queue depths 1, 2
//! and 8; on the CPU always and on a GPU adapter when one opens.

mod common;

use std::ops::ControlFlow;

use proptest::prelude::*;
use txwave::internal::workload::{FailureShares, GenConfig, generate};
use txwave::{
    Backend, Block, BlockOutcome, Engine, EngineConfig, LogReader, State, StreamOptions, VerifyRule,
};

/// The workloads of the generator: its default mix, transfers only, one hot pool, skewed
/// accounts, the strict rule, many new accounts, and a high failure rate.
fn workload(kind: usize, seed: u64, blocks: usize, txs: usize) -> GenConfig {
    let base = GenConfig::sized(40, 4, blocks, txs, seed);
    match kind {
        0 => base,
        1 => GenConfig {
            swap_share: 0.0,
            pools: 0,
            ..base
        },
        2 => GenConfig {
            swap_share: 0.9,
            hot_pool_share: 1.0,
            ..base
        },
        3 => GenConfig {
            account_skew: 1.5,
            pool_skew: 1.2,
            ..base
        },
        4 => GenConfig {
            verify_rule: VerifyRule::Strict,
            ..base
        },
        5 => GenConfig {
            new_recipient_share: 0.5,
            swap_share: 0.1,
            ..base
        },
        _ => GenConfig {
            failures: FailureShares {
                bad_signature: 0.1,
                bad_nonce: 0.1,
                insufficient_balance: 0.1,
                slippage: 0.1,
                malformed: 0.1,
                bad_route: 0.0,
            },
            ..base
        },
    }
}

const WORKLOADS: usize = 7;

/// How the log is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    None,
    /// Block k claims a wrong state root (rejected after execution; rolled back).
    WrongRoot(usize),
    /// Block k names a wrong parent (rejected at the header check).
    WrongParent(usize),
    /// One byte of block k's encoding flipped (a decode error in the reader).
    FlipByte(usize, usize),
    /// The log ends inside its last block.
    Truncate(usize),
}

/// Per-block results compared between the two paths.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    height: u64,
    receipts: Vec<(String, &'static str, u64)>,
    tx_root: [u8; 32],
    receipts_root: [u8; 32],
    state_root: [u8; 32],
    block_hash: [u8; 32],
}

fn seen(o: &BlockOutcome) -> Seen {
    Seen {
        height: o.height,
        receipts: o
            .receipts
            .iter()
            .map(|r| (hex::encode(r.tx_id), r.status.name(), r.amount_out()))
            .collect(),
        tx_root: o.tx_root,
        receipts_root: o.receipts_root,
        state_root: o.state_root,
        block_hash: o.block_hash,
    }
}

/// The log bytes and, for the loop, the blocks it holds before the damage.
fn damaged_log(blocks: &[Block], damage: Damage) -> (Vec<u8>, Vec<Block>) {
    let mut blocks = blocks.to_vec();
    match damage {
        Damage::WrongRoot(k) => blocks[k].claimed_state_root[3] ^= 0x40,
        Damage::WrongParent(k) => blocks[k].parent_hash[0] ^= 1,
        _ => {}
    }
    let mut log = Vec::new();
    let mut starts = Vec::new();
    for b in &blocks {
        starts.push(log.len());
        b.encode_into(&mut log);
    }
    match damage {
        Damage::FlipByte(k, at) => {
            let end = starts.get(k + 1).copied().unwrap_or(log.len());
            let pos = starts[k] + at % (end - starts[k]);
            log[pos] ^= 0x10;
            blocks.truncate(k);
        }
        Damage::Truncate(cut) => {
            let last = *starts.last().unwrap();
            let len = log.len() - last;
            log.truncate(last + 1 + cut % (len - 1));
            blocks.pop();
        }
        _ => {}
    }
    (log, blocks)
}

/// `process_block` in a loop: what each block gave, the final state, the error.
fn looped(
    engine: &Engine,
    genesis: &State,
    log: &[u8],
    blocks: &[Block],
) -> (Vec<Seen>, Vec<u8>, Option<String>) {
    let mut state = genesis.clone();
    let mut out = Vec::new();
    let mut error = None;
    for b in blocks {
        match engine.process_block(&mut state, b) {
            Ok(o) => out.push(seen(&o)),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    if error.is_none() {
        // The damage the loop's blocks leave out is a decode error of the whole log.
        error = Block::decode_log(log).err().map(|e| e.to_string());
    }
    (out, state.to_snapshot(), error)
}

/// The stream over a `LogReader` of the log.
fn streamed(
    engine: &Engine,
    genesis: &State,
    log: &[u8],
    depth: usize,
) -> (Vec<Seen>, Vec<u8>, Option<String>) {
    let mut state = genesis.clone();
    let mut out = Vec::new();
    let (summary, error) = engine.process_stream_with(
        &mut state,
        LogReader::new(log),
        &StreamOptions { queue_depth: depth },
        |o, st| {
            assert_eq!(st.height(), o.height);
            out.push(seen(o));
            ControlFlow::Continue(())
        },
    );
    assert_eq!(summary.blocks, out.len());
    assert_eq!(summary.height, state.height());
    assert_eq!(summary.state_root, out.last().map(|s| s.state_root));
    (out, state.to_snapshot(), error.map(|e| e.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn stream_equals_block_by_block(
        kind in 0..WORKLOADS,
        seed in 0u64..1000,
        n_blocks in 2usize..6,
        txs in 1usize..90,
        damage_kind in 0usize..5,
        k_pick in 0usize..100,
        at in 0usize..100_000,
        threads in prop::sample::select(vec![1usize, 2, 8]),
        depth in prop::sample::select(vec![1usize, 2, 8]),
    ) {
        let cfg = workload(kind, seed, n_blocks, txs);
        let g = generate(&cfg, |_, _| {}).unwrap();
        let genesis = State::from_genesis(&g.genesis).unwrap();
        // Damage a block in the middle (not the first, so earlier blocks are applied).
        let k = 1 + k_pick % (n_blocks - 1);
        let damage = match damage_kind {
            0 => Damage::None,
            1 => Damage::WrongRoot(k),
            2 => Damage::WrongParent(k),
            3 => Damage::FlipByte(k, at),
            _ => Damage::Truncate(at),
        };
        let (log, blocks) = damaged_log(&g.blocks, damage);
        let engine = common::threaded_cpu_engine(threads);
        let expected = looped(engine, &genesis, &log, &blocks);
        let got = streamed(engine, &genesis, &log, depth);
        prop_assert_eq!(&got.0, &expected.0, "per-block results, {:?}", damage);
        prop_assert!(got.1 == expected.1, "final state differs, {:?}", damage);
        prop_assert_eq!(&got.2, &expected.2, "error, {:?}", damage);
        match damage {
            Damage::None => {
                prop_assert!(got.2.is_none());
                prop_assert_eq!(got.0.len(), n_blocks);
                prop_assert!(got.1 == g.final_state.to_snapshot());
            }
            _ => {
                prop_assert!(got.2.is_some(), "damage {:?} not reported", damage);
                prop_assert!(got.0.len() < n_blocks);
            }
        }
    }
}

#[test]
fn reader_errors_match_decode_log() {
    let g = generate(&workload(0, 7, 3, 30), |_, _| {}).unwrap();
    let log = g.block_log();
    // Every cut of the log: complete blocks are read, the rest is decode_log's error.
    for cut in (0..log.len()).step_by(97) {
        let bytes = &log[..cut];
        let items: Vec<_> = LogReader::new(bytes).collect();
        let expected = Block::decode_log(bytes);
        match expected {
            Ok(blocks) => {
                assert_eq!(items.len(), blocks.len());
                for (a, b) in items.iter().zip(&blocks) {
                    assert_eq!(a.as_ref().unwrap(), b);
                }
            }
            Err(e) => {
                let (last, good) = items.split_last().unwrap();
                assert!(good.iter().all(|b| b.is_ok()));
                assert_eq!(last.as_ref().unwrap_err().to_string(), e.to_string());
            }
        }
    }
    let all: Vec<Block> = LogReader::new(&log[..]).map(|b| b.unwrap()).collect();
    assert_eq!(all, g.blocks);
}

#[test]
fn callback_stop_and_zero_depth() {
    let g = generate(&workload(1, 3, 4, 20), |_, _| {}).unwrap();
    let log = g.block_log();
    let engine = common::threaded_cpu_engine(2);
    let mut state = State::from_genesis(&g.genesis).unwrap();
    let (summary, error) = engine.process_stream_with(
        &mut state,
        LogReader::new(&log[..]),
        &StreamOptions::default(),
        |o, _| {
            if o.height == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    assert!(summary.stopped_early);
    assert!(error.is_none());
    assert_eq!((summary.blocks, state.height()), (2, 2));
    // The stream continues from there with the rest of the blocks.
    let rest = g.blocks[2..].iter().cloned().map(Ok);
    let summary = engine
        .process_stream(&mut state, rest, &StreamOptions::default())
        .unwrap();
    assert_eq!(summary.blocks, 2);
    assert!(state.to_snapshot() == g.final_state.to_snapshot());
    assert!(summary.apply.busy_ns > 0 && summary.prepare.busy_ns > 0);
    let err = engine
        .process_stream(
            &mut state,
            std::iter::empty(),
            &StreamOptions { queue_depth: 0 },
        )
        .unwrap_err();
    assert!(err.to_string().contains("queue depth"), "{err}");
}

#[test]
fn gpu_stream_equals_block_by_block() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let engine = Engine::new(EngineConfig {
        backend: Backend::Gpu,
        adapter: Some(ctx.adapter.name.clone()),
        threads: Some(2),
        ..Default::default()
    })
    .unwrap();
    drop(ctx);
    let g = generate(&workload(0, 11, 3, 200), |_, _| {}).unwrap();
    let genesis = State::from_genesis(&g.genesis).unwrap();
    for damage in [Damage::None, Damage::WrongRoot(1), Damage::Truncate(5000)] {
        let (log, blocks) = damaged_log(&g.blocks, damage);
        let expected = looped(&engine, &genesis, &log, &blocks);
        let got = streamed(&engine, &genesis, &log, 2);
        assert_eq!(got.0, expected.0, "{damage:?}");
        assert!(got.1 == expected.1, "{damage:?}");
        assert_eq!(got.2, expected.2, "{damage:?}");
    }
}
