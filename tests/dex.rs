//! Liquidity and routes (docs/SPEC.md): Uniswap v2's own test numbers, the boundaries of
//! every new check, the LP genesis rules, snapshots with LP pools, and the decoding rules
//! of routes. Every block runs through the engine at 1, 2 and 8 CPU threads and through
//! the sequential reference, which must agree receipt for receipt and root for root.

mod common;

use txwave::internal::exec::reference;
use txwave::internal::state::{AccountJson, GenesisJson, PoolJson};
use txwave::internal::tx::{
    Action, AddLiquidity, KIND_ROUTE, MAX_HOPS, RemoveLiquidity, Route, RouteMode, Swap, Transfer,
    Tx, public_key_of,
};
use txwave::{Amounts, Block, BlockOutcome, Error, State, Status, VerifyRule};

/// 10^18, the unit of Uniswap's tests.
const E: u64 = 1_000_000_000_000_000_000;
/// Tokens of the test chains: 0 pays fees, 1 and 2 are traded, 3 and 4 are LP tokens.
const TOKENS: u32 = 5;
const FEE_COLLECTOR: u8 = 200;

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

fn pk(n: u8) -> [u8; 32] {
    public_key_of(&seed(n))
}

fn account(n: u8, balances: [u64; TOKENS as usize]) -> AccountJson {
    AccountJson {
        pubkey: hex::encode(pk(n)),
        nonce: 0,
        balances: balances.to_vec(),
    }
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

fn genesis(accounts: Vec<AccountJson>, pools: Vec<PoolJson>) -> GenesisJson {
    GenesisJson {
        verify_rule: VerifyRule::Strict,
        tokens: TOKENS,
        accounts,
        pools,
    }
}

fn state_of(g: &GenesisJson) -> State {
    State::from_genesis(g).expect("valid genesis")
}

/// Tx `nonce` of account `n`, fee 1.
fn tx(n: u8, nonce: u64, action: Action) -> Tx {
    Tx::signed(&seed(n), nonce, 1, action)
}

fn add(pool: u32, a: u64, b: u64, a_min: u64, b_min: u64) -> Action {
    Action::AddLiquidity(AddLiquidity {
        pool,
        amount_a_desired: a,
        amount_b_desired: b,
        amount_a_min: a_min,
        amount_b_min: b_min,
    })
}

fn remove(pool: u32, liquidity: u64, a_min: u64, b_min: u64) -> Action {
    Action::RemoveLiquidity(RemoveLiquidity {
        pool,
        liquidity,
        amount_a_min: a_min,
        amount_b_min: b_min,
    })
}

fn route(mode: RouteMode, token_in: u16, amount: u64, limit: u64, pools: &[u32]) -> Action {
    Action::Route(Route::new(mode, token_in, amount, limit, pools).expect("1 to 4 pools"))
}

fn block_of(state: &State, txs: &[Vec<u8>]) -> Block {
    let mut b = Block::new(
        state.height() + 1,
        state.last_block_hash(),
        pk(FEE_COLLECTOR),
        [0; 32],
    );
    for t in txs {
        b.push_tx_bytes(t).expect("tx fits");
    }
    b
}

/// Applies raw txs as one block on the engine at 1, 2 and 8 threads and on the
/// reference; all must agree on receipts, roots and the state. Returns the outcome.
fn apply_raw(state: &mut State, txs: &[Vec<u8>]) -> BlockOutcome {
    let block = block_of(state, txs);
    let mut want_state = state.clone();
    let want = reference::execute_block(&mut want_state, &block).expect("reference");
    let mut outcome = None;
    for threads in [1, 2, 8] {
        let mut s = state.clone();
        let got = common::threaded_cpu_engine(threads)
            .process_block(&mut s, &block)
            .expect("engine");
        assert_eq!(got.receipts, want.receipts, "{threads} threads: receipts");
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
            "{threads} threads: roots"
        );
        assert!(s == want_state, "{threads} threads: state differs");
        outcome = Some(got);
    }
    *state = want_state;
    outcome.expect("three runs")
}

fn apply(state: &mut State, txs: &[Tx]) -> BlockOutcome {
    let raw: Vec<Vec<u8>> = txs.iter().map(Tx::encode).collect();
    apply_raw(state, &raw)
}

fn liquidity(a: u64, b: u64, l: u64) -> Amounts {
    Amounts::Liquidity {
        amount_a: a,
        amount_b: b,
        liquidity: l,
    }
}

fn routed(amount_in: u64, amount_out: u64) -> Amounts {
    Amounts::Route {
        amount_in,
        amount_out,
    }
}

fn statuses(o: &BlockOutcome) -> Vec<(Status, Amounts)> {
    o.receipts.iter().map(|r| (r.status, r.amounts)).collect()
}

#[test]
fn first_mint_of_uniswap_v2_pair_spec() {
    // v2-core test/UniswapV2Pair.spec.ts, "mint": 1E of token0 and 4E of token1 into a
    // pair with no shares give 2E − MINIMUM_LIQUIDITY shares to the minter. txwave's
    // reserves are at least 1, so the pool starts at 1 and 4 with no shares: the ratio
    // is the same and the shares are isqrt(1E · 4E) − 1000.
    let g = genesis(
        vec![account(1, [10, E, 4 * E, 0, 0])],
        vec![pool(1, 2, 30, 1, 4, Some((3, 0)))],
    );
    let mut s = state_of(&g);
    let o = apply(&mut s, &[tx(1, 0, add(0, E, 4 * E, 0, 0))]);
    assert_eq!(
        statuses(&o),
        [(Status::Ok, liquidity(E, 4 * E, 2 * E - 1000))]
    );
    let p = s.pools()[0];
    assert_eq!(
        (p.reserve_a, p.reserve_b, p.lp_supply),
        (E + 1, 4 * E + 4, 2 * E)
    );
    assert_eq!(s.balance(0, 3), 2 * E - 1000);
    assert_eq!((s.balance(0, 1), s.balance(0, 2)), (0, 0));
}

#[test]
fn burn_of_uniswap_v2_pair_spec() {
    // v2-core test/UniswapV2Pair.spec.ts, "burn": after minting with 3E of each token,
    // burning every share the minter holds pays back 3E − 1000 of each.
    let g = genesis(
        vec![account(1, [10, 3 * E, 3 * E, 0, 0])],
        vec![pool(1, 2, 30, 1, 1, Some((3, 0)))],
    );
    let mut s = state_of(&g);
    let o = apply(&mut s, &[tx(1, 0, add(0, 3 * E, 3 * E, 0, 0))]);
    assert_eq!(
        statuses(&o),
        [(Status::Ok, liquidity(3 * E, 3 * E, 3 * E - 1000))]
    );
    let o = apply(&mut s, &[tx(1, 1, remove(0, 3 * E - 1000, 0, 0))]);
    assert_eq!(
        statuses(&o),
        [(
            Status::Ok,
            liquidity(3 * E - 1000, 3 * E - 1000, 3 * E - 1000)
        )]
    );
    let p = s.pools()[0];
    assert_eq!((p.reserve_a, p.reserve_b, p.lp_supply), (1001, 1001, 1000));
    assert_eq!(
        (s.balance(0, 1), s.balance(0, 2), s.balance(0, 3)),
        (3 * E - 1000, 3 * E - 1000, 0)
    );
}

#[test]
fn router_numbers_of_uniswap_v2_periphery() {
    // v2-periphery test/UniswapV2Router{01,02}.spec.ts: with 5E of token0 and 10E of
    // token1 in the pair, swapExactTokensForTokens of 1E gives 1662497915624478906, and
    // swapTokensForExactTokens of 1E out costs 557227237267357629 (fee 0.3 % = 30 bps).
    let g = genesis(
        vec![
            account(1, [10, 2 * E, 0, 0, 0]),
            account(2, [10, 2 * E, 0, 0, 0]),
        ],
        vec![pool(1, 2, 30, 5 * E, 10 * E, None)],
    );
    let exact_in = 1_662_497_915_624_478_906;
    let exact_out_cost = 557_227_237_267_357_629;
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[tx(1, 0, route(RouteMode::ExactIn, 1, E, exact_in, &[0]))],
    );
    assert_eq!(statuses(&o), [(Status::Ok, routed(E, exact_in))]);
    assert_eq!((s.balance(0, 1), s.balance(0, 2)), (E, exact_in));

    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[tx(
            2,
            0,
            route(RouteMode::ExactOut, 1, E, exact_out_cost, &[0]),
        )],
    );
    assert_eq!(statuses(&o), [(Status::Ok, routed(exact_out_cost, E))]);
    assert_eq!(
        (s.balance(1, 1), s.balance(1, 2)),
        (2 * E - exact_out_cost, E)
    );

    // The limits are inclusive: one unit tighter is slippage, and the fee stays paid.
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[
            tx(1, 0, route(RouteMode::ExactIn, 1, E, exact_in + 1, &[0])),
            tx(
                2,
                0,
                route(RouteMode::ExactOut, 1, E, exact_out_cost - 1, &[0]),
            ),
        ],
    );
    assert_eq!(
        statuses(&o),
        [
            (Status::SlippageExceeded, routed(0, 0)),
            (Status::SlippageExceeded, routed(0, 0))
        ]
    );
    assert_eq!(s.balance(0, 0), 9);
}

#[test]
fn a_route_equals_its_hops_as_swaps() {
    // Three pools 1→2, 2→1 (another pool), 1→2: a route through them gives what three
    // swaps in a row give, and a route may end in the token it started with.
    let pools = vec![
        pool(1, 2, 30, 7 * E, 3 * E, None),
        pool(2, 1, 5, 2 * E, 5 * E, None),
        pool(1, 2, 100, E, E, None),
    ];
    let g = genesis(
        vec![account(1, [10, E, 0, 0, 0]), account(2, [10, E, 0, 0, 0])],
        pools,
    );
    let amount = E / 3;
    let mut by_route = state_of(&g);
    let o = apply(
        &mut by_route,
        &[tx(1, 0, route(RouteMode::ExactIn, 1, amount, 0, &[0, 1]))],
    );
    let (status, amounts) = statuses(&o)[0];
    assert_eq!(status, Status::Ok);
    let mut by_swaps = state_of(&g);
    let swap = |pool, direction, amount_in| {
        Action::Swap(Swap {
            pool,
            direction,
            amount_in,
            min_out: 0,
        })
    };
    let first = apply(
        &mut by_swaps,
        &[tx(
            1,
            0,
            swap(0, txwave::internal::tx::Direction::AtoB, amount),
        )],
    );
    let mid = first.receipts[0].amount_out();
    let second = apply(
        &mut by_swaps,
        &[tx(
            1,
            1,
            swap(1, txwave::internal::tx::Direction::AtoB, mid),
        )],
    );
    let out = second.receipts[0].amount_out();
    assert_eq!(amounts, routed(amount, out));
    assert_eq!(by_route.pools()[..2], by_swaps.pools()[..2]);
    assert_eq!(by_route.balance(0, 1), E - amount + out);

    // Exact out through all three pools: x_0 is what the first hop needs for what the
    // second needs for what the third must give.
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[tx(
            2,
            0,
            route(RouteMode::ExactOut, 1, E / 100, u64::MAX, &[0, 1, 2]),
        )],
    );
    let (status, amounts) = statuses(&o)[0];
    assert_eq!(status, Status::Ok);
    let Amounts::Route {
        amount_in,
        amount_out,
    } = amounts
    else {
        panic!("route amounts: {amounts:?}")
    };
    assert_eq!(amount_out, E / 100);
    let need = |y: u64, r_in: u64, r_out: u64, fee: u64| -> u64 {
        (u128::from(r_in) * u128::from(y) * 10_000
            / (u128::from(r_out - y) * u128::from(10_000 - fee))
            + 1) as u64
    };
    let x2 = need(E / 100, E, E, 100);
    let x1 = need(x2, 2 * E, 5 * E, 5);
    let x0 = need(x1, 7 * E, 3 * E, 30);
    assert_eq!(amount_in, x0);
    // Token 1 → 2 → 1 → 2: the signer pays token 1 and receives token 2.
    assert_eq!((s.balance(1, 1), s.balance(1, 2)), (E - x0, E / 100));
}

#[test]
fn route_boundaries() {
    let big = 1u64 << 62;
    let g = genesis(
        vec![account(1, [100, 1 << 40, 1 << 40, 0, 0])],
        vec![
            pool(1, 2, 30, 1000, 1000, None),
            pool(1, 2, 0, 8, big, None),
            pool(2, 0, 30, 1000, 1000, None),
        ],
    );
    let mut s = state_of(&g);
    let need_999 = (1000u128 * 999 * 10_000 / 9970 + 1) as u64;
    let o = apply(
        &mut s,
        &[
            // Exact out of a whole reserve, and of one unit less.
            tx(1, 0, route(RouteMode::ExactOut, 1, 1000, u64::MAX, &[0])),
            tx(1, 1, route(RouteMode::ExactOut, 1, 999, u64::MAX, &[0])),
            // An input of 2^64 or more is never covered: 8 · (2^62 − 1) + 1 > 2^64.
            tx(1, 2, route(RouteMode::ExactOut, 1, big - 1, u64::MAX, &[1])),
            // Exact in of 2^64 − 1: no balance covers it.
            tx(1, 3, route(RouteMode::ExactIn, 1, u64::MAX, 0, &[1])),
            // token_in in no pool, token_in ≥ tokens, pools that do not chain.
            tx(1, 4, route(RouteMode::ExactIn, 3, 5, 0, &[0])),
            tx(1, 5, route(RouteMode::ExactIn, 900, 5, 0, &[0])),
            tx(1, 6, route(RouteMode::ExactIn, 2, 5, 0, &[0, 2])),
            // An unknown pool anywhere in the route is checked before the chain.
            tx(1, 7, route(RouteMode::ExactIn, 3, 5, 0, &[0, 9])),
            // Exact in through the pool whose output token is the fee token.
            tx(1, 8, route(RouteMode::ExactIn, 1, 10, 0, &[0, 2])),
        ],
    );
    let got = statuses(&o);
    assert_eq!(got[0], (Status::InsufficientLiquidity, routed(0, 0)));
    assert_eq!(got[1], (Status::Ok, routed(need_999, 999)));
    assert_eq!(got[2], (Status::InsufficientBalance, routed(0, 0)));
    assert_eq!(got[3], (Status::InsufficientBalance, routed(0, 0)));
    assert_eq!(got[4], (Status::BadRoute, routed(0, 0)));
    assert_eq!(got[5], (Status::BadRoute, routed(0, 0)));
    assert_eq!(got[6], (Status::BadRoute, routed(0, 0)));
    assert_eq!(got[7], (Status::UnknownPool, routed(0, 0)));
    assert_eq!(got[8].0, Status::Ok);
    assert_eq!(s.pools()[0].reserve_b, 1, "the 999 left one unit");
}

#[test]
fn mint_and_burn_boundaries() {
    // Pool 0: no shares yet. Pool 1: shares at genesis, held 2162 by account 2 (3162²
    // ≤ 10^6 · 10). Pool 2: no LP token.
    let g = genesis(
        vec![
            account(1, [100, 1 << 40, 1 << 40, 0, 0]),
            account(2, [100, 0, 0, 0, 2162]),
        ],
        vec![
            pool(1, 2, 30, 1, 1, Some((3, 0))),
            pool(1, 2, 30, 1_000_000, 10, Some((4, 3162))),
            pool(1, 2, 30, 5, 5, None),
        ],
    );
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[
            // isqrt(A·B) = 1000 mints nothing; 1001 mints 1 share.
            tx(1, 0, add(0, 1000, 1000, 0, 0)),
            tx(1, 1, add(0, 1001, 1001, 0, 0)),
            // Burns rounding to 0 on one side, and of 0 shares.
            tx(2, 0, remove(1, 1, 0, 0)),
            tx(2, 1, remove(1, 0, 0, 0)),
            // More shares than held.
            tx(2, 2, remove(1, 2163, 0, 0)),
            // Pools without an LP token, and pools that do not exist.
            tx(1, 2, add(2, 5, 5, 0, 0)),
            tx(1, 3, remove(2, 1, 0, 0)),
            tx(1, 4, add(7, 5, 5, 0, 0)),
            // Burns enough shares to get one unit of B: ⌊l · 10 / 3162⌋ ≥ 1 needs l ≥ 317.
            tx(2, 3, remove(1, 317, 0, 0)),
            tx(2, 4, remove(1, 316, 0, 0)),
        ],
    );
    let got = statuses(&o);
    let none = liquidity(0, 0, 0);
    assert_eq!(got[0], (Status::InsufficientLiquidity, none));
    assert_eq!(got[1], (Status::Ok, liquidity(1001, 1001, 1)));
    assert_eq!(got[2], (Status::InsufficientLiquidity, none));
    assert_eq!(got[3], (Status::InsufficientLiquidity, none));
    assert_eq!(got[4], (Status::InsufficientBalance, none));
    assert_eq!(got[5], (Status::NoLpToken, none));
    assert_eq!(got[6], (Status::NoLpToken, none));
    assert_eq!(got[7], (Status::UnknownPool, none));
    assert_eq!(
        got[8],
        (Status::Ok, liquidity(317 * 1_000_000 / 3162, 1, 317))
    );
    assert_eq!(got[9], (Status::InsufficientLiquidity, none));
    assert_eq!(s.pools()[0].lp_supply, 1001);
    assert_eq!(s.pools()[1].lp_supply, 3162 - 317);
    assert_eq!(s.balance(1, 4), 2162 - 317);
}

#[test]
fn add_liquidity_follows_the_router_ratio_and_checks_only_the_adjusted_side() {
    // Pool 2:1 with shares; the router keeps the ratio: the side over it is cut down and
    // only that side's minimum is checked.
    let g = genesis(
        vec![account(1, [100, 1 << 40, 1 << 40, 1828, 0])],
        vec![pool(1, 2, 30, 4000, 2000, Some((3, 2828)))],
    );
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[
            // b_opt = 500 ≤ 900: (1000, 500); b_min 500 holds, a_min is not checked.
            tx(1, 0, add(0, 1000, 900, u64::MAX, 500)),
            // b_opt = quote(1000) on the new reserves (5000, 2500) = 500 > 400: a_opt =
            // 800 < a_min 801.
            tx(1, 1, add(0, 1000, 400, 801, 0)),
            // Desired amounts of 0 go through the table.
            tx(1, 2, add(0, 0, 0, 0, 0)),
            // Far more than held.
            tx(1, 3, add(0, 1 << 41, 1 << 41, 0, 0)),
        ],
    );
    let got = statuses(&o);
    // min(⌊1000 · 2828 / 4000⌋, ⌊500 · 2828 / 2000⌋): both 707.
    let minted = 707;
    assert_eq!(got[0], (Status::Ok, liquidity(1000, 500, minted)));
    assert_eq!(got[1], (Status::SlippageExceeded, liquidity(0, 0, 0)));
    assert_eq!(got[2], (Status::InsufficientLiquidity, liquidity(0, 0, 0)));
    assert_eq!(got[3], (Status::InsufficientBalance, liquidity(0, 0, 0)));
    assert_eq!(s.balance(0, 3), 1828 + minted);
}

#[test]
fn lp_shares_are_ordinary_balances() {
    // Token 3 is pool 0's LP token, held by account 1 and traded by pool 1 against token 1.
    let g = genesis(
        vec![account(1, [100, 1000, 0, 3000, 0])],
        vec![
            pool(1, 2, 30, 10_000, 10_000, Some((3, 5000))),
            pool(3, 1, 30, 1000, 1000, None),
        ],
    );
    let mut s = state_of(&g);
    let o = apply(
        &mut s,
        &[
            tx(
                1,
                0,
                Action::Transfer(Transfer {
                    to: pk(9),
                    token: 3,
                    amount: 100,
                }),
            ),
            tx(1, 1, route(RouteMode::ExactIn, 3, 100, 1, &[1])),
            tx(1, 2, remove(0, 2800, 0, 0)),
        ],
    );
    assert!(o.receipts.iter().all(|r| r.status == Status::Ok), "{o:?}");
    assert_eq!(
        s.balance(1, 3),
        100,
        "the transfer's recipient holds shares"
    );
    assert_eq!(s.pools()[0].lp_supply, 5000 - 2800);
    // The genesis rule holds after the block: units of token 3 + 1000 = supply.
    let units: u64 =
        (0..s.account_count()).map(|a| s.balance(a, 3)).sum::<u64>() + s.pools()[1].reserve_a;
    assert_eq!(units + 1000, s.pools()[0].lp_supply);
    let back = State::from_snapshot(&s.to_snapshot()).expect("snapshot");
    assert!(back == s);
}

#[test]
fn every_route_decoding_rule_makes_the_tx_malformed() {
    let g = genesis(
        vec![account(1, [100, 1000, 1000, 0, 0])],
        vec![pool(1, 2, 30, 1000, 1000, None)],
    );
    let good = tx(1, 0, route(RouteMode::ExactIn, 1, 10, 0, &[0])).encode();
    assert_eq!(good.len(), 137);
    assert_eq!(good[64], KIND_ROUTE);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut with = |what, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        cases.push((what, b));
    };
    with("mode 2", &|b| b[113] = 2);
    with("mode 255", &|b| b[113] = 255);
    with("amount 0", &|b| b[116..124].fill(0));
    with("0 hops", &|b| {
        b[132] = 0;
        b.truncate(133);
    });
    with("5 hops", &|b| {
        b[132] = 5;
        b.truncate(133);
        for p in 0..5u32 {
            b.extend_from_slice(&p.to_le_bytes());
        }
    });
    with("a repeated pool", &|b| {
        b[132] = 2;
        b.extend_from_slice(&0u32.to_le_bytes());
    });
    with("2 hops, one pool's bytes", &|b| b[132] = 2);
    with("1 hop, two pools' bytes", &|b| {
        b.extend_from_slice(&1u32.to_le_bytes())
    });
    with("cut inside the fixed part", &|b| b.truncate(120));
    with("cut before the hop count", &|b| b.truncate(132));
    let liquidity_lens = [(3u8, 149usize), (4, 141)];
    for (kind, len) in liquidity_lens {
        for delta in [-1i64, 1] {
            let mut b = tx(1, 0, add(0, 1, 1, 0, 0)).encode();
            b[64] = kind;
            b.resize((len as i64 + delta) as usize, 0);
            cases.push(("liquidity length", b));
        }
    }
    for (what, bytes) in &cases {
        assert_eq!(Tx::decode(bytes), None, "{what}");
    }
    let mut s = state_of(&g);
    let raw: Vec<Vec<u8>> = cases.into_iter().map(|(_, b)| b).collect();
    let o = apply_raw(&mut s, &raw);
    for r in &o.receipts {
        assert_eq!((r.status, r.amounts), (Status::Malformed, Amounts::NONE));
    }
    // Malformed txs pay no fee and take no nonce.
    assert_eq!(s.nonces()[0], 0);

    // Every well-formed route round-trips, up to four distinct pools.
    for hops in 1..=MAX_HOPS {
        let pools: Vec<u32> = (0..hops as u32).map(|p| p * 7 + 1).collect();
        let t = tx(1, 3, route(RouteMode::ExactOut, 65535, u64::MAX, 5, &pools));
        let bytes = t.encode();
        assert_eq!(bytes.len(), 133 + 4 * hops);
        assert_eq!(Tx::decode(&bytes), Some(t));
    }
}

#[test]
fn a_rejected_tx_keeps_its_kinds_receipt_shape() {
    let g = genesis(
        vec![account(1, [0, 1000, 1000, 0, 0])],
        vec![pool(1, 2, 30, 1000, 1000, Some((3, 1000)))],
    );
    let mut s = state_of(&g);
    let mut bad_sig = tx(1, 0, route(RouteMode::ExactIn, 1, 10, 0, &[0])).encode();
    bad_sig[3] ^= 1;
    let o = apply_raw(
        &mut s,
        &[
            bad_sig,
            // Unknown signer, bad nonce, no fee token.
            tx(9, 0, add(0, 1, 1, 0, 0)).encode(),
            tx(1, 5, remove(0, 1, 0, 0)).encode(),
            tx(1, 0, route(RouteMode::ExactOut, 1, 10, 99, &[0])).encode(),
        ],
    );
    assert_eq!(
        statuses(&o),
        [
            (Status::BadSignature, routed(0, 0)),
            (Status::UnknownSigner, liquidity(0, 0, 0)),
            (Status::BadNonce, liquidity(0, 0, 0)),
            (Status::InsufficientFee, routed(0, 0)),
        ]
    );
}

/// The genesis error for `g`, which must be refused.
fn genesis_error(g: &GenesisJson) -> String {
    match State::from_genesis(g) {
        Err(Error::Genesis(what)) => what,
        other => panic!("expected a genesis error, got {other:?}"),
    }
}

#[test]
fn every_lp_genesis_rule_is_checked_and_named() {
    let ok_pool = || pool(1, 2, 30, 4000, 1000, Some((3, 2000)));
    let holder = |lp: u64| account(1, [0, 0, 0, lp, 0]);
    assert!(State::from_genesis(&genesis(vec![holder(1000)], vec![ok_pool()])).is_ok());
    let cases: Vec<(Vec<AccountJson>, Vec<PoolJson>, &str)> = vec![
        (
            vec![],
            vec![PoolJson {
                lp_token: None,
                ..pool(1, 2, 30, 10, 10, Some((3, 0)))
            }],
            "pool 0: lp_supply (0) without lp_token",
        ),
        (
            vec![],
            vec![pool(1, 2, 30, 10, 10, Some((0, 0)))],
            "pool 0: lp_token = 0 must be between 1 and tokens - 1 = 4",
        ),
        (
            vec![],
            vec![pool(1, 2, 30, 10, 10, Some((5, 0)))],
            "pool 0: lp_token = 5 must be between 1 and tokens - 1 = 4",
        ),
        (
            vec![],
            vec![pool(1, 2, 30, 10, 10, Some((2, 0)))],
            "pool 0: lp_token = 2 is one of the pool's own tokens (1, 2)",
        ),
        (
            vec![holder(0)],
            vec![pool(1, 2, 30, 4000, 1000, Some((3, 999)))],
            "pool 0: lp_supply = 999 must be 0 or at least 1000",
        ),
        (
            vec![holder(1001)],
            vec![pool(1, 2, 30, 4000, 1000, Some((3, 2001)))],
            "pool 0: lp_supply² = 2001² exceeds reserve_a × reserve_b = 4000 × 1000",
        ),
        (
            vec![holder(999)],
            vec![ok_pool()],
            "pool 0: lp_supply = 2000 but the genesis holds 1999 units of its LP token 3",
        ),
        (
            vec![holder(1000)],
            vec![ok_pool(), pool(1, 4, 30, 10, 10, Some((3, 0)))],
            "pool 1: lp_token = 3 is also the LP token of pool 0",
        ),
        (
            vec![holder(500)],
            vec![pool(1, 2, 30, 4000, 1000, Some((3, 0)))],
            "pool 0: lp_supply = 0 but the genesis holds 500 units of its LP token 3",
        ),
        (
            // A pool trading the LP token counts its reserve as units of it.
            vec![holder(1000)],
            vec![ok_pool(), pool(3, 4, 30, 7, 7, None)],
            "pool 0: lp_supply = 2000 but the genesis holds 2007 units of its LP token 3",
        ),
    ];
    for (accounts, pools, want) in cases {
        let got = genesis_error(&genesis(accounts, pools));
        assert!(got.starts_with(want), "got {got:?}, want {want:?}");
    }
    // The JSON form: lp_supply alone is refused by name.
    let json = r#"{"verify_rule": "strict", "tokens": 4, "accounts": [],
        "pools": [{"token_a": 1, "token_b": 2, "fee_bps": 30, "reserve_a": 9, "reserve_b": 9, "lp_supply": 0}]}"#;
    let err = State::from_genesis_json(json).expect_err("lp_supply without lp_token");
    assert!(
        err.to_string().contains("lp_supply (0) without lp_token"),
        "{err}"
    );
}

#[test]
fn snapshots_keep_lp_pools_and_read_version_1() {
    let g = genesis(
        vec![account(1, [5, 6, 7, 1000, 0])],
        vec![
            pool(1, 2, 30, 4000, 1000, Some((3, 2000))),
            pool(2, 1, 5, 9, 11, None),
        ],
    );
    let s = state_of(&g);
    let bytes = s.to_snapshot();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let back = State::from_snapshot(&bytes).expect("v2");
    assert!(back == s);
    assert_eq!(back.state_root(), s.state_root());
    assert_eq!(back.pools()[0].lp_token, Some(3));

    // A version-1 snapshot (pools of 22 bytes, no LP fields) of a chain without LP pools.
    let plain = state_of(&genesis(
        vec![account(1, [5, 6, 7, 0, 0])],
        vec![pool(1, 2, 30, 4000, 1000, None), pool(2, 1, 5, 9, 11, None)],
    ));
    let v2 = plain.to_snapshot();
    let body = &v2[..v2.len() - 32];
    let pools_at = body.len() - 2 * 32;
    let mut v1 = body[..pools_at].to_vec();
    v1[8..12].copy_from_slice(&1u32.to_le_bytes());
    for p in body[pools_at..].chunks(32) {
        v1.extend_from_slice(&p[..22]);
    }
    let checksum = blake3::hash(&v1);
    v1.extend_from_slice(checksum.as_bytes());
    let old = State::from_snapshot(&v1).expect("v1 loads");
    assert!(old == plain);
    assert_eq!(old.state_root(), plain.state_root());

    // A snapshot is input: its LP pools meet the genesis rules.
    let mut broken = s.clone().to_snapshot();
    let lp_supply_at = broken.len() - 32 - 32 - 8;
    broken[lp_supply_at..lp_supply_at + 8].copy_from_slice(&1999u64.to_le_bytes());
    let body_end = broken.len() - 32;
    let checksum = blake3::hash(&broken[..body_end]);
    broken[body_end..].copy_from_slice(checksum.as_bytes());
    let err = State::from_snapshot(&broken).expect_err("supply broken");
    assert!(err.to_string().contains("lp_supply = 1999 but"), "{err}");
}

#[test]
fn pool_leaves_are_0x02_without_and_0x04_with_an_lp_token() {
    let s = state_of(&genesis(
        vec![account(1, [0, 0, 0, 1000, 0])],
        vec![
            pool(1, 2, 30, 4000, 1000, Some((3, 2000))),
            pool(2, 1, 5, 9, 11, None),
        ],
    ));
    let mut lp = vec![0x04];
    lp.extend_from_slice(&1u16.to_le_bytes());
    lp.extend_from_slice(&2u16.to_le_bytes());
    lp.extend_from_slice(&30u16.to_le_bytes());
    lp.extend_from_slice(&4000u64.to_le_bytes());
    lp.extend_from_slice(&1000u64.to_le_bytes());
    lp.extend_from_slice(&3u16.to_le_bytes());
    lp.extend_from_slice(&2000u64.to_le_bytes());
    assert_eq!(s.pools()[0].leaf(), *blake3::hash(&lp).as_bytes());
    let mut plain = vec![0x02];
    plain.extend_from_slice(&2u16.to_le_bytes());
    plain.extend_from_slice(&1u16.to_le_bytes());
    plain.extend_from_slice(&5u16.to_le_bytes());
    plain.extend_from_slice(&9u64.to_le_bytes());
    plain.extend_from_slice(&11u64.to_le_bytes());
    assert_eq!(s.pools()[1].leaf(), *blake3::hash(&plain).as_bytes());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Route bytes from raw field values, whatever they are.
    fn raw_route(mode: u8, amount: u64, hops: u8, pools: &[u32]) -> Vec<u8> {
        let mut b = tx(1, 0, route(RouteMode::ExactIn, 1, 1, 0, &[0])).encode();
        b.truncate(133);
        b[113] = mode;
        b[116..124].copy_from_slice(&amount.to_le_bytes());
        b[132] = hops;
        for p in pools {
            b.extend_from_slice(&p.to_le_bytes());
        }
        b
    }

    proptest! {
        #[test]
        fn a_route_decodes_exactly_when_the_rules_hold(
            mode in prop_oneof![0u8..2, 2u8..],
            amount in prop_oneof![Just(0u64), Just(1), Just(u64::MAX), any::<u64>()],
            hops in 0u8..7,
            listed in 0usize..7,
            pools in proptest::collection::vec(0u32..6, 6),
        ) {
            let listed = &pools[..listed];
            let bytes = raw_route(mode, amount, hops, listed);
            let distinct = listed
                .iter()
                .enumerate()
                .all(|(i, p)| !listed[..i].contains(p));
            let valid = mode <= 1
                && amount >= 1
                && (1..=MAX_HOPS).contains(&(hops as usize))
                && listed.len() == hops as usize
                && distinct;
            let decoded = Tx::decode(&bytes);
            prop_assert_eq!(decoded.is_some(), valid);
            if let Some(t) = decoded {
                let Action::Route(r) = t.action else { panic!("a route") };
                prop_assert_eq!(r.pools(), listed);
                prop_assert_eq!(r.amount, amount);
                prop_assert_eq!(t.encode(), bytes);
            }
        }

        /// Blocks of liquidity txs and routes with adversarial amounts, some bytes
        /// flipped: the engine at 1, 2 and 8 threads equals the reference, and nothing
        /// panics.
        #[test]
        fn mutated_dex_blocks_agree_with_the_reference(
            txs in proptest::collection::vec(
                (0u8..4, any::<[u64; 4]>(), 0u32..4, proptest::collection::vec(0u32..4, 1..5), any::<(u16, u8)>()),
                1..24,
            ),
        ) {
            // Every tx has its own signer, so a tx that fails to decode leaves no later
            // nonce wrong; each holds 400 shares of pool 0.
            let g = genesis(
                (1..=24).map(|n| account(n, [1 << 20, 1 << 50, 1 << 50, 400, 0])).collect(),
                vec![
                    pool(1, 2, 30, 1 << 40, 1 << 41, Some((3, 24 * 400 + 1000))),
                    pool(1, 2, 0, 1, 1, Some((4, 0))),
                    pool(2, 1, 9999, 1000, 1 << 30, None),
                    pool(0, 1, 5, 1 << 30, 1 << 30, None),
                ],
            );
            let mut state = state_of(&g);
            let mut raw = Vec::new();
            for (k, (kind, amounts, p, pools, (at, flip))) in txs.into_iter().enumerate() {
                let signer = k as u8 + 1;
                let pick = |i: usize| match amounts[i] % 5 {
                    0 => 0,
                    1 => u64::MAX,
                    2 => amounts[i] >> 40,
                    3 => amounts[i] >> 20,
                    _ => amounts[i],
                };
                let mut distinct = pools.clone();
                distinct.dedup();
                let action = match kind {
                    0 => add(p, pick(0), pick(1), pick(2) >> 8, pick(3) >> 8),
                    1 => remove(p, pick(0) >> 55, pick(1) >> 60, pick(2) >> 60),
                    2 => route(RouteMode::ExactIn, (pick(3) % 4) as u16, pick(0).max(1), pick(1) >> 50, &distinct),
                    _ => route(RouteMode::ExactOut, (pick(3) % 4) as u16, pick(0).max(1) >> 30, pick(1), &distinct),
                };
                let mut bytes = tx(signer, 0, action).encode();
                // One tx in five has a byte of its kind's fields changed and is signed
                // again: its fields change, or it no longer decodes (mode, hop count,
                // repeated pool, amount 0). One in ten keeps a stale signature.
                if flip % 5 == 0 {
                    let i = 113 + at as usize % (bytes.len() - 113);
                    bytes[i] ^= flip | 1;
                    if flip % 10 != 0 {
                        let key = ed25519_dalek::SigningKey::from_bytes(&seed(signer));
                        let sig = ed25519_dalek::Signer::sign(&key, &bytes[64..]);
                        bytes[..64].copy_from_slice(&sig.to_bytes());
                    }
                }
                raw.push(bytes);
            }
            apply_raw(&mut state, &raw);
        }
    }
}
