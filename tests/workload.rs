//! The generator is deterministic and its datasets check themselves.

mod common;

use txwave::internal::workload::{GenConfig, generate};
use txwave::{State, Status};

fn cfg() -> GenConfig {
    GenConfig {
        account_skew: 1.0,
        pool_skew: 1.0,
        ..GenConfig::sized(50, 4, 3, 200, 42)
    }
}

#[test]
fn same_config_same_bytes_different_seed_different_bytes() {
    let a = generate(&cfg(), |_, _| {}).unwrap();
    let b = generate(&cfg(), |_, _| {}).unwrap();
    assert_eq!(a.genesis_json(), b.genesis_json());
    assert_eq!(a.block_log(), b.block_log());
    // Same bytes whatever the thread count.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let c = one.install(|| generate(&cfg(), |_, _| {}).unwrap());
    assert_eq!(a.block_log(), c.block_log());
    let d = generate(&GenConfig { seed: 43, ..cfg() }, |_, _| {}).unwrap();
    assert_ne!(a.block_log(), d.block_log());
}

#[test]
fn generated_blocks_claim_roots_the_engine_reproduces_and_fail_every_way() {
    let g = generate(&cfg(), |_, _| {}).unwrap();
    let engine = common::cpu_engine();
    let mut state = State::from_genesis(&g.genesis).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for block in &g.blocks {
        assert!(block.claimed_root().is_some());
        let out = engine.process_block(&mut state, block).unwrap();
        seen.extend(out.receipts.iter().map(|r| r.status));
    }
    assert_eq!(state, g.final_state);
    for s in [
        Status::Ok,
        Status::Malformed,
        Status::BadSignature,
        Status::BadNonce,
        Status::InsufficientBalance,
        Status::SlippageExceeded,
    ] {
        assert!(
            seen.contains(&s),
            "no {s:?} receipt in the generated blocks"
        );
    }
}

#[test]
fn bad_configs_are_errors() {
    for bad in [
        GenConfig { tokens: 0, ..cfg() },
        GenConfig {
            accounts: 0,
            ..cfg()
        },
        GenConfig {
            pools: 0,
            swap_share: 0.5,
            ..cfg()
        },
        GenConfig {
            swap_share: 1.5,
            ..cfg()
        },
        GenConfig {
            account_skew: -1.0,
            ..cfg()
        },
    ] {
        assert!(generate(&bad, |_, _| {}).is_err(), "{bad:?}");
    }
}

#[test]
fn cpu_commit_cache_follows_blocks_rollbacks_and_other_states() {
    let engine = common::cpu_engine();
    common::commit_cache_scenario(&engine);
}
