//! Liquidity and routes (docs/SPEC.md) on the GPU executor and its CPU twin against the
//! sequential reference: random blocks of every kind over pools with and without LP
//! shares (through the twin's block executor, which needs no GPU, and through
//! `Engine::process_block` with `Backend::Gpu`), Uniswap v2's own numbers, and a block
//! whose serial segments hold only 4-hop exact-out routes, the kind with the most loop
//! iterations (lavapipe's per-invocation loop limit). The GPU tests run on whatever
//! adapter exists (lavapipe in CI) and skip without one unless `TXWAVE_REQUIRE_GPU=1`.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use txwave::internal::exec::{ExecResult, reference, twin};
use txwave::internal::schedule::Schedule;
use txwave::internal::state::{AccountJson, GenesisJson, PoolJson};
use txwave::internal::tx::{
    Action, AddLiquidity, Direction, RemoveLiquidity, Route, RouteMode, Swap, Transfer, Tx,
    public_key_of,
};
use txwave::{Amounts, Backend, Block, Engine, State, Status, VerifyRule};

/// 10^18, the unit of Uniswap's tests.
const E: u64 = 1_000_000_000_000_000_000;
/// Tokens: 0 pays fees, 1–3 are traded, 4 and 5 are LP tokens.
const TOKENS: u32 = 6;
const SIGNERS: u8 = 24;
const FEE_COLLECTOR: u8 = 250;
/// LP shares of pool 0 each signer holds at genesis.
const SHARES: u64 = 1 << 30;

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

fn pk(n: u8) -> [u8; 32] {
    public_key_of(&seed(n))
}

fn pool(a: u16, b: u16, fee: u16, ra: u64, rb: u64, lp: Option<(u16, u64)>) -> PoolJson {
    PoolJson {
        token_a: a,
        token_b: b,
        fee_bps: fee,
        reserve_a: ra,
        reserve_b: rb,
        lp_token: lp.map(|(t, _)| t),
        lp_supply: lp.map(|(_, s)| s),
    }
}

/// Pools of every shape: 0 an LP pool with shares held by every signer (S² ≤ r_a·r_b), 1
/// an LP pool with S = 0 (its first mint takes the genesis reserves), 2 a pool without
/// shares at the highest fee, 3 a lopsided pool without shares, 4 a pool of large
/// reserves and fee 0.
fn dex_genesis() -> GenesisJson {
    let accounts = (1..=SIGNERS)
        .map(|n| AccountJson {
            pubkey: hex::encode(pk(n)),
            nonce: 0,
            balances: vec![1 << 40, 1 << 52, 1 << 52, 1 << 52, SHARES, 0],
        })
        .collect();
    GenesisJson {
        verify_rule: VerifyRule::Zip215,
        tokens: TOKENS,
        accounts,
        pools: vec![
            pool(
                1,
                2,
                30,
                1 << 50,
                1 << 51,
                Some((4, u64::from(SIGNERS) * SHARES + 1000)),
            ),
            pool(2, 3, 25, 3_000_000, 7_000_000_000, Some((5, 0))),
            pool(1, 3, 9_999, 1 << 45, 1 << 45, None),
            pool(3, 1, 5, 1000, 1 << 50, None),
            pool(1, 2, 0, 1 << 60, 1 << 61, None),
        ],
    }
}

/// An amount from the ranges that reach every check: 0, 1, u64::MAX, and random values
/// of random widths.
fn amount(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..10) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        _ => rng.r#gen::<u64>() >> rng.gen_range(8..64),
    }
}

/// A random action of any kind over `pools` pools (indices up to `pools` included, so
/// unknown pools occur).
fn random_action(rng: &mut ChaCha8Rng, pools: u32) -> Action {
    let pool = rng.gen_range(0..=pools);
    match rng.gen_range(0..7) {
        0 => Action::Transfer(Transfer {
            to: pk(rng.gen_range(1..=SIGNERS)),
            token: rng.gen_range(0..TOKENS as u16 + 1),
            amount: amount(rng),
        }),
        1 => Action::Swap(Swap {
            pool,
            direction: if rng.gen_bool(0.5) {
                Direction::AtoB
            } else {
                Direction::BtoA
            },
            amount_in: amount(rng),
            min_out: amount(rng) >> rng.gen_range(0..64),
        }),
        2 => Action::AddLiquidity(AddLiquidity {
            pool,
            amount_a_desired: amount(rng),
            amount_b_desired: amount(rng),
            amount_a_min: amount(rng) >> rng.gen_range(0..64),
            amount_b_min: amount(rng) >> rng.gen_range(0..64),
        }),
        3 => Action::RemoveLiquidity(RemoveLiquidity {
            pool,
            liquidity: amount(rng) >> rng.gen_range(20..64),
            amount_a_min: amount(rng) >> rng.gen_range(30..64),
            amount_b_min: amount(rng) >> rng.gen_range(30..64),
        }),
        k => {
            // 1 to 4 distinct pools in random order.
            let mut ids: Vec<u32> = (0..=pools).collect();
            for i in (1..ids.len()).rev() {
                ids.swap(i, rng.gen_range(0..=i));
            }
            ids.truncate(rng.gen_range(1..=4));
            let mode = if k == 4 {
                RouteMode::ExactIn
            } else {
                RouteMode::ExactOut
            };
            let token_in = rng.gen_range(0..TOKENS as u16 + 1);
            Action::Route(
                Route::new(mode, token_in, amount(rng).max(1), amount(rng), &ids)
                    .expect("1 to 4 pools"),
            )
        }
    }
}

/// `blocks` blocks of `txs` random txs of every kind by all signers in turn (so pools and
/// signers chain across waves), with now and then a wrong nonce.
fn dex_blocks(rng_seed: u64, blocks: usize, txs: usize) -> (State, Vec<Block>) {
    let genesis = dex_genesis();
    let state = State::from_genesis(&genesis).expect("valid genesis");
    let pools = genesis.pools.len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let mut nonces = vec![0u64; SIGNERS as usize + 1];
    let mut shadow = state.clone();
    let mut out = Vec::new();
    for _ in 0..blocks {
        let mut block = Block::new(
            shadow.height() + 1,
            shadow.last_block_hash(),
            pk(FEE_COLLECTOR),
            [0; 32],
        );
        for _ in 0..txs {
            let n = rng.gen_range(1..=SIGNERS);
            let nonce = if rng.gen_range(0..40) == 0 {
                nonces[n as usize] + 1
            } else {
                nonces[n as usize]
            };
            let t = Tx::signed(
                &seed(n),
                nonce,
                rng.gen_range(0..3),
                random_action(&mut rng, pools),
            );
            block.push_tx_bytes(&t.encode()).expect("tx fits");
            if nonce == nonces[n as usize] {
                nonces[n as usize] += 1;
            }
        }
        // The reference advances the chain tip so the next block links to this one; a
        // tx with a wrong or stale nonce only gets `bad_nonce`.
        reference::execute_block(&mut shadow, &block).expect("generated block is valid");
        out.push(block);
    }
    (state, out)
}

/// Receipt results as the executors give them: amounts only when `ok`.
fn results_of(receipts: &[txwave::Receipt]) -> Vec<ExecResult> {
    receipts
        .iter()
        .map(|r| match r.status {
            Status::Ok => (r.status, r.amounts),
            s => (s, Amounts::NONE),
        })
        .collect()
}

/// Runs `block` through decode, verify, resolve, schedule and the twin block executor.
fn twin_block(
    state: &mut State,
    block: &Block,
    serial_wave_max: usize,
    max_parallel: usize,
) -> Vec<ExecResult> {
    let decoded: Vec<Option<Tx>> = block.txs().map(Tx::decode).collect();
    let (checks, check_of) = txwave::internal::verify::block_checks(block, &decoded);
    let verdicts = checks
        .iter()
        .map(txwave::internal::verify::cpu::verify_zip215_one)
        .collect();
    let sig_ok = txwave::internal::verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
    let resolved = txwave::internal::resolve::resolve(state, block, &decoded, &sig_ok);
    let sched = Schedule::build(&resolved, state.account_count());
    twin::execute_block(state, &resolved, &sched, serial_wave_max, max_parallel)
        .expect("valid plan")
}

#[test]
fn twin_executes_random_dex_blocks_as_the_reference() {
    let (genesis_state, blocks) = dex_blocks(31, 4, 300);
    // Every wave its own dispatch (split at 5 txs), the defaults, all serial.
    for (serial_wave_max, max_parallel) in [(0, 5), (4, usize::MAX), (usize::MAX, usize::MAX)] {
        let mut twin_state = genesis_state.clone();
        let mut reference_state = genesis_state.clone();
        let mut ok_kinds = std::collections::BTreeSet::new();
        for (h, block) in blocks.iter().enumerate() {
            let want = reference::execute_block(&mut reference_state, block).expect("reference");
            let got = twin_block(&mut twin_state, block, serial_wave_max, max_parallel);
            assert_eq!(
                got,
                results_of(&want.receipts),
                "block {h}, serial {serial_wave_max}"
            );
            // The twin executes only: compare the columns (the tip is the engine's).
            assert_eq!(twin_state.nonces(), reference_state.nonces(), "block {h}");
            for t in 0..TOKENS as usize {
                assert_eq!(
                    twin_state.balance_column(t),
                    reference_state.balance_column(t),
                    "block {h}, token {t}"
                );
            }
            assert_eq!(twin_state.pools(), reference_state.pools(), "block {h}");
            for (r, bytes) in want.receipts.iter().zip(block.txs()) {
                if r.status == Status::Ok {
                    let kind = Tx::decode(bytes).expect("an ok tx decodes").action.kind();
                    ok_kinds.insert(kind);
                }
            }
        }
        assert_eq!(
            ok_kinds.into_iter().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5],
            "every kind applies somewhere in the blocks"
        );
    }
}

fn gpu_matches_reference(engine: &Engine, state: &mut State, blocks: &[Block]) {
    let mut reference_state = state.clone();
    for (h, block) in blocks.iter().enumerate() {
        let want = reference::execute_block(&mut reference_state, block).expect("reference");
        let got = engine.process_block(state, block).expect("GPU engine");
        assert_eq!(
            got.devices.execute,
            txwave::internal::engine::Device::Gpu,
            "block {h}: {:?}",
            got.fallbacks
        );
        assert_eq!(got.receipts, want.receipts, "block {h}: receipts");
        assert_eq!(
            (got.receipts_root, got.state_root),
            (want.receipts_root, want.state_root),
            "block {h}: roots"
        );
        assert!(*state == reference_state, "block {h}: state differs");
    }
}

#[test]
fn gpu_executes_random_dex_blocks_as_the_reference() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let (mut state, blocks) = dex_blocks(32, 4, 300);
    gpu_matches_reference(&engine, &mut state, &blocks);
}

#[test]
fn gpu_gives_uniswaps_router_and_pair_numbers() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    // v2-periphery router tests (30 bps = 997/1000): with 5E / 10E in the pair,
    // swapExactTokensForTokens of 1E gives 1662497915624478906 and
    // swapTokensForExactTokens of 1E out costs 557227237267357629. v2-core pair tests:
    // a first mint of 1E and 4E into a pair holding 1 and 4 (S = 0 here, so the mint
    // takes them pro rata) mints isqrt(A·B) − 1000 = 2E − 1000 shares.
    let g = GenesisJson {
        verify_rule: VerifyRule::Zip215,
        tokens: TOKENS,
        accounts: (1..=3)
            .map(|n| AccountJson {
                pubkey: hex::encode(pk(n)),
                nonce: 0,
                balances: vec![10, 2 * E, E, 4 * E, 0, 0],
            })
            .collect(),
        pools: vec![
            pool(1, 2, 30, 5 * E, 10 * E, None),
            pool(2, 3, 30, 1, 4, Some((5, 0))),
        ],
    };
    let state = State::from_genesis(&g).expect("valid genesis");
    let route = |mode, limit| Action::Route(Route::new(mode, 1, E, limit, &[0]).expect("one pool"));
    let txs = [
        Tx::signed(&seed(1), 0, 1, route(RouteMode::ExactIn, 0)),
        Tx::signed(&seed(2), 0, 1, route(RouteMode::ExactOut, u64::MAX)),
        Tx::signed(
            &seed(3),
            0,
            1,
            Action::AddLiquidity(AddLiquidity {
                pool: 1,
                amount_a_desired: E,
                amount_b_desired: 4 * E,
                amount_a_min: 0,
                amount_b_min: 0,
            }),
        ),
    ];
    // Each tx alone in a block on the genesis state, so each sees Uniswap's reserves.
    let mut amounts = Vec::new();
    for t in &txs {
        let mut block = Block::new(1, state.last_block_hash(), pk(FEE_COLLECTOR), [0; 32]);
        block.push_tx_bytes(&t.encode()).expect("tx fits");
        let mut gpu_state = state.clone();
        gpu_matches_reference(&engine, &mut gpu_state, std::slice::from_ref(&block));
        let mut s = state.clone();
        let o = reference::execute_block(&mut s, &block).expect("reference");
        amounts.push(o.receipts[0].amounts);
    }
    assert_eq!(
        amounts,
        [
            Amounts::Route {
                amount_in: E,
                amount_out: 1_662_497_915_624_478_906
            },
            Amounts::Route {
                amount_in: 557_227_237_267_357_629,
                amount_out: E
            },
            Amounts::Liquidity {
                amount_a: E,
                amount_b: 4 * E,
                liquidity: 2 * E - 1000
            },
        ]
    );
}

#[test]
fn gpu_runs_serial_segments_of_four_hop_exact_out_routes() {
    // One signer's routes chain (its nonce), so every wave holds one tx and the waves
    // join serial segments of SERIAL_SEGMENT_MAX_TXS txs: each route runs four
    // amount_in long divisions with five-digit divisors ((r_out − y)(10000 − fee) ≈
    // 2^74), the most loop iterations a tx has. lavapipe's limiter would cut a segment short and the receipts would differ.
    let Some(mut engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    engine
        .gpu_executor_mut()
        .expect("GPU engine")
        .set_serial_wave_max(usize::MAX);
    let g = GenesisJson {
        verify_rule: VerifyRule::Zip215,
        tokens: 4,
        accounts: vec![AccountJson {
            pubkey: hex::encode(pk(1)),
            nonce: 0,
            balances: vec![1 << 20, 1 << 62, 0, 0],
        }],
        pools: vec![
            pool(1, 2, 30, 1 << 61, (1 << 61) + 12_345, None),
            pool(2, 3, 1, (1 << 60) + 7, 1 << 61, None),
            pool(3, 2, 45, 1 << 61, (1 << 60) + 99, None),
            pool(2, 1, 17, (1 << 61) - 5, 1 << 61, None),
        ],
    };
    let state = State::from_genesis(&g).expect("valid genesis");
    let mut block = Block::new(1, state.last_block_hash(), pk(FEE_COLLECTOR), [0; 32]);
    let count = 3 * txwave::internal::exec::layout::SERIAL_SEGMENT_MAX_TXS;
    for nonce in 0..count as u64 {
        let want_out = (1 << 48) + nonce * 1_000_003;
        let r = Route::new(RouteMode::ExactOut, 1, want_out, u64::MAX, &[0, 1, 2, 3])
            .expect("four pools");
        let t = Tx::signed(&seed(1), nonce, 0, Action::Route(r));
        block.push_tx_bytes(&t.encode()).expect("tx fits");
    }
    let mut s = state.clone();
    let o = reference::execute_block(&mut s, &block).expect("reference");
    let statuses: Vec<Status> = o.receipts.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|&s| s == Status::Ok),
        "every route applies: {statuses:?}"
    );
    let mut gpu_state = state;
    gpu_matches_reference(&engine, &mut gpu_state, std::slice::from_ref(&block));
}

#[test]
fn shipped_dex_dataset_matches_on_the_gpu() {
    // datasets/dex: the generator's dex profile (every kind, routes of 1 to 4 hops, LP
    // pools), executed with every wave its own dispatch, the software default, and all
    // serial.
    let Some(mut engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/dex");
    let genesis = std::fs::read_to_string(dir.join("genesis.json")).expect("genesis file");
    let log = std::fs::read(dir.join("blocks.blk")).expect("block log");
    let blocks = Block::decode_log(&log).expect("block log decodes");
    for serial_wave_max in [
        0,
        txwave::internal::exec::layout::SOFTWARE_SERIAL_WAVE_MAX,
        usize::MAX,
    ] {
        engine
            .gpu_executor_mut()
            .expect("GPU engine")
            .set_serial_wave_max(serial_wave_max);
        let mut state = State::from_genesis_json(&genesis).expect("genesis");
        gpu_matches_reference(&engine, &mut state, &blocks);
    }
}
