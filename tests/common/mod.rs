//! Scenarios shared by several test files.

use txwave::workload::{GenConfig, generate};
use txwave::{Block, Engine, Error, State};

/// Drives `engine` through blocks that exercise its commit caches (account leaves kept
/// between blocks, only touched accounts rehashed): new accounts every block, a block
/// rolled back after execution, a second state and a clone fed through the same engine.
/// Every block carries its claimed root, so a stale leaf fails the block; each root is
/// also compared with a full recomputation, and `accounts_rehashed` shows when the kept
/// leaves were reused (the block of a state the engine committed last) and when not.
pub fn commit_cache_scenario(engine: &Engine) {
    let g = generate(
        &GenConfig {
            accounts: 2000,
            pools: 4,
            blocks: 5,
            txs_per_block: 300,
            seed: 11,
            account_skew: 1.0,
            new_recipient_share: 0.1,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let blocks = &g.blocks;
    let step = |state: &mut State, block: &Block, reused: bool, what: &str| {
        let out = engine.process_block(state, block).unwrap();
        assert_eq!(out.state_root, state.state_root(), "{what}");
        let n = state.account_count();
        if reused {
            // 300 txs touch a few hundred of the 2000+ accounts.
            assert!(
                out.accounts_rehashed < n / 2,
                "{what}: {} of {n} leaves rehashed",
                out.accounts_rehashed
            );
        } else {
            assert_eq!(out.accounts_rehashed, n, "{what}");
        }
    };
    let genesis = State::from_genesis(&g.genesis).unwrap();
    let (mut a, mut b) = (genesis.clone(), genesis);

    step(&mut a, &blocks[0], false, "a0: first block");
    step(&mut a, &blocks[1], true, "a1");
    let mut wrong = blocks[2].clone();
    wrong.claimed_state_root[0] ^= 1;
    let before = a.clone();
    assert!(matches!(
        engine.process_block(&mut a, &wrong),
        Err(Error::StateRootMismatch { .. })
    ));
    assert_eq!(a, before);
    step(&mut a, &blocks[2], false, "a2: after a rolled-back block");
    step(&mut a, &blocks[3], true, "a3");
    step(&mut b, &blocks[0], false, "b0: another state");
    step(&mut a, &blocks[4], false, "a4: after another state's block");
    assert_eq!(a, g.final_state);
    step(&mut b, &blocks[1], false, "b1: after another state's block");
    step(&mut b, &blocks[2], true, "b2");
    step(&mut b, &blocks[3], true, "b3");
    let mut c = b.clone();
    step(&mut c, &blocks[4], false, "c4: a clone is another state");
    step(&mut b, &blocks[4], false, "b4: after the clone's block");
    assert_eq!(b, g.final_state);
    assert_eq!(c, g.final_state);
}
