//! GPU execution (`exec::gpu`) against the sequential reference: whole blocks through
//! `Engine::process_block` with `Backend::Gpu` on generated workloads and hand-built edge
//! blocks, state resident across blocks, rollback, fallback, and the shader's swap
//! arithmetic against its CPU twin and a big-integer oracle. Runs on whatever adapter
//! exists (lavapipe in CI); skips without one unless `TXWAVE_REQUIRE_GPU=1`.

mod common;

use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use txwave::internal::engine::Device;
use txwave::internal::exec::layout::{SwapProbe, WideProbe};
use txwave::internal::exec::{reference, twin, twin_wide};
use txwave::internal::gpu::resident::{join, split};
use txwave::internal::state::{AccountJson, GenesisJson, Pool, PoolJson};
use txwave::internal::tx::{
    Action, AddLiquidity, Direction, Route, RouteMode, Swap, Transfer, Tx, public_key_of,
};
use txwave::internal::workload::{GenConfig, generate};
use txwave::{Backend, Block, BlockOutcome, Engine, Error, State, Status, VerifyRule};

/// A GPU engine of `backend`, the `hot_pool_30` workload, and the engine's and the
/// reference's states after its first block (checked equal).
fn after_first_block(
    backend: Backend,
) -> Option<(Engine, txwave::internal::workload::Generated, State, State)> {
    let engine = match backend {
        Backend::Auto => common::auto_engine_cpu_verify()?,
        _ => common::gpu_engine(backend)?,
    };
    let (g, mut state) = common::dataset(&workload("hot_pool_30"));
    let mut reference_state = state.clone();
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[0],
        "block 1",
    );
    Some((engine, g, state, reference_state))
}

/// Runs `block` on the GPU engine and on the reference; asserts identical receipts, roots
/// and state, and that execution ran on the GPU.
fn same_as_reference(
    engine: &Engine,
    state: &mut State,
    reference_state: &mut State,
    block: &Block,
    what: &str,
) -> BlockOutcome {
    let want = reference::execute_block(reference_state, block)
        .unwrap_or_else(|e| panic!("{what}: reference rejected the block: {e}"));
    let got = engine
        .process_block(state, block)
        .unwrap_or_else(|e| panic!("{what}: GPU engine rejected the block: {e}"));
    assert_eq!(
        got.devices.execute,
        Device::Gpu,
        "{what}: {:?}",
        got.fallbacks
    );
    for (i, (g, w)) in got.receipts.iter().zip(&want.receipts).enumerate() {
        assert_eq!(g, w, "{what}: receipt {i}");
    }
    assert_eq!(got.receipts.len(), want.receipts.len(), "{what}");
    assert_eq!(
        (
            got.tx_root,
            got.receipts_root,
            got.state_root,
            got.block_hash
        ),
        (
            want.tx_root,
            want.receipts_root,
            want.state_root,
            want.block_hash
        ),
        "{what}: roots"
    );
    assert!(*state == *reference_state, "{what}: state differs");
    got
}

fn workload(name: &str) -> GenConfig {
    let base = GenConfig::sized(300, 6, 3, 600, 21);
    match name {
        "uniform" => base,
        "hot_pool_30" => GenConfig {
            hot_pool_share: 0.3,
            swap_share: 0.6,
            ..base
        },
        "all_one_pool" => GenConfig {
            hot_pool_share: 1.0,
            swap_share: 1.0,
            ..base
        },
        "transfers_only" => GenConfig {
            swap_share: 0.0,
            account_skew: 1.2,
            ..base
        },
        other => panic!("unknown workload {other}"),
    }
}

#[test]
fn workloads_match_the_reference_with_state_resident_across_blocks() {
    let Some(mut engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    for name in ["uniform", "hot_pool_30", "all_one_pool", "transfers_only"] {
        let g = generate(&workload(name), |_, _| {}).expect("valid config");
        // 0: every wave its own dispatch; both defaults; everything serial.
        for serial_wave_max in [
            0,
            txwave::internal::exec::layout::DEFAULT_SERIAL_WAVE_MAX,
            txwave::internal::exec::layout::SOFTWARE_SERIAL_WAVE_MAX,
            usize::MAX,
        ] {
            engine
                .gpu_executor_mut()
                .expect("GPU engine")
                .set_serial_wave_max(serial_wave_max);
            let mut state = State::from_genesis(&g.genesis).expect("genesis");
            let mut reference_state = state.clone();
            for (h, block) in g.blocks.iter().enumerate() {
                let what = format!("{name}, serial_wave_max {serial_wave_max}, block {h}");
                let out =
                    same_as_reference(&engine, &mut state, &mut reference_state, block, &what);
                let sync = engine.gpu_resident().expect("GPU engine").last_sync();
                // The first block uploads the state; later ones only appended accounts.
                assert_eq!(sync.full_upload, h == 0, "{what}: {sync:?}");
                if h > 0 {
                    assert!(sync.accounts_uploaded < 100, "{what}: {sync:?}");
                }
                assert!(out.gpu_timings.execute.dispatch_ns > 0, "{what}");
            }
            assert!(state == g.final_state, "{name}: final state");
        }
    }
}

#[test]
fn waves_split_over_two_dimensional_grids_match() {
    let Some(mut engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let exec = engine.gpu_executor_mut().expect("GPU engine");
    let mut limits = exec.limits();
    // 3 × 3 workgroups of 64: a wave of more than 192 txs needs a second grid row.
    limits.max_workgroups_per_dim = 3;
    exec.set_limits(limits);
    exec.set_serial_wave_max(0);
    let cfg = GenConfig {
        accounts: 3000,
        txs_per_block: 500,
        blocks: 1,
        ..workload("uniform")
    };
    let g = generate(&cfg, |_, _| {}).expect("valid config");
    let mut state = State::from_genesis(&g.genesis).expect("genesis");
    let mut reference_state = state.clone();
    let out = same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[0],
        "2D",
    );
    assert!(out.largest_wave > 192, "largest wave {}", out.largest_wave);
}

fn seed(i: u64) -> [u8; 32] {
    *blake3::hash(format!("exec_gpu edge key {i}").as_bytes()).as_bytes()
}

fn account(seed_index: u64, nonce: u64, balances: [u64; 4]) -> AccountJson {
    AccountJson {
        pubkey: hex::encode(public_key_of(&seed(seed_index))),
        nonce,
        balances: balances.to_vec(),
    }
}

fn transfer(from: u64, nonce: u64, fee: u64, to: [u8; 32], token: u16, amount: u64) -> Tx {
    Tx::signed(
        &seed(from),
        nonce,
        fee,
        Action::Transfer(Transfer { to, token, amount }),
    )
}

fn swap(
    from: u64,
    nonce: u64,
    fee: u64,
    pool: u32,
    direction: Direction,
    amount_in: u64,
    min_out: u64,
) -> Tx {
    Tx::signed(
        &seed(from),
        nonce,
        fee,
        Action::Swap(Swap {
            pool,
            direction,
            amount_in,
            min_out,
        }),
    )
}

/// Key indices of the edge genesis.
const FC: u64 = 1;
const R: u64 = 2;
const WHALE: u64 = 3;
const TOP: u64 = 4;
const EXACT: u64 = 5;
const OVER: u64 = 6;
const N_MAX: u64 = 7;
const N_NEAR: u64 = 8;
const POOR: u64 = 9;
const FEE_ONLY: u64 = 10;
const ODD: u64 = 11;
const SELF: u64 = 12;
const STRANGER: u64 = 13;
const NEWCOMER: u64 = 14;
const CROWD: u64 = 100;
const CROWD_SIZE: u64 = 300;

/// A genesis at the u64 edges: token 1's supply is exactly 2^64 − 1, pool 1 holds
/// 2^64 − 2^20 of token 3, the fee collector and the hot recipient sit just below 2^32.
fn edge_genesis() -> State {
    let mut accounts = vec![
        account(FC, 0, [(1 << 32) - 100, 0, 0, 0]),
        account(R, 0, [0, (1 << 32) - 1, 0, 0]),
        account(WHALE, (1 << 32) - 1, [1_000_000, 0, (1 << 63) + 12_345, 0]),
        account(EXACT, 0, [1_000, 1_000_000_000, 0, 0]),
        account(OVER, 0, [1_000, 1_000_000_000, 0, 0]),
        account(N_MAX, u64::MAX, [1_000, 0, 0, 0]),
        account(N_NEAR, u64::MAX - 1, [1_000, 0, 0, 0]),
        account(POOR, 0, [5, 0, 0, 0]),
        account(FEE_ONLY, 0, [7, 0, 0, 0]),
        account(ODD, 0, [1_000, 5, 0, 0]),
        account(SELF, 0, [1_000, 777, 0, 0]),
    ];
    for k in 0..CROWD_SIZE {
        accounts.push(account(CROWD + k, 0, [(1 << 33) + 7, (1 << 32) + 5, 0, 0]));
    }
    let pools = vec![
        Pool::new(0, 1, 30, 1 << 40, 1 << 40),
        Pool::new(2, 3, 30, 1 << 62, u64::MAX - (1 << 20)),
        Pool::new(1, 2, 25, 1_000_000_000_000, 3_000_000_000_007),
        Pool::new(1, 2, 25, 1_000_000_000_000, 3_000_000_000_007),
    ];
    // TOP holds the rest of token 1's supply, so it is exactly 2^64 − 1.
    let token1: u128 = accounts.iter().map(|a| a.balances[1] as u128).sum::<u128>()
        + pools
            .iter()
            .map(|p| match (p.token_a, p.token_b) {
                (1, _) => p.reserve_a as u128,
                (_, 1) => p.reserve_b as u128,
                _ => 0,
            })
            .sum::<u128>();
    accounts.push(account(
        TOP,
        0,
        [1_000, (u64::MAX as u128 - token1) as u64, 0, 0],
    ));
    State::from_genesis(&GenesisJson {
        verify_rule: VerifyRule::Zip215,
        tokens: 4,
        accounts,
        pools: pools.into_iter().map(PoolJson::from).collect(),
    })
    .expect("edge genesis is valid")
}

fn edge_block(state: &State) -> Block {
    let key = |i: u64| public_key_of(&seed(i));
    let mut b = Block::new(1, state.last_block_hash(), key(FC), [0; 32]);
    // Wave 0: the crowd credits R (token 1) and the fee collector (token 0) across the
    // 2^32 boundary many times over; TOP sends its whole balance to R, which ends at
    // 2^64 − 1 minus what others keep.
    for k in 0..CROWD_SIZE {
        b.push_tx(&transfer(
            CROWD + k,
            0,
            (1 << 31) + k,
            key(R),
            1,
            (1 << 32) - 1 + k % 3,
        ));
    }
    let top = state.account_index(&key(TOP)).expect("TOP exists") as usize;
    b.push_tx(&transfer(TOP, 0, 1, key(R), 1, state.balance(top, 1)));
    // u64-edge swap into reserves near 2^64, then back, with the nonce crossing 2^32.
    b.push_tx(&swap(
        WHALE,
        (1 << 32) - 1,
        3,
        1,
        Direction::AtoB,
        1 << 63,
        0,
    ));
    b.push_tx(&swap(
        WHALE,
        1 << 32,
        3,
        1,
        Direction::BtoA,
        1_000_000_007,
        1,
    ));
    // Slippage at the exact boundary on two identical fresh pools.
    let out =
        txwave::internal::exec::swap_out(1_000_000_000, 1_000_000_000_000, 3_000_000_000_007, 25);
    b.push_tx(&swap(EXACT, 0, 1, 2, Direction::AtoB, 1_000_000_000, out));
    b.push_tx(&swap(
        OVER,
        0,
        1,
        3,
        Direction::AtoB,
        1_000_000_000,
        out + 1,
    ));
    // Nonces at 2^64 − 1: exhausted, and the last usable one.
    b.push_tx(&transfer(N_MAX, u64::MAX, 1, key(R), 0, 1));
    b.push_tx(&transfer(N_NEAR, u64::MAX - 1, 1, key(R), 0, 1));
    b.push_tx(&transfer(N_NEAR, u64::MAX, 1, key(R), 0, 1));
    // Fee failures, unknown token and pool, insufficient balance.
    b.push_tx(&transfer(POOR, 0, 6, key(R), 0, 1));
    b.push_tx(&transfer(FEE_ONLY, 0, 7, key(R), 0, 1));
    b.push_tx(&transfer(ODD, 0, 1, key(R), 4, 1));
    b.push_tx(&swap(ODD, 1, 1, 9, Direction::BtoA, 1, 0));
    b.push_tx(&swap(ODD, 2, 1, 0, Direction::BtoA, 6, 0));
    // The liquidity and route codes: a route whose first pool lacks token_in, liquidity
    // into a pool without an LP token, and an exact-out route asking for more than the
    // pool holds.
    let route = |mode, token_in, amount, pools: &[u32]| {
        Action::Route(Route::new(mode, token_in, amount, u64::MAX, pools).expect("1 to 4 pools"))
    };
    b.push_tx(&Tx::signed(
        &seed(ODD),
        3,
        1,
        route(RouteMode::ExactIn, 3, 1, &[0]),
    ));
    b.push_tx(&Tx::signed(
        &seed(ODD),
        4,
        1,
        Action::AddLiquidity(AddLiquidity {
            pool: 2,
            amount_a_desired: 1,
            amount_b_desired: 1,
            amount_a_min: 0,
            amount_b_min: 0,
        }),
    ));
    b.push_tx(&Tx::signed(
        &seed(ODD),
        5,
        1,
        route(RouteMode::ExactOut, 1, u64::MAX, &[2]),
    ));
    // To oneself, the fee collector as signer, a new recipient, an unknown signer.
    b.push_tx(&transfer(SELF, 0, 1, key(SELF), 1, 777));
    b.push_tx(&transfer(FC, 0, 1, key(NEWCOMER), 0, 1_000));
    b.push_tx(&transfer(STRANGER, 0, 1, key(R), 0, 1));
    // A bad signature and a malformed tx.
    let mut bad = transfer(SELF, 1, 1, key(R), 0, 1).encode();
    bad[3] ^= 1;
    b.push_tx_bytes(&bad).expect("155 bytes");
    b.push_tx_bytes(&[2u8; 70]).expect("70 bytes");
    // A hot-pool chain at the end: one-tx waves through pool 0.
    for k in 0..20 {
        let dir = if k % 2 == 0 {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        b.push_tx(&swap(CROWD + k, 1, 1, 0, dir, 1_000 + k, 0));
    }
    b
}

#[test]
fn edge_block_at_u64_limits_matches_the_reference() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let mut state = edge_genesis();
    let mut reference_state = state.clone();
    let block = edge_block(&state);
    let out = same_as_reference(&engine, &mut state, &mut reference_state, &block, "edge");
    let statuses: std::collections::BTreeSet<Status> =
        out.receipts.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.len(),
        Status::ALL.len(),
        "every status occurs: {statuses:?}"
    );
    let key = |i: u64| public_key_of(&seed(i));
    let r = state.account_index(&key(R)).expect("R") as usize;
    // All of token 1 but the pools' reserves (about 2^41.5) and small change ends at R.
    let short = u64::MAX - state.balance(r, 1);
    assert!(short < 1 << 43, "R ends near 2^64: {short} short");
    let n = state.account_index(&key(N_NEAR)).expect("N_NEAR") as usize;
    assert_eq!(state.nonces()[n], u64::MAX);
    let w = state.account_index(&key(WHALE)).expect("WHALE") as usize;
    assert_eq!(state.nonces()[w], (1 << 32) + 1);
}

#[test]
fn rejected_block_then_good_block_keeps_the_device_copy_consistent() {
    let Some((engine, g, mut state, mut reference_state)) = after_first_block(Backend::Gpu) else {
        return;
    };
    // Block 2 with a wrong claimed root: executed on the device, then rejected.
    let mut wrong = g.blocks[1].clone();
    wrong.claimed_state_root = [7; 32];
    let before = state.clone();
    match engine.process_block(&mut state, &wrong) {
        Err(Error::StateRootMismatch { .. }) => {}
        other => panic!("expected a root mismatch, got {other:?}"),
    }
    assert!(state == before, "rolled back");
    // The good block 2 must not see block 2's effects left on the device.
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[1],
        "block 2",
    );
    assert!(engine.gpu_resident().expect("GPU").last_sync().full_upload);
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[2],
        "block 3",
    );
    assert!(!engine.gpu_resident().expect("GPU").last_sync().full_upload);
}

#[test]
fn one_engine_with_several_states_and_host_edits_between_blocks() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let cpu = common::cpu_engine();
    let g = generate(&workload("uniform"), |_, _| {}).expect("valid config");
    let genesis = State::from_genesis(&g.genesis).expect("genesis");
    let (mut a, mut b) = (genesis.clone(), genesis.clone());
    let (mut ra, mut rb) = (genesis.clone(), genesis);
    same_as_reference(&engine, &mut a, &mut ra, &g.blocks[0], "A 1");
    same_as_reference(&engine, &mut b, &mut rb, &g.blocks[0], "B 1");
    assert!(
        engine.gpu_resident().expect("GPU").last_sync().full_upload,
        "B is another state"
    );
    // Block 2 of A on the CPU engine: the host changes behind the device copy.
    cpu.process_block(&mut a, &g.blocks[1]).expect("CPU block");
    reference::execute_block(&mut ra, &g.blocks[1]).expect("reference block");
    same_as_reference(&engine, &mut a, &mut ra, &g.blocks[2], "A 3");
    assert!(
        engine.gpu_resident().expect("GPU").last_sync().full_upload,
        "A changed on the host"
    );
    same_as_reference(&engine, &mut b, &mut rb, &g.blocks[1], "B 2");
}

#[test]
fn failure_after_dispatch_leaves_the_host_untouched_and_auto_falls_back() {
    let Some((engine, g, mut state, mut reference_state)) = after_first_block(Backend::Auto) else {
        return;
    };
    engine
        .gpu_executor()
        .expect("GPU")
        .inject_fault_after_dispatch();
    let want = reference::execute_block(&mut reference_state, &g.blocks[1]).expect("reference");
    let out = engine
        .process_block(&mut state, &g.blocks[1])
        .expect("Auto recovers");
    assert_eq!(out.devices.execute, Device::CpuFallback);
    common::assert_one_gpu_fallback(&out.fallbacks, "execute");
    assert_eq!(out.receipts, want.receipts);
    assert!(state == reference_state);
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[2],
        "block 3",
    );
}

#[test]
fn failure_after_dispatch_under_gpu_backend_is_an_error_and_changes_nothing() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let g = generate(&workload("uniform"), |_, _| {}).expect("valid config");
    let mut state = State::from_genesis(&g.genesis).expect("genesis");
    let mut reference_state = state.clone();
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[0],
        "block 1",
    );
    let before = state.clone();
    engine
        .gpu_executor()
        .expect("GPU")
        .inject_fault_after_dispatch();
    match engine.process_block(&mut state, &g.blocks[1]) {
        Err(Error::Gpu {
            stage: "execute readback",
            ..
        }) => {}
        other => panic!("expected the injected GPU error, got {other:?}"),
    }
    assert!(state == before);
    same_as_reference(
        &engine,
        &mut state,
        &mut reference_state,
        &g.blocks[1],
        "block 2 again",
    );
}

#[test]
fn block_of_65537_txs_matches() {
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let cfg = GenConfig {
        hot_pool_share: 0.3,
        ..GenConfig::sized(4000, 8, 1, 65_537, 5)
    };
    let g = generate(&cfg, |_, _| {}).expect("valid config");
    let mut state = State::from_genesis(&g.genesis).expect("genesis");
    // The block claims the reference's state root, so acceptance is a root check; the
    // receipts are compared with the CPU engine, itself checked against the reference.
    let cpu = common::cpu_engine();
    let mut cpu_state = state.clone();
    let want = cpu
        .process_block(&mut cpu_state, &g.blocks[0])
        .expect("CPU block");
    let got = engine
        .process_block(&mut state, &g.blocks[0])
        .expect("GPU block");
    assert_eq!(got.devices.execute, Device::Gpu);
    assert_eq!(got.receipts, want.receipts);
    assert_eq!(got.receipts_root, want.receipts_root);
    assert!(state == g.final_state);
}

/// out = floor(a·R_out / (R_in·10000 + a)), a = amount_in·(10000 − fee), with big integers.
fn oracle(p: &SwapProbe) -> u64 {
    let a = BigUint::from(join(p.amount_in)) * BigUint::from(10_000 - p.fee_bps);
    let d = BigUint::from(join(p.reserve_in)) * BigUint::from(10_000u32) + &a;
    u64::try_from(a * BigUint::from(join(p.reserve_out)) / d).expect("below reserve_out")
}

#[test]
fn shader_swap_arithmetic_matches_twin_and_big_integer_oracle() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let edges = txwave::internal::exec::twin::LIMB_EDGES;
    let mut probes = Vec::new();
    for &amount in &edges {
        for &r_in in edges.iter().filter(|&&r| r >= 1) {
            for &r_out in &edges {
                for fee in [0u32, 1, 30, 9_999] {
                    probes.push(SwapProbe {
                        amount_in: split(amount),
                        reserve_in: split(r_in),
                        reserve_out: split(r_out),
                        fee_bps: fee,
                        pad0: 0,
                    });
                }
            }
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for _ in 0..20_000 {
        // Random widths, so that small and large operands both occur.
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| rng.r#gen::<u64>() >> rng.gen_range(0..64);
        let r_in = draw(&mut rng).max(1);
        probes.push(SwapProbe {
            amount_in: split(draw(&mut rng)),
            reserve_in: split(r_in),
            reserve_out: split(draw(&mut rng)),
            fee_bps: rng.gen_range(0..10_000),
            pad0: 0,
        });
    }
    let got =
        txwave::internal::exec::gpu::swap_out_probe_on_gpu(&ctx, &probes).expect("probe runs");
    assert_eq!(got.len(), probes.len());
    for (i, (p, &(q, m))) in probes.iter().zip(&got).enumerate() {
        let (tq, tm) = twin::swap_out_probe(p);
        assert_eq!(q, join(tq), "probe {i}: shader vs twin swap_out, {p:?}");
        assert_eq!(
            q,
            oracle(p),
            "probe {i}: shader vs big-integer oracle, {p:?}"
        );
        assert_eq!(m, join(tm), "probe {i}: shader vs twin mul_wide");
        assert_eq!(
            m,
            u64::from(p.amount_in[0]) * u64::from(p.reserve_out[1]),
            "probe {i}"
        );
    }
}

/// The wide arithmetic (`amount_in`, `quote`, `isqrt128` of shaders/shared/wide.wgsl) on
/// the device equals its CPU twin (`exec::twin_wide`) and big-integer oracles, on limb
/// edges, y = r_out − 1, results on both sides of 2^64, and random operands of random
/// widths. Each probe runs in its own invocation, so this also runs the long divisions
/// under lavapipe's per-invocation loop limit.
#[test]
fn shader_wide_arithmetic_matches_twin_and_big_integer_oracle() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let e18: u64 = 1_000_000_000_000_000_000;
    let mut ops: Vec<u64> = txwave::internal::exec::twin::LIMB_EDGES.to_vec();
    ops.extend([3, 1_000, e18, 5 * e18, 10 * e18, u64::MAX / 3]);
    let probe = |x: u64, a: u64, b: u64, fee_bps: u32| WideProbe {
        x: split(x),
        a: split(a),
        b: split(b),
        fee_bps,
        pad0: 0,
    };
    let mut probes = Vec::new();
    for &x in &ops {
        for &a in &ops {
            for &b in &ops {
                for fee in [0u32, 30, 9_999] {
                    probes.push(probe(x, a, b, fee));
                }
            }
        }
        // y = r_out − 1, the largest output a hop can give.
        probes.push(probe(x.saturating_sub(1), u64::MAX, x, 0));
        probes.push(probe(x.saturating_sub(1), 1, x, 9_999));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    for _ in 0..20_000 {
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| rng.r#gen::<u64>() >> rng.gen_range(0..64);
        probes.push(probe(
            draw(&mut rng),
            draw(&mut rng),
            draw(&mut rng),
            rng.gen_range(0..10_000),
        ));
    }
    let got = txwave::internal::exec::gpu::wide_probe_on_gpu(&ctx, &probes).expect("probe runs");
    assert_eq!(got.len(), probes.len());
    let big = |v: [u32; 2]| BigUint::from(join(v));
    // A big integer as (low word, high word, over): saturated at 2^64 − 1.
    let saturate = |v: BigUint| match u64::try_from(&v) {
        Ok(v) => (split(v), false),
        Err(_) => ([u32::MAX, u32::MAX], true),
    };
    for (i, (p, w)) in probes.iter().zip(&got).enumerate() {
        assert_eq!(
            *w,
            twin_wide::wide_probe(p),
            "probe {i}: shader vs twin, {p:?}"
        );
        let (x, a, b) = (big(p.x), big(p.a), big(p.b));
        if a > BigUint::ZERO && x < b {
            let want = saturate(&a * &x * 10_000u32 / ((&b - &x) * (10_000 - p.fee_bps)) + 1u32);
            assert_eq!(
                ([w[0], w[1]], w[6] & 1 != 0),
                want,
                "probe {i}: amount_in, {p:?}"
            );
        }
        if a > BigUint::ZERO {
            let want = saturate(&x * &b / &a);
            assert_eq!(
                ([w[2], w[3]], w[6] & 2 != 0),
                want,
                "probe {i}: quote, {p:?}"
            );
        }
        assert_eq!(
            big([w[4], w[5]]),
            (&a * &b).sqrt(),
            "probe {i}: isqrt128, {p:?}"
        );
    }
}

#[test]
fn shipped_defi_small_dataset_matches() {
    // Also the regression test for long serial segments: with 4096 txs per segment,
    // lavapipe's loop limiter cut invocations short from about the 1000th swap on.
    let Some(mut engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/defi-small");
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
        let mut reference_state = state.clone();
        for (h, block) in blocks.iter().enumerate() {
            same_as_reference(
                &engine,
                &mut state,
                &mut reference_state,
                block,
                &format!("defi-small block {h}, serial_wave_max {serial_wave_max}"),
            );
        }
    }
}

/// The kernel's raw output equals its twin's, word for word, on a block's plan: the
/// internal unknown-kind status (`EXEC_STATUS_UNKNOWN_KIND`, outside the receipt codes)
/// never appears there, and with unknown kinds injected into a transfer and a swap of a
/// serial and of a parallel segment it appears at exactly those txs, on the device as in
/// the twin, and the plan's results turn it into an internal error.
#[test]
fn unknown_kind_status_only_at_injected_kinds_on_the_device_and_the_twin() {
    use txwave::internal::exec::layout::{
        EXEC_STATUS_UNKNOWN_KIND, RECEIPT_WORDS, SEGMENT_PARALLEL, SEGMENT_SERIAL, TX_KIND_SWAP,
        TX_KIND_TRANSFER,
    };
    use txwave::internal::exec::plan::BlockPlan;
    let Some(engine) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let (ctx, exec, resident) = (
        engine.gpu_context().expect("GPU engine"),
        engine.gpu_executor().expect("GPU engine"),
        engine.gpu_resident().expect("GPU engine"),
    );
    let (g, mut state) = common::dataset(&workload("hot_pool_30"));
    let block = &g.blocks[0];
    let decoded: Vec<Option<Tx>> = block.txs().map(Tx::decode).collect();
    let (checks, check_of) = txwave::internal::verify::block_checks(block, &decoded);
    let verdicts = txwave::internal::verify::cpu::verify_signatures(&checks, state.verify_rule());
    let sig_ok = txwave::internal::verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
    let resolved = txwave::internal::resolve::resolve(&mut state, block, &decoded, &sig_ok);
    let sched = txwave::internal::schedule::Schedule::build(&resolved, state.account_count());
    let plan = BlockPlan::build(
        &resolved,
        &sched,
        state.account_count(),
        state.pools().len(),
        txwave::internal::exec::layout::DEFAULT_SERIAL_WAVE_MAX,
        usize::MAX,
    )
    .expect("valid plan");
    let status = |out: &[u32], k: usize| out[RECEIPT_WORDS * k];
    let device = exec
        .run_plan_words(ctx, resident, &state, &plan)
        .expect("device run");
    assert_eq!(
        device,
        twin::run_plan(&state, &plan),
        "valid plan: device vs twin"
    );
    for k in 0..plan.txs.len() {
        assert_ne!(status(&device, k), EXEC_STATUS_UNKNOWN_KIND, "valid tx {k}");
    }
    // Txs that paid their fee in the valid run, by segment mode and kind.
    let mode_of = |k: u32| {
        plan.segments
            .iter()
            .find(|s| (s.first..s.first + s.count).any(|at| plan.order[at as usize] == k))
            .expect("every ready tx is in a segment")
            .mode
    };
    let pick = |kind: u32, mode: u32| {
        (0..plan.txs.len() as u32).find(|&k| {
            plan.txs[k as usize].kind == kind
                && mode_of(k) == mode
                && u8::try_from(status(&device, k as usize))
                    .ok()
                    .and_then(Status::from_code)
                    .is_some_and(Status::fee_charged)
        })
    };
    let targets: Vec<usize> = [
        pick(TX_KIND_TRANSFER, SEGMENT_PARALLEL),
        pick(TX_KIND_SWAP, SEGMENT_PARALLEL),
        pick(TX_KIND_SWAP, SEGMENT_SERIAL),
    ]
    .into_iter()
    .map(|k| k.expect("the hot-pool block has each kind in each segment mode") as usize)
    .collect();
    for bad_kind in [0, 6, u32::MAX] {
        let mut bad = plan.clone();
        for &k in &targets {
            bad.txs[k].kind = bad_kind;
        }
        let device = exec
            .run_plan_words(ctx, resident, &state, &bad)
            .expect("device run");
        assert_eq!(
            device,
            twin::run_plan(&state, &bad),
            "kind {bad_kind}: device vs twin"
        );
        for k in 0..bad.txs.len() {
            assert_eq!(
                status(&device, k) == EXEC_STATUS_UNKNOWN_KIND,
                targets.contains(&k),
                "kind {bad_kind}, tx {k}"
            );
        }
        let err = bad
            .results(&resolved, &device)
            .expect_err("an unknown kind is an error");
        assert_eq!(
            err.gpu_kind(),
            Some(txwave::GpuErrorKind::Internal),
            "{err}"
        );
    }
}
