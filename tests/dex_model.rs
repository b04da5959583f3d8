//! The second implementation of the design in `tests/model` against the crate: seeded
//! random chains of blocks, encoded as raw block-log bytes and signed with ed25519-dalek,
//! mixing every kind with adversarial amounts, keys, nonces and lengths; every receipt
//! field, every root, the block hash, the wave count and the whole state must agree after
//! every block. The model's own arithmetic is checked on Uniswap v2's published numbers.
//!
//! `TXWAVE_MODEL_CASES` sets the size of the random tests: the number of chains per CPU test
//! (default 16; a sixteenth of it, rounded up, on the GPU) and the number of rounds of the
//! decoding, genesis and arithmetic tests.

mod model;

use num_bigint::BigUint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use model::{Action, Amounts, Ledger, Status as MStatus, big};
use txwave::{Backend, Block, Engine, EngineConfig, State};

const E: u64 = 1_000_000_000_000_000_000;

fn cases() -> usize {
    std::env::var("TXWAVE_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

fn cpu_engine() -> Engine {
    Engine::new(EngineConfig {
        backend: Backend::Cpu,
        ..Default::default()
    })
    .expect("CPU engine")
}

// ---------------------------------------------------------------- the model on its own

/// A ledger of one account (seed [7; 32]) and the given pools, from JSON the model parses.
fn one_account_ledger(tokens: usize, balances: &[u64], pools: &str) -> (Ledger, [u8; 32]) {
    let seed = [7u8; 32];
    let json = format!(
        r#"{{"verify_rule": "strict", "tokens": {tokens},
            "accounts": [{{"pubkey": "{}", "nonce": 0, "balances": {balances:?}}}],
            "pools": [{pools}]}}"#,
        hex::encode(model::public_key(&seed)),
    );
    (Ledger::from_genesis_json(&json).expect("genesis"), seed)
}

/// Applies one signed tx in a block of its own; its receipt.
fn apply_one(ledger: &mut Ledger, seed: &[u8; 32], action: Action) -> model::Receipt {
    let pk = model::public_key(seed);
    let nonce = ledger.accounts[ledger.account_index(&pk).unwrap()].nonce;
    let tx = model::signed_tx(seed, nonce, 0, &action);
    let bytes = model::encode_block(
        ledger.height + 1,
        &ledger.last_block_hash,
        &[0xfc; 32],
        &[0; 32],
        &[tx],
    );
    let (r, used) = ledger.apply_block_bytes(&bytes).expect("block accepted");
    assert_eq!(used, bytes.len());
    r.receipts[0]
}

/// v2-core `test/UniswapV2Pair.spec.ts`, "mint": 1E of token0 and 4E of token1 into a pair
/// with no shares give 2E of liquidity, of which 2E − 1000 go to the minter. txwave's
/// genesis reserves are ≥ 1, so the pool starts at reserves 1 and 4 with lp_supply 0; the
/// design's step 9 quotes 4E for 1E at that 1:4 price, and step 11 takes isqrt(1E·4E) = 2E.
#[test]
fn uniswap_v2_core_mint() {
    let (mut l, seed) = one_account_ledger(
        3,
        &[E, 4 * E, 0],
        r#"{"token_a": 0, "token_b": 1, "fee_bps": 30, "reserve_a": 1, "reserve_b": 4, "lp_token": 2}"#,
    );
    let r = apply_one(
        &mut l,
        &seed,
        Action::Add {
            pool: 0,
            a_desired: E,
            b_desired: 4 * E,
            a_min: 0,
            b_min: 0,
        },
    );
    assert_eq!(r.status, MStatus::Ok);
    assert_eq!(
        r.amounts,
        Amounts::Liquidity {
            amount_a: E,
            amount_b: 4 * E,
            liquidity: 2 * E - 1000
        }
    );
    assert_eq!(l.accounts[0].balances, vec![0, 0, 2 * E - 1000]);
    let p = l.pools[0];
    assert_eq!((p.reserve_a, p.reserve_b), (E + 1, 4 * E + 4));
    assert_eq!(p.lp.unwrap().supply, 2 * E);
    // The invariant the design keeps: S² ≤ reserve_a · reserve_b.
    assert!(big(2 * E) * big(2 * E) <= big(p.reserve_a) * big(p.reserve_b));
}

/// v2-core `test/UniswapV2Pair.spec.ts`, "burn": 3E and 3E minted give 3E of liquidity;
/// burning all but MINIMUM_LIQUIDITY returns 3E − 1000 of each token and leaves 1000 of
/// each in the pair. Here the pool starts at reserves 1 and 1, so 1001 of each remain.
#[test]
fn uniswap_v2_core_burn() {
    let (mut l, seed) = one_account_ledger(
        3,
        &[3 * E, 3 * E, 0],
        r#"{"token_a": 0, "token_b": 1, "fee_bps": 30, "reserve_a": 1, "reserve_b": 1, "lp_token": 2}"#,
    );
    let add = apply_one(
        &mut l,
        &seed,
        Action::Add {
            pool: 0,
            a_desired: 3 * E,
            b_desired: 3 * E,
            a_min: 0,
            b_min: 0,
        },
    );
    assert_eq!(
        (add.status, add.amounts),
        (
            MStatus::Ok,
            Amounts::Liquidity {
                amount_a: 3 * E,
                amount_b: 3 * E,
                liquidity: 3 * E - 1000
            }
        )
    );
    let burn = apply_one(
        &mut l,
        &seed,
        Action::Remove {
            pool: 0,
            liquidity: 3 * E - 1000,
            a_min: 3 * E - 1000,
            b_min: 3 * E - 1000,
        },
    );
    assert_eq!(
        (burn.status, burn.amounts),
        (
            MStatus::Ok,
            Amounts::Liquidity {
                amount_a: 3 * E - 1000,
                amount_b: 3 * E - 1000,
                liquidity: 3 * E - 1000
            }
        )
    );
    let p = l.pools[0];
    assert_eq!(
        (p.reserve_a, p.reserve_b, p.lp.unwrap().supply),
        (1001, 1001, 1000)
    );
    assert_eq!(l.accounts[0].balances, vec![3 * E - 1000, 3 * E - 1000, 0]);
}

/// v2-periphery `test/UniswapV2Router02.spec.ts` (and `UniswapV2Router01.spec.ts`),
/// "swapExactTokensForTokens": 1E into a 5E/10E pair gives 1662497915624478906; and
/// "swapTokensForExactTokens": 1E out of a 5E/10E pair costs 557227237267357629.
#[test]
fn uniswap_v2_periphery_router_numbers() {
    let pools = r#"{"token_a": 0, "token_b": 1, "fee_bps": 30, "reserve_a": 5000000000000000000, "reserve_b": 10000000000000000000}"#;
    // The helpers.
    assert_eq!(
        model::amount_out(&big(E), 5 * E, 10 * E, 30),
        big(1_662_497_915_624_478_906)
    );
    assert_eq!(
        model::amount_in(&big(E), 5 * E, 10 * E, 30),
        Some(big(557_227_237_267_357_629))
    );
    // Exact in, as a one-hop route and as a Swap.
    for action in [
        Action::Route {
            exact_out: false,
            token_in: 0,
            amount: E,
            limit: 1_662_497_915_624_478_906,
            pools: vec![0],
        },
        Action::Swap {
            pool: 0,
            b_to_a: false,
            amount_in: E,
            min_out: 1_662_497_915_624_478_906,
        },
    ] {
        let (mut l, seed) = one_account_ledger(2, &[2 * E, 0], pools);
        let r = apply_one(&mut l, &seed, action.clone());
        assert_eq!(r.status, MStatus::Ok, "{action:?}");
        let expected = match action {
            Action::Route { .. } => Amounts::Route {
                amount_in: E,
                amount_out: 1_662_497_915_624_478_906,
            },
            _ => Amounts::Out {
                amount_out: 1_662_497_915_624_478_906,
            },
        };
        assert_eq!(r.amounts, expected);
        assert_eq!(l.accounts[0].balances, vec![E, 1_662_497_915_624_478_906]);
        assert_eq!(
            (l.pools[0].reserve_a, l.pools[0].reserve_b),
            (6 * E, 10 * E - 1_662_497_915_624_478_906)
        );
    }
    // Exact out: the limit is the most input; one below the cost is slippage.
    let (mut l, seed) = one_account_ledger(2, &[2 * E, 0], pools);
    let route = |limit| Action::Route {
        exact_out: true,
        token_in: 0,
        amount: E,
        limit,
        pools: vec![0],
    };
    let r = apply_one(&mut l, &seed, route(557_227_237_267_357_628));
    assert_eq!(r.status, MStatus::SlippageExceeded);
    let r = apply_one(&mut l, &seed, route(557_227_237_267_357_629));
    assert_eq!(
        (r.status, r.amounts),
        (
            MStatus::Ok,
            Amounts::Route {
                amount_in: 557_227_237_267_357_629,
                amount_out: E
            }
        )
    );
    assert_eq!(
        l.accounts[0].balances,
        vec![2 * E - 557_227_237_267_357_629, E]
    );
}

/// The worked swap of tests/reference.rs, and the liquidity and route edges of the design
/// worked by hand on the model.
#[test]
fn model_hand_cases() {
    // ⌊100·9970·2000000 / (1000000·10000 + 100·9970)⌋ = 199.
    assert_eq!(
        model::amount_out(&big(100), 1_000_000, 2_000_000, 30),
        big(199)
    );
    // in(y) at y = r_out − 1 and y = r_out.
    assert_eq!(
        model::amount_in(&big(9), 10, 10, 0),
        Some(big(10 * 9 * 10_000 / 10_000 + 1))
    );
    assert_eq!(model::amount_in(&big(10), 10, 10, 0), None);

    let pools = r#"{"token_a": 0, "token_b": 1, "fee_bps": 0, "reserve_a": 7, "reserve_b": 7, "lp_token": 3},
                   {"token_a": 1, "token_b": 2, "fee_bps": 0, "reserve_a": 100, "reserve_b": 100},
                   {"token_a": 2, "token_b": 0, "fee_bps": 0, "reserve_a": 100, "reserve_b": 100}"#;
    let (mut l, seed) = one_account_ledger(4, &[1_000_000, 1_000_000, 0, 0], pools);
    let add = |a, b| Action::Add {
        pool: 0,
        a_desired: a,
        b_desired: b,
        a_min: 0,
        b_min: 0,
    };
    // First mint at isqrt = 1000: nothing beyond MINIMUM_LIQUIDITY.
    let r = apply_one(&mut l, &seed, add(1000, 1000));
    assert_eq!(r.status, MStatus::InsufficientLiquidity);
    assert_eq!(r.amounts, model::zero_amounts(model::KIND_ADD));
    // A pool without an LP token.
    let r = apply_one(
        &mut l,
        &seed,
        Action::Add {
            pool: 1,
            a_desired: 5,
            b_desired: 5,
            a_min: 0,
            b_min: 0,
        },
    );
    assert_eq!(r.status, MStatus::NoLpToken);
    // isqrt = 1001: one share.
    let r = apply_one(&mut l, &seed, add(1001, 1001));
    assert_eq!(
        (r.status, r.amounts),
        (
            MStatus::Ok,
            Amounts::Liquidity {
                amount_a: 1001,
                amount_b: 1001,
                liquidity: 1
            }
        )
    );
    assert_eq!(l.pools[0].lp.unwrap().supply, 1001);
    assert_eq!((l.pools[0].reserve_a, l.pools[0].reserve_b), (1008, 1008));
    // Burning the one share: ⌊1·1008/1001⌋ = 1 of each.
    let r = apply_one(
        &mut l,
        &seed,
        Action::Remove {
            pool: 0,
            liquidity: 1,
            a_min: 0,
            b_min: 0,
        },
    );
    assert_eq!(
        (r.status, r.amounts),
        (
            MStatus::Ok,
            Amounts::Liquidity {
                amount_a: 1,
                amount_b: 1,
                liquidity: 1
            }
        )
    );
    // A second share, minted at quote 2:2 (⌊2·1000/1007⌋ = 1), then a burn of 0 rounds to 0.
    let r = apply_one(&mut l, &seed, add(2, 2));
    assert_eq!(r.status, MStatus::Ok);
    let r = apply_one(
        &mut l,
        &seed,
        Action::Remove {
            pool: 0,
            liquidity: 0,
            a_min: 0,
            b_min: 0,
        },
    );
    assert_eq!(r.status, MStatus::InsufficientLiquidity);
    // A route that ends in the token it started with: 0 → 1 → 2 → 0.
    let before = l.accounts[0].balances[0];
    let r = apply_one(
        &mut l,
        &seed,
        Action::Route {
            exact_out: false,
            token_in: 0,
            amount: 50,
            limit: 0,
            pools: vec![0, 1, 2],
        },
    );
    let Amounts::Route {
        amount_in,
        amount_out,
    } = r.amounts
    else {
        panic!("{r:?}")
    };
    assert_eq!(r.status, MStatus::Ok);
    assert_eq!(amount_in, 50);
    // 50 of 0 into 1009/1009 → ⌊50·1009/1059⌋ = 47; 47 into 100/100 → ⌊47·100/147⌋ = 31;
    // 31 into 100/100 → ⌊31·100/131⌋ = 23.
    assert_eq!(amount_out, 23);
    assert_eq!(l.accounts[0].balances[0], before - 50 + 23);
    // token_in ≥ tokens, and a token no pool of the route holds first.
    for token_in in [4u16, u16::MAX, 3] {
        let r = apply_one(
            &mut l,
            &seed,
            Action::Route {
                exact_out: false,
                token_in,
                amount: 1,
                limit: 0,
                pools: vec![0],
            },
        );
        assert_eq!(r.status, MStatus::BadRoute, "{token_in}");
    }
    // Exact out of a whole reserve.
    let whole = l.pools[1].reserve_b;
    let r = apply_one(
        &mut l,
        &seed,
        Action::Route {
            exact_out: true,
            token_in: 1,
            amount: whole,
            limit: u64::MAX,
            pools: vec![1],
        },
    );
    assert_eq!(r.status, MStatus::InsufficientLiquidity);
}

/// isqrt against num-bigint's, and in() against out() (`out(in(y)) ≥ y`), on edge and
/// random values.
#[test]
fn model_arithmetic_properties() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut ns: Vec<BigUint> = (0u64..300).map(big).collect();
    for _ in 0..2000 {
        let a: u64 = rng.r#gen();
        let b: u64 = rng.r#gen();
        ns.push(big(a) * big(b));
        ns.push(big(a) * big(a));
        ns.push(big(a) * big(a) - big(1u64.min(a)));
    }
    ns.push(big(u64::MAX) * big(u64::MAX));
    for n in &ns {
        let s = model::isqrt(n);
        assert_eq!(s, n.sqrt(), "{n}");
        assert!(&s * &s <= *n && (&s + big(1)) * (&s + big(1)) > *n);
    }
    for _ in 0..3000 {
        let fee = [0u16, 1, 30, 9999][rng.gen_range(0..4)];
        let r_in = if rng.gen_bool(0.5) {
            rng.gen_range(1..1000)
        } else {
            rng.r#gen::<u64>().max(1)
        };
        let r_out = if rng.gen_bool(0.5) {
            rng.gen_range(2..1000)
        } else {
            rng.r#gen::<u64>().max(2)
        };
        let y = big(rng.gen_range(1..r_out));
        let x = model::amount_in(&y, r_in, r_out, fee).unwrap();
        assert!(model::amount_out(&x, r_in, r_out, fee) >= y);
    }
}

// ---------------------------------------------------------------- random chains

/// Small-order points, as encodings: the identity (canonical, with the sign bit set, and
/// y = p + 1, both non-canonical) and torsion points of order 8, 4 and 2.
fn small_order_encodings() -> Vec<[u8; 32]> {
    use curve25519_dalek::constants::EIGHT_TORSION;
    let mut a = [0u8; 32];
    a[0] = 1;
    let mut b = a;
    b[31] = 0x80;
    let mut c = [0xffu8; 32];
    c[0] = 0xee;
    c[31] = 0x7f;
    let mut v = vec![a, b, c];
    v.extend([1, 2, 4].map(|i| EIGHT_TORSION[i].compress().to_bytes()));
    v
}

/// A small-order signer's signature: R a small-order encoding, S = 0. Valid for any
/// message under zip215 (8·(0·B − R − k·A) is the identity); the strict rule rejects it.
fn small_order_signature(rng: &mut ChaCha8Rng) -> [u8; 64] {
    let r = small_order_encodings();
    let mut s = [0u8; 64];
    s[..32].copy_from_slice(&r[rng.gen_range(0..r.len())]);
    s
}

/// A mixed-order key: A' = a·B + T with T a torsion point of order 8, 4 or 2.
fn mixed_order_key(rng: &mut ChaCha8Rng, torsion: usize) -> (curve25519_dalek::Scalar, [u8; 32]) {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    let a = curve25519_dalek::Scalar::from_bytes_mod_order(rng.r#gen());
    let point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[torsion];
    (a, point.compress().to_bytes())
}

/// Signs `body` under a mixed-order key: R = r·B, k = SHA-512(R ‖ A' ‖ body) mod ℓ,
/// S = r + k·a. Then S·B − R − k·A' = −k·T: zip215 (cofactored) accepts; the strict rule
/// (cofactorless) accepts only when k·T is the identity.
fn mixed_order_sign(
    a: &curve25519_dalek::Scalar,
    pk: &[u8; 32],
    nonce: [u8; 32],
    body: Vec<u8>,
) -> Vec<u8> {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use sha2::Digest;
    let r = curve25519_dalek::Scalar::from_bytes_mod_order(nonce);
    let big_r = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
    let mut h = sha2::Sha512::new();
    h.update(big_r);
    h.update(pk);
    h.update(&body);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&wide);
    let s = r + k * a;
    let mut t = big_r.to_vec();
    t.extend_from_slice(s.as_bytes());
    t.extend_from_slice(&body);
    t
}

/// The keys of one chain and its genesis.
struct World {
    /// Signers with secret keys: the genesis users first, then outsiders not in genesis.
    seeds: Vec<[u8; 32]>,
    genesis_users: usize,
    /// Small-order keys in genesis that sign with [`small_order_signature`].
    identity: Vec<[u8; 32]>,
    /// Mixed-order keys in genesis that sign with [`mixed_order_sign`].
    mixed: Vec<(curve25519_dalek::Scalar, [u8; 32])>,
    json: String,
}

fn random_key(rng: &mut ChaCha8Rng) -> [u8; 32] {
    rng.r#gen()
}

/// A random genesis under the strict or the zip215 rule: `dex` adds pools with LP tokens
/// (LP shares held by users and traded by a pool) and first-mint pools with lp_supply 0.
fn random_world(rng: &mut ChaCha8Rng, dex: bool, zip215: bool) -> World {
    let rule = if zip215 { "zip215" } else { "strict" };
    let tokens: usize = if dex { 8 } else { 4 };
    let genesis_users = 8;
    let seeds: Vec<[u8; 32]> = (0..genesis_users + 3).map(|_| random_key(rng)).collect();
    let identity = small_order_encodings();
    let mixed: Vec<_> = [1, 2, 4].map(|t| mixed_order_key(rng, t)).into();
    // Token scales: small, large, and token 3 whose supply is exactly 2^64 − 1.
    let scale: Vec<u64> = (0..4)
        .map(|_| {
            if rng.gen_bool(0.4) {
                1u64 << rng.gen_range(50..=60)
            } else {
                10u64.pow(rng.gen_range(5..10))
            }
        })
        .collect();
    let holders = genesis_users + identity.len() + mixed.len();
    let mut balances = vec![vec![0u64; tokens]; holders];
    for row in balances.iter_mut() {
        for t in 0..4 {
            row[t] = match rng.gen_range(0..6) {
                0 => 0,
                1 => rng.gen_range(0..100),
                _ => rng.gen_range(0..=scale[t] / 2),
            };
        }
        if rng.gen_bool(0.1) {
            row[3] = 0;
        }
    }
    // (token_a, token_b, fee, reserve_a, reserve_b, lp: Some((token, supply)))
    type PoolSpec = (u16, u16, u16, u64, u64, Option<(u16, u64)>);
    let fee =
        |rng: &mut ChaCha8Rng| -> u16 { [0u16, 1, 30, 30, 30, 100, 9999][rng.gen_range(0..7)] };
    let reserve = |rng: &mut ChaCha8Rng, t: usize, min: u64| -> u64 {
        match rng.gen_range(0..5) {
            0 => min,
            1 => min + rng.gen_range(0..10),
            _ => rng.gen_range(min..=scale[t].max(min)),
        }
    };
    let mut pools: Vec<PoolSpec> = Vec::new();
    if dex {
        // P0 (0,1) with LP token 4 and shares; P1 (1,2) LP token 5, first mint at equal
        // small reserves; P2 (0,2) no LP; P3 (2,3) LP token 6 with shares; P4 (3,4) trades
        // LP token 4; P5 (0,3) LP token 7, first mint at 1:4; P6 (1,0) no LP.
        let r0 = (reserve(rng, 0, 10_000), reserve(rng, 1, 10_000));
        let r3 = (reserve(rng, 2, 1000), reserve(rng, 3, 1000));
        let eq = rng.gen_range(1..10);
        let s_of = |rng: &mut ChaCha8Rng, (a, b): (u64, u64)| -> u64 {
            let root = model::isqrt(&(big(a) * big(b)));
            let root = u64::try_from(&root).unwrap();
            if rng.gen_bool(0.5) {
                root
            } else {
                rng.gen_range(1000..=root)
            }
        };
        let s0 = s_of(rng, r0);
        let s3 = s_of(rng, r3);
        pools.push((0, 1, fee(rng), r0.0, r0.1, Some((4, s0))));
        pools.push((1, 2, fee(rng), eq, eq, Some((5, 0))));
        pools.push((0, 2, fee(rng), reserve(rng, 0, 1), reserve(rng, 2, 1), None));
        pools.push((2, 3, fee(rng), r3.0, r3.1, Some((6, s3))));
        // LP token units: S − 1000 split among users and P4's reserve (≥ 1).
        let mut split = |rng: &mut ChaCha8Rng, token: usize, units: u64| -> u64 {
            let mut left = units;
            for row in balances.iter_mut().take(genesis_users) {
                let give = rng.gen_range(0..=left / 2);
                row[token] += give;
                left -= give;
            }
            left
        };
        let in_pool = split(rng, 4, s0 - 1000);
        // Every unit of token 6 is held by users.
        let left = split(rng, 6, s3 - 1000);
        balances[0][6] += left;
        pools.push((3, 4, 30, reserve(rng, 3, 1), in_pool, None));
        pools.push((0, 3, fee(rng), 1, 4, Some((7, 0))));
        pools.push((1, 0, fee(rng), reserve(rng, 1, 1), reserve(rng, 0, 1), None));
        if in_pool == 0 {
            // P4 needs a reserve of token 4: take one unit from a holder.
            let who = (0..genesis_users).find(|&u| balances[u][4] > 0).unwrap();
            balances[who][4] -= 1;
            pools[4].4 = 1;
        }
    } else {
        pools.push((0, 1, fee(rng), reserve(rng, 0, 1), reserve(rng, 1, 1), None));
        pools.push((0, 2, fee(rng), reserve(rng, 0, 1), reserve(rng, 2, 1), None));
        pools.push((2, 3, fee(rng), reserve(rng, 2, 1), reserve(rng, 3, 1), None));
        pools.push((1, 0, fee(rng), reserve(rng, 1, 1), reserve(rng, 0, 1), None));
        pools.push((3, 0, fee(rng), 1, 1, None));
    }
    // Token 3's supply is exactly 2^64 − 1: user 0 holds the rest.
    let others: u128 = balances[1..].iter().map(|r| r[3] as u128).sum::<u128>()
        + pools
            .iter()
            .map(|p| {
                (if p.0 == 3 { p.3 as u128 } else { 0 }) + (if p.1 == 3 { p.4 as u128 } else { 0 })
            })
            .sum::<u128>();
    balances[0][3] = (u64::MAX as u128)
        .checked_sub(others)
        .expect("token 3 supply") as u64;
    let mut accounts = Vec::new();
    for u in 0..genesis_users {
        let nonce = match u {
            7 => u64::MAX - 1,
            6 => rng.gen_range(0..1000),
            _ => 0,
        };
        accounts.push(format!(
            r#"{{"pubkey": "{}", "nonce": {nonce}, "balances": {:?}}}"#,
            hex::encode(model::public_key(&seeds[u])),
            balances[u]
        ));
    }
    let other_keys: Vec<[u8; 32]> = identity
        .iter()
        .copied()
        .chain(mixed.iter().map(|m| m.1))
        .collect();
    for (i, k) in other_keys.iter().enumerate() {
        accounts.push(format!(
            r#"{{"pubkey": "{}", "nonce": 0, "balances": {:?}}}"#,
            hex::encode(k),
            balances[genesis_users + i]
        ));
    }
    let pools: Vec<String> = pools
        .iter()
        .map(|p| {
            let lp = match p.5 {
                Some((t, s)) if s == 0 && rng.gen_bool(0.5) => format!(r#", "lp_token": {t}"#),
                Some((t, s)) => format!(r#", "lp_token": {t}, "lp_supply": {s}"#),
                None => String::new(),
            };
            format!(
                r#"{{"token_a": {}, "token_b": {}, "fee_bps": {}, "reserve_a": {}, "reserve_b": {}{lp}}}"#,
                p.0, p.1, p.2, p.3, p.4
            )
        })
        .collect();
    let json = format!(
        r#"{{"verify_rule": "{rule}", "tokens": {tokens}, "accounts": [{}], "pools": [{}]}}"#,
        accounts.join(", "),
        pools.join(", ")
    );
    World {
        seeds,
        genesis_users,
        identity,
        mixed,
        json,
    }
}

/// An amount near `reference`, or at the u64 edges.
fn amount(rng: &mut ChaCha8Rng, reference: u64) -> u64 {
    match rng.gen_range(0..12) {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => reference,
        4 => reference.saturating_sub(1),
        5 => reference.saturating_add(1),
        6 => reference / 2,
        7 => u64::MAX,
        8 => u64::MAX - 1,
        9 => rng.r#gen(),
        _ => rng.gen_range(0..=reference),
    }
}

/// One of `v` or, rarely, something else entirely.
fn near(rng: &mut ChaCha8Rng, v: u64) -> u64 {
    match rng.gen_range(0..8) {
        0 => v.saturating_add(1),
        1 => v.saturating_sub(1),
        2 => 0,
        3 => u64::MAX,
        _ => v,
    }
}

/// Builds blocks for a chain, following the model's state as txs are added.
struct Gen<'a> {
    rng: &'a mut ChaCha8Rng,
    world: &'a World,
    dex: bool,
}

/// A signer: the seed (or a small-order key) and its public key.
enum Signer {
    Seed([u8; 32]),
    SmallOrder([u8; 32]),
    Mixed(usize),
}

impl Gen<'_> {
    fn signer(&mut self) -> Signer {
        let w = self.world;
        match self.rng.gen_range(0..20) {
            0..=14 => Signer::Seed(w.seeds[self.rng.gen_range(0..w.genesis_users)]),
            15 | 16 => Signer::Seed(w.seeds[self.rng.gen_range(w.genesis_users..w.seeds.len())]),
            17 => Signer::SmallOrder(w.identity[self.rng.gen_range(0..w.identity.len())]),
            _ => Signer::Mixed(self.rng.gen_range(0..w.mixed.len())),
        }
    }

    fn recipient(&mut self, scratch: &Ledger, signer: &[u8; 32], fc: &[u8; 32]) -> [u8; 32] {
        match self.rng.gen_range(0..10) {
            0 => *signer,
            1 => *fc,
            2 => random_key(self.rng),
            3 => {
                model::public_key(&self.world.seeds[self.rng.gen_range(0..self.world.seeds.len())])
            }
            _ => scratch.accounts[self.rng.gen_range(0..scratch.accounts.len())].pubkey,
        }
    }

    fn pool_id(&mut self, scratch: &Ledger) -> u32 {
        let n = scratch.pools.len() as u32;
        match self.rng.gen_range(0..14) {
            0 => n,
            1 => u32::MAX,
            _ => self.rng.gen_range(0..n),
        }
    }

    /// Mostly a pool with an LP token.
    fn lp_pool_id(&mut self, scratch: &Ledger) -> u32 {
        let with_lp: Vec<u32> = (0..scratch.pools.len() as u32)
            .filter(|&i| scratch.pools[i as usize].lp.is_some())
            .collect();
        if with_lp.is_empty() || self.rng.gen_bool(0.3) {
            self.pool_id(scratch)
        } else {
            with_lp[self.rng.gen_range(0..with_lp.len())]
        }
    }

    fn balance(scratch: &Ledger, pk: &[u8; 32], token: usize) -> u64 {
        scratch
            .account_index(pk)
            .and_then(|i| scratch.accounts[i].balances.get(token).copied())
            .unwrap_or(0)
    }

    /// The x_0 and x_n a route would give now (limits set to pass), if it applies.
    fn route_quote(
        scratch: &Ledger,
        seed_or_pk: &Signer,
        fc: &[u8; 32],
        action: &Action,
    ) -> Option<(u64, u64)> {
        let Signer::Seed(seed) = seed_or_pk else {
            return None;
        };
        let pk = model::public_key(seed);
        let i = scratch.account_index(&pk)?;
        let mut probe = scratch.clone();
        let a = match action.clone() {
            Action::Route {
                exact_out,
                token_in,
                amount,
                pools,
                ..
            } => Action::Route {
                exact_out,
                token_in,
                amount,
                limit: if exact_out { u64::MAX } else { 0 },
                pools,
            },
            _ => return None,
        };
        let tx = model::signed_tx(seed, probe.accounts[i].nonce, 0, &a);
        match probe.apply_loose(&tx, fc) {
            (
                MStatus::Ok,
                Amounts::Route {
                    amount_in,
                    amount_out,
                },
            ) => Some((amount_in, amount_out)),
            _ => None,
        }
    }

    fn action(
        &mut self,
        scratch: &Ledger,
        signer: &Signer,
        pk: &[u8; 32],
        fc: &[u8; 32],
    ) -> Action {
        let kinds = if self.dex { 5 } else { 2 };
        let kind = self.rng.gen_range(0..kinds);
        let tokens = scratch.tokens as u16;
        match kind {
            0 => {
                let token = match self.rng.gen_range(0..12) {
                    0 => tokens,
                    1 => u16::MAX,
                    _ => self.rng.gen_range(0..tokens),
                };
                let bal = Self::balance(scratch, pk, token as usize);
                Action::Transfer {
                    to: self.recipient(scratch, pk, fc),
                    token,
                    amount: amount(self.rng, bal),
                }
            }
            1 => {
                let pool = self.pool_id(scratch);
                let b_to_a = self.rng.r#gen();
                let (amount_in, min_out) = match scratch.pools.get(pool as usize) {
                    Some(p) => {
                        let (t_in, r_in, r_out) = if b_to_a {
                            (p.token_b, p.reserve_b, p.reserve_a)
                        } else {
                            (p.token_a, p.reserve_a, p.reserve_b)
                        };
                        let x = amount(self.rng, Self::balance(scratch, pk, t_in as usize));
                        let out = model::amount_out(&big(x), r_in, r_out, p.fee_bps);
                        (x, near(self.rng, u64::try_from(&out).unwrap()))
                    }
                    None => (self.rng.gen_range(0..1000), 0),
                };
                Action::Swap {
                    pool,
                    b_to_a,
                    amount_in,
                    min_out,
                }
            }
            2 => self.add(scratch, pk),
            3 => self.remove(scratch, pk),
            _ => self.route(scratch, signer, pk, fc),
        }
    }

    fn add(&mut self, scratch: &Ledger, pk: &[u8; 32]) -> Action {
        let pool = self.lp_pool_id(scratch);
        let Some(p) = scratch.pools.get(pool as usize).copied() else {
            return Action::Add {
                pool,
                a_desired: 1,
                b_desired: 1,
                a_min: 0,
                b_min: 0,
            };
        };
        let bal_a = Self::balance(scratch, pk, p.token_a as usize);
        let bal_b = Self::balance(scratch, pk, p.token_b as usize);
        let first_mint = p.lp.is_some_and(|lp| lp.supply == 0);
        let (a_desired, b_desired) = if first_mint && self.rng.gen_bool(0.6) {
            // The least a_desired whose quoted pair has isqrt(A·B) > 1000, or one below it.
            let f = |a: u64| {
                let b = model::quote(&big(a), p.reserve_a, p.reserve_b);
                model::isqrt(&(big(a) * b)) > big(1000)
            };
            let (mut lo, mut hi) = (0u64, 1u64 << 40);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if f(mid) { hi = mid } else { lo = mid }
            }
            let a = if self.rng.r#gen() { hi } else { lo };
            (a, if self.rng.r#gen() { u64::MAX } else { bal_b })
        } else {
            match self.rng.gen_range(0..6) {
                0 => (amount(self.rng, bal_a), amount(self.rng, bal_b)),
                3 | 4 => {
                    let a = bal_a >> self.rng.gen_range(0..24);
                    (a, if self.rng.r#gen() { u64::MAX } else { bal_b })
                }
                1 => {
                    let a = amount(self.rng, bal_a);
                    let b = model::quote(&big(a), p.reserve_a, p.reserve_b);
                    (a, near(self.rng, u64::try_from(&b).unwrap_or(u64::MAX)))
                }
                2 => (bal_a, bal_b),
                5 => (self.rng.gen_range(0..1000), self.rng.gen_range(0..1000)),
                _ => (bal_a, bal_b),
            }
        };
        let b_opt = model::quote(&big(a_desired), p.reserve_a, p.reserve_b);
        let a_opt = model::quote(&big(b_desired), p.reserve_b, p.reserve_a);
        let clip = |x: BigUint| u64::try_from(&x).unwrap_or(u64::MAX);
        let (a_min, b_min) = match self.rng.gen_range(0..8) {
            0 | 5 | 6 | 7 => (0, 0),
            1 => (near(self.rng, clip(a_opt)), near(self.rng, clip(b_opt))),
            2 => (clip(a_opt), clip(b_opt)),
            3 => (a_desired, b_desired),
            _ => (self.rng.r#gen(), self.rng.r#gen()),
        };
        Action::Add {
            pool,
            a_desired,
            b_desired,
            a_min,
            b_min,
        }
    }

    fn remove(&mut self, scratch: &Ledger, pk: &[u8; 32]) -> Action {
        let pool = self.lp_pool_id(scratch);
        let Some(p) = scratch.pools.get(pool as usize).copied() else {
            return Action::Remove {
                pool,
                liquidity: 1,
                a_min: 0,
                b_min: 0,
            };
        };
        let (held, supply) = match p.lp {
            Some(lp) => (Self::balance(scratch, pk, lp.token as usize), lp.supply),
            None => (0, 0),
        };
        let liquidity = match self.rng.gen_range(0..9) {
            6..=8 => held >> self.rng.gen_range(0..10),
            // The most that still rounds one side to 0.
            0 if supply > 0 => (supply - 1) / p.reserve_a.max(p.reserve_b).max(1),
            1 => held,
            _ => amount(self.rng, held),
        };
        let (a, b) = if supply > 0 {
            let a = big(liquidity) * big(p.reserve_a) / big(supply);
            let b = big(liquidity) * big(p.reserve_b) / big(supply);
            (
                u64::try_from(&a).unwrap_or(u64::MAX),
                u64::try_from(&b).unwrap_or(u64::MAX),
            )
        } else {
            (0, 0)
        };
        let (a_min, b_min) = match self.rng.gen_range(0..6) {
            0 | 4 | 5 => (0, 0),
            1 => (a, b),
            _ => (near(self.rng, a), near(self.rng, b)),
        };
        Action::Remove {
            pool,
            liquidity,
            a_min,
            b_min,
        }
    }

    fn route(&mut self, scratch: &Ledger, signer: &Signer, pk: &[u8; 32], fc: &[u8; 32]) -> Action {
        let n = scratch.pools.len() as u32;
        let exact_out = self.rng.r#gen();
        // A chain walked through the pools from a token one of them holds.
        let start = scratch.pools[self.rng.gen_range(0..n) as usize];
        let mut token = if self.rng.r#gen() {
            start.token_a
        } else {
            start.token_b
        };
        let token_in = token;
        let hops = self.rng.gen_range(1..=4);
        let mut pools: Vec<u32> = Vec::new();
        for _ in 0..hops {
            let next: Vec<u32> = (0..n)
                .filter(|&i| {
                    let p = &scratch.pools[i as usize];
                    (p.token_a == token || p.token_b == token) && !pools.contains(&i)
                })
                .collect();
            if next.is_empty() {
                break;
            }
            let id = next[self.rng.gen_range(0..next.len())];
            let p = &scratch.pools[id as usize];
            token = if p.token_a == token {
                p.token_b
            } else {
                p.token_a
            };
            pools.push(id);
        }
        // Now and then close the loop: a last pool back to the starting token.
        if token != token_in && pools.len() < 4 && self.rng.gen_bool(0.4) {
            let back = (0..n).find(|&i| {
                let p = &scratch.pools[i as usize];
                !pools.contains(&i)
                    && ((p.token_a == token && p.token_b == token_in)
                        || (p.token_b == token && p.token_a == token_in))
            });
            if let Some(id) = back {
                pools.push(id);
                token = token_in;
            }
        }
        let mut token_in = token_in;
        // Spoil it now and then.
        match self.rng.gen_range(0..16) {
            0 => pools.push(pools[0]),      // repeated pool: malformed
            1 => pools.push(n + 3),         // unknown pool
            2 => pools.insert(0, u32::MAX), // unknown pool first
            3 => pools.reverse(),           // usually a bad route
            4 => token_in = scratch.tokens as u16 + self.rng.gen_range(0..3),
            5 => token_in = u16::MAX,
            6 => {
                pools = (0..self.rng.gen_range(0..=5))
                    .map(|_| self.rng.gen_range(0..n))
                    .collect()
            }
            7 => pools.clear(), // no hops: malformed
            _ => {}
        }
        pools.truncate(if self.rng.gen_range(0..20) == 0 { 5 } else { 4 });
        let amount_v = if exact_out {
            // Near the last hop's output reserve, or small.
            let last_out = pools.last().and_then(|&id| {
                let p = scratch.pools.get(id as usize)?;
                Some(if token == p.token_a {
                    p.reserve_a
                } else {
                    p.reserve_b
                })
            });
            match (self.rng.gen_range(0..6), last_out) {
                (0, Some(r)) => r.saturating_sub(1),
                (1, Some(r)) => r,
                (2, Some(r)) => r / 2,
                (3, _) => 0,
                _ => amount(self.rng, 1000),
            }
        } else {
            amount(self.rng, Self::balance(scratch, pk, token_in as usize))
        };
        let mut action = Action::Route {
            exact_out,
            token_in,
            amount: amount_v,
            limit: 0,
            pools,
        };
        let limit = match Self::route_quote(scratch, signer, fc, &action) {
            Some((x0, xn)) => {
                if exact_out {
                    near(self.rng, x0)
                } else {
                    near(self.rng, xn)
                }
            }
            None => match self.rng.gen_range(0..3) {
                0 => 0,
                1 => u64::MAX,
                _ => self.rng.r#gen(),
            },
        };
        if let Action::Route { limit: l, .. } = &mut action {
            *l = limit;
        }
        action
    }

    /// One tx's bytes: usually well formed, sometimes spoiled.
    fn tx(&mut self, scratch: &Ledger, fc: &[u8; 32]) -> Vec<u8> {
        let signer = self.signer();
        let pk = match &signer {
            Signer::Seed(s) => model::public_key(s),
            Signer::SmallOrder(k) => *k,
            Signer::Mixed(i) => self.world.mixed[*i].1,
        };
        let (nonce, bal0) = match scratch.account_index(&pk) {
            Some(i) => (scratch.accounts[i].nonce, scratch.accounts[i].balances[0]),
            None => (0, 0),
        };
        let nonce = match self.rng.gen_range(0..24) {
            0 => nonce.wrapping_add(1),
            1 => nonce.wrapping_sub(1),
            2 => u64::MAX,
            _ => nonce,
        };
        let fee = match self.rng.gen_range(0..12) {
            0 => bal0,
            1 => bal0.saturating_add(1),
            2 => u64::MAX,
            3..=6 => 0,
            _ => self.rng.gen_range(0..=bal0.min(50)),
        };
        let action = self.action(scratch, &signer, &pk, fc);
        let body = model::unsigned_body(&pk, nonce, fee, &action);
        let small_order_sig = small_order_signature(self.rng);
        let sig_nonce: [u8; 32] = self.rng.r#gen();
        let sign = |body: Vec<u8>| match &signer {
            Signer::Seed(s) => model::sign_body(s, body),
            Signer::SmallOrder(_) => {
                let mut t = small_order_sig.to_vec();
                t.extend_from_slice(&body);
                t
            }
            Signer::Mixed(i) => {
                let (a, pk) = &self.world.mixed[*i];
                mixed_order_sign(a, pk, sig_nonce, body)
            }
        };
        match self.rng.gen_range(0..40) {
            // Bad signature: a flipped bit, in the signature or in the signed bytes.
            0 => {
                let mut t = sign(body);
                let at = self.rng.gen_range(0..t.len());
                t[at] ^= 1 << self.rng.gen_range(0..8);
                t
            }
            // S + ℓ: a non-canonical S.
            1 => {
                let mut t = sign(body);
                let l = BigUint::parse_bytes(
                    b"7237005577332262213973186563042994240857116359379907606001950938285454250989",
                    10,
                )
                .unwrap();
                let s = BigUint::from_bytes_le(&t[32..64]) + l;
                let mut bytes = s.to_bytes_le();
                bytes.resize(32, 0);
                t[32..64].copy_from_slice(&bytes);
                t
            }
            // Wrong length, signed: malformed whatever the signature.
            2 => {
                let mut body = body;
                if self.rng.r#gen() {
                    body.pop();
                } else {
                    body.push(0);
                }
                sign(body)
            }
            // An unknown kind, or one kind's bytes under another kind.
            3 => {
                let mut body = body;
                body[0] = [0u8, 6, 7, 255, 1, 2, 3, 4, 5][self.rng.gen_range(0..9)];
                sign(body)
            }
            // A bad direction or mode byte (swap and route), signed.
            4 => {
                let mut body = body;
                if matches!(body[0], model::KIND_SWAP) {
                    body[49 + 4] = self.rng.gen_range(2..=255);
                } else if matches!(body[0], model::KIND_ROUTE) {
                    body[49] = self.rng.gen_range(2..=255);
                }
                sign(body)
            }
            // Shorter than any tx.
            5 => {
                let len = self.rng.gen_range(0..model::COMMON_LEN);
                let mut t = sign(body);
                t.truncate(len);
                t
            }
            _ => sign(body),
        }
    }

    /// A block's fee collector and txs, built on `ledger`.
    fn block(&mut self, ledger: &Ledger, n: usize) -> ([u8; 32], Vec<Vec<u8>>) {
        let w = self.world;
        let fc = match self.rng.gen_range(0..5) {
            0 => random_key(self.rng),
            1 => w.identity[0],
            2 => model::public_key(&w.seeds[w.seeds.len() - 1]),
            _ => model::public_key(&w.seeds[self.rng.gen_range(0..w.genesis_users)]),
        };
        let mut scratch = ledger.clone();
        let mut txs = Vec::with_capacity(n);
        for _ in 0..n {
            let t = self.tx(&scratch, &fc);
            scratch.apply_loose(&t, &fc);
            txs.push(t);
        }
        (fc, txs)
    }
}

/// A crate receipt in the model's terms.
fn crate_receipt(r: &txwave::Receipt) -> ([u8; 32], u8, Amounts) {
    let amounts = match r.amounts {
        txwave::Amounts::Out { amount_out } => Amounts::Out { amount_out },
        txwave::Amounts::Route {
            amount_in,
            amount_out,
        } => Amounts::Route {
            amount_in,
            amount_out,
        },
        txwave::Amounts::Liquidity {
            amount_a,
            amount_b,
            liquidity,
        } => Amounts::Liquidity {
            amount_a,
            amount_b,
            liquidity,
        },
    };
    (r.tx_id, r.status as u8, amounts)
}

/// The receipts JSONL amount fields the design names for these amounts: `amount_out`;
/// `amount_in` and `amount_out`; `amount_a`, `amount_b` and `liquidity`.
fn jsonl_fields(a: &Amounts) -> serde_json::Value {
    match *a {
        Amounts::Out { amount_out } => serde_json::json!({ "amount_out": amount_out }),
        Amounts::Route {
            amount_in,
            amount_out,
        } => serde_json::json!({ "amount_in": amount_in, "amount_out": amount_out }),
        Amounts::Liquidity {
            amount_a,
            amount_b,
            liquidity,
        } => {
            serde_json::json!({ "amount_a": amount_a, "amount_b": amount_b, "liquidity": liquidity })
        }
    }
}

/// The crate's accounts and pools equal the model's, field by field.
fn assert_same_ledger(state: &State, ledger: &Ledger, what: &str) {
    assert_eq!(
        state.account_count(),
        ledger.accounts.len(),
        "{what}: accounts"
    );
    for (i, a) in ledger.accounts.iter().enumerate() {
        assert_eq!(state.pubkey(i), a.pubkey, "{what}: account {i}");
        assert_eq!(state.nonces()[i], a.nonce, "{what}: nonce of account {i}");
        assert_eq!(
            state.account_balances(i),
            a.balances,
            "{what}: balances of account {i}"
        );
    }
    assert_eq!(state.pools().len(), ledger.pools.len(), "{what}: pools");
    for (i, (c, m)) in state.pools().iter().zip(&ledger.pools).enumerate() {
        assert_eq!(
            (c.token_a, c.token_b, c.fee_bps, c.reserve_a, c.reserve_b),
            (m.token_a, m.token_b, m.fee_bps, m.reserve_a, m.reserve_b),
            "{what}: pool {i}"
        );
        assert_eq!(
            (c.lp_token, c.lp_supply),
            (m.lp.map(|l| l.token), m.lp.map_or(0, |l| l.supply)),
            "{what}: LP token and supply of pool {i}"
        );
    }
    assert_eq!(
        state.state_root(),
        ledger.state_root(),
        "{what}: state root"
    );
}

/// [`assert_same_ledger`] plus the chain's height and last block hash.
fn assert_same_state(state: &State, ledger: &Ledger, what: &str) {
    assert_same_ledger(state, ledger, what);
    assert_eq!(state.height(), ledger.height, "{what}: height");
    assert_eq!(
        state.last_block_hash(),
        ledger.last_block_hash,
        "{what}: last block hash"
    );
    assert_eq!(
        state.state_root(),
        ledger.state_root(),
        "{what}: state root"
    );
}

/// One block through both: the same verdict, and on acceptance the same everything.
fn compare_block(
    engine: &Engine,
    state: &mut State,
    ledger: &mut Ledger,
    bytes: &[u8],
    what: &str,
    seen: &mut Seen,
) -> Option<model::BlockResult> {
    let before = state.clone();
    let model = ledger.apply_block_bytes(bytes);
    // The crate's sequential reference on a copy, then the engine.
    let mut reference_state = state.clone();
    let reference = Block::decode(bytes).and_then(|(block, _)| {
        txwave::internal::exec::reference::execute_block(&mut reference_state, &block)
    });
    let ours = Block::decode(bytes).and_then(|(block, used)| {
        assert_eq!(used, bytes.len(), "{what}: bytes consumed");
        engine.process_block(state, &block)
    });
    match (&reference, &ours) {
        (Ok(r), Ok(c)) => {
            assert_eq!(
                r.receipts, c.receipts,
                "{what}: reference and engine receipts"
            );
            assert_eq!(
                (r.tx_root, r.receipts_root, r.state_root, r.block_hash),
                (c.tx_root, c.receipts_root, c.state_root, c.block_hash),
                "{what}: reference and engine roots"
            );
            assert_eq!(
                reference_state, *state,
                "{what}: reference and engine states"
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "{what}: reference {:?}, engine {:?}",
            reference.as_ref().map(|_| "accepted"),
            ours.as_ref().map(|_| "accepted")
        ),
    }
    match (model, ours) {
        (Ok((m, used)), Ok(c)) => {
            assert_eq!(used, bytes.len());
            assert_eq!(c.receipts.len(), m.receipts.len(), "{what}: receipt count");
            let txs = model::decode_block(bytes).unwrap().0.txs;
            for (i, (cr, mr)) in c.receipts.iter().zip(&m.receipts).enumerate() {
                // The JSONL amount fields of the design, per kind.
                assert_eq!(
                    serde_json::to_value(cr.amounts).unwrap(),
                    jsonl_fields(&mr.amounts),
                    "{what}: receipt {i} JSONL fields"
                );
                assert_eq!(
                    crate_receipt(cr),
                    (mr.tx_id, mr.status as u8, mr.amounts),
                    "{what}: receipt {i} (model {:?}); tx {} decoded by the model as {:?}",
                    mr.status,
                    hex::encode(&txs[i]),
                    model::decode_tx(&txs[i])
                );
            }
            assert_eq!(c.tx_root, m.tx_root, "{what}: tx root");
            assert_eq!(c.receipts_root, m.receipts_root, "{what}: receipts root");
            assert_eq!(c.state_root, m.state_root, "{what}: state root");
            assert_eq!(c.block_hash, m.block_hash, "{what}: block hash");
            let crate_waves: Vec<Option<usize>> = c
                .schedule
                .wave_of()
                .iter()
                .map(|&w| (w != u32::MAX).then_some(w as usize + 1))
                .collect();
            if let Some(i) = (0..txs.len()).find(|&i| crate_waves[i] != m.wave_of[i]) {
                let fc = model::decode_block(bytes).unwrap().0.fee_collector;
                eprintln!("fee collector {}", hex::encode(&fc[..4]));
                for j in 0..=i {
                    let d = model::decode_tx(&txs[j]);
                    eprintln!(
                        "{j}: crate {:?} model {:?} {:?} {:?}",
                        crate_waves[j],
                        m.wave_of[j],
                        d.as_ref().map(|d| hex::encode(&d.signer[..4])),
                        d.as_ref().map(|d| match &d.action {
                            Action::Transfer { to, .. } => format!("to {}", hex::encode(&to[..4])),
                            Action::Swap { pool, .. } => format!("pool {pool}"),
                            a => format!("{a:?}"),
                        })
                    );
                }
                panic!(
                    "{what}: wave of tx {i}: crate {:?}, model {:?}; tx {:?}; model waves {:?}",
                    crate_waves[i],
                    m.wave_of[i],
                    model::decode_tx(&txs[i]),
                    m.wave_of
                );
            }
            assert_eq!(c.waves, m.waves, "{what}: waves");
            assert_same_state(state, ledger, what);
            let small_order = small_order_encodings();
            let lp_tokens: Vec<u16> = ledger
                .pools
                .iter()
                .filter_map(|p| p.lp.map(|l| l.token))
                .collect();
            let trades_lp = |id: u32| {
                ledger.pools.get(id as usize).is_some_and(|p| {
                    lp_tokens.contains(&p.token_a) || lp_tokens.contains(&p.token_b)
                })
            };
            for (t, r) in txs.iter().zip(&m.receipts) {
                let d = model::decode_tx(t);
                let kind = d.as_ref().map_or(0, |d| d.kind);
                *seen.statuses.entry((kind, r.status as u8)).or_default() += 1;
                if let Some(d) = &d {
                    let passed = r.status != MStatus::BadSignature;
                    if small_order.contains(&d.signer) {
                        assert!(!passed || ledger.rule == model::Rule::Zip215, "{what}");
                        seen.small_order_passed += passed as usize;
                    }
                    if seen.mixed_keys.contains(&d.signer) {
                        seen.mixed_passed += passed as usize;
                        if ledger.rule == model::Rule::Strict {
                            seen.mixed_passed_strict += passed as usize;
                        }
                        seen.mixed_rejected += !passed as usize;
                    }
                }
                if r.status != MStatus::Ok {
                    continue;
                }
                match d.map(|d| d.action) {
                    Some(Action::Transfer { token, .. }) if lp_tokens.contains(&token) => {
                        seen.lp_transfers += 1
                    }
                    Some(Action::Swap { pool, .. }) if trades_lp(pool) => seen.lp_swaps += 1,
                    Some(Action::Route {
                        token_in, pools, ..
                    }) => {
                        if pools.iter().any(|&p| trades_lp(p)) {
                            seen.lp_swaps += 1;
                        }
                        let mut token = token_in;
                        for &id in &pools {
                            let p = &ledger.pools[id as usize];
                            token = if p.token_a == token {
                                p.token_b
                            } else {
                                p.token_a
                            };
                        }
                        if token == token_in {
                            seen.round_trips += 1;
                        }
                    }
                    _ => {}
                }
            }
            seen.max_waves = seen.max_waves.max(m.waves);
            seen.accepted += 1;
            executors_match(&before, bytes, &m, ledger, what);
            if c.devices.execute == txwave::Device::Gpu {
                seen.executed_on_gpu += 1;
            }
            if c.devices.verify == txwave::Device::Gpu {
                seen.verified_on_gpu += 1;
            }
            Some(m)
        }
        (Err(_), Err(_)) => {
            assert_eq!(*state, before, "{what}: a rejected block changed the state");
            seen.rejected += 1;
            assert_same_state(state, ledger, what);
            None
        }
        (m, c) => panic!(
            "{what}: model {:?}, crate {:?}",
            m.map(|_| "accepted"),
            c.map(|_| "accepted")
        ),
    }
}

fn eight_threads() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .build()
            .expect("thread pool")
    })
}

/// The crate's CPU in-order executor and its wave executor with options that force each
/// of its paths (split waves, chains of segments, a mix), on the block `bytes` from state
/// `before`: the model's receipts and the model's accounts and pools after it.
fn executors_match(
    before: &State,
    bytes: &[u8],
    m: &model::BlockResult,
    ledger: &Ledger,
    what: &str,
) {
    use txwave::internal::exec::waves::{WaveOptions, execute_waves_with};
    let (block, _) = Block::decode(bytes).expect("accepted block");
    let checked: Vec<Option<txwave::Tx>> = block.txs().map(txwave::Tx::decode).collect();
    let sig_ok: Vec<bool> = block
        .txs()
        .zip(&checked)
        .map(|(t, c)| c.is_some() && model::signature_ok(ledger.rule, t))
        .collect();
    let forced = [
        WaveOptions {
            parallel_min: 1,
            chunk_min: 1,
            segment_max: 1,
            group_min_width: 0,
        },
        WaveOptions {
            parallel_min: usize::MAX,
            chunk_min: 1,
            segment_max: 8,
            group_min_width: 0,
        },
        WaveOptions {
            parallel_min: 6,
            chunk_min: 2,
            segment_max: 24,
            group_min_width: 2,
        },
    ];
    for path in 0..=forced.len() {
        let mut s = before.clone();
        let resolved = txwave::internal::resolve::resolve(&mut s, &block, &checked, &sig_ok);
        let results = if path == 0 {
            txwave::internal::exec::cpu::execute_in_order(&mut s, &resolved)
        } else {
            let schedule = txwave::Schedule::build(&resolved, s.account_count());
            // On 8 threads, more than this machine's cores, so chunks interleave.
            eight_threads()
                .install(|| execute_waves_with(&mut s, &resolved, &schedule, forced[path - 1]))
        };
        for (i, (r, mr)) in results.into_iter().zip(&m.receipts).enumerate() {
            let got = resolved.receipt(i, mr.tx_id, r);
            assert_eq!(
                crate_receipt(&got),
                (mr.tx_id, mr.status as u8, mr.amounts),
                "{what}: executor path {path}, receipt {i}"
            );
        }
        assert_same_ledger(&s, ledger, &format!("{what}: executor path {path}"));
    }
}

/// What the random chains exercised: (kind, status code) counts (kind 0: malformed), the
/// largest wave count, accepted and rejected blocks.
#[derive(Default, Debug)]
struct Seen {
    statuses: std::collections::BTreeMap<(u8, u8), usize>,
    max_waves: usize,
    /// Applied transfers of an LP token, applied swaps and routes through a pool that
    /// trades one, and applied routes that end in the token they start with.
    lp_transfers: usize,
    lp_swaps: usize,
    round_trips: usize,
    /// Txs of small-order signers past step 2 (zip215 only); txs of mixed-order signers
    /// past step 2 and rejected there.
    small_order_passed: usize,
    mixed_passed: usize,
    mixed_passed_strict: usize,
    mixed_rejected: usize,
    /// The mixed-order keys of the chains so far.
    mixed_keys: Vec<[u8; 32]>,
    /// Accepted blocks whose execution ran on the GPU.
    executed_on_gpu: usize,
    /// Accepted blocks whose signatures were checked on the GPU.
    verified_on_gpu: usize,
    accepted: usize,
    rejected: usize,
}

impl Seen {
    fn count(&self, kind: u8, status: MStatus) -> usize {
        self.statuses
            .get(&(kind, status as u8))
            .copied()
            .unwrap_or(0)
    }
}

/// Random chains of `blocks` blocks of `txs` txs each, model against the CPU engine.
fn random_chains(dex: bool, seed_base: u64, blocks: usize, txs: usize) -> Seen {
    random_chains_on(&cpu_engine(), cases(), dex, seed_base, blocks, txs)
}

/// Engines on the test adapter (lavapipe where there is no GPU), each built once, when a
/// test first asks for it; `None` without an adapter.
/// `Backend::Gpu` runs every stage there, signature checks included; the `Auto` engine
/// sends tx ids, execution and commit there whatever the block's size, and falls back to
/// the CPU for what the GPU refuses (the liquidity and route kinds, for now).
fn gpu_engine(auto: bool) -> Option<&'static Engine> {
    type Shared = std::sync::OnceLock<Option<Engine>>;
    static GPU: Shared = std::sync::OnceLock::new();
    static AUTO: Shared = std::sync::OnceLock::new();
    let (cell, backend) = if auto {
        (&AUTO, Backend::Auto)
    } else {
        (&GPU, Backend::Gpu)
    };
    cell.get_or_init(|| {
        let ctx = txwave::internal::gpu::test_context()?;
        Some(
            Engine::new(EngineConfig {
                backend,
                adapter: Some(ctx.adapter.name.clone()),
                placement: txwave::Placement {
                    auto_min_hash_batch: 0,
                    ..Default::default()
                },
                ..Default::default()
            })
            .expect("engine on the test adapter"),
        )
    })
    .as_ref()
}

/// [`random_chains`] on any engine, with `chains` chains.
fn random_chains_on(
    engine: &Engine,
    chains: usize,
    dex: bool,
    seed_base: u64,
    blocks: usize,
    txs: usize,
) -> Seen {
    let mut seen = Seen::default();
    for case in 0..chains as u64 {
        let seed = seed_base + case;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let world = random_world(&mut rng, dex, case % 2 == 1);
        seen.mixed_keys.extend(world.mixed.iter().map(|m| m.1));
        let mut ledger = Ledger::from_genesis_json(&world.json).expect("model genesis");
        let mut state = State::from_genesis_json(&world.json).expect("crate genesis");
        assert_same_state(&state, &ledger, &format!("seed {seed}: genesis"));
        let mut log = Vec::new();
        let mut results = Vec::new();
        for b in 0..blocks {
            let what = format!("seed {seed}, block {b}");
            // Now and then a block of 0 to 3 txs (empty roots, odd Merkle levels).
            let n = if rng.gen_range(0..8) == 0 {
                rng.gen_range(0..4)
            } else {
                txs
            };
            let (fc, block_txs) = Gen {
                rng: &mut rng,
                world: &world,
                dex,
            }
            .block(&ledger, n);
            let height = ledger.height + 1;
            let parent = ledger.last_block_hash;
            let plain = model::encode_block(height, &parent, &fc, &[0; 32], &block_txs);
            // Blocks to offer in order, and whether each must be accepted.
            let mut offers: Vec<(Vec<u8>, bool)> = Vec::new();
            match rng.gen_range(0..10) {
                // A claimed root: one bit off (rejected), then the model's (accepted).
                0..=2 => {
                    let mut probe = ledger.clone();
                    let root = probe.apply_block_bytes(&plain).unwrap().0.state_root;
                    let mut wrong = root;
                    wrong[rng.gen_range(0..32)] ^= 1;
                    offers.push((
                        model::encode_block(height, &parent, &fc, &wrong, &block_txs),
                        false,
                    ));
                    offers.push((
                        model::encode_block(height, &parent, &fc, &root, &block_txs),
                        true,
                    ));
                }
                // A broken checksum, a wrong height or parent, then the block itself.
                3 => {
                    let mut broken = plain.clone();
                    let at = rng.gen_range(0..broken.len());
                    broken[at] ^= 1;
                    offers.push((broken, false));
                    let skip = model::encode_block(height + 1, &parent, &fc, &[0; 32], &block_txs);
                    offers.push((skip, false));
                    let mut other_parent = parent;
                    other_parent[0] ^= 1;
                    offers.push((
                        model::encode_block(height, &other_parent, &fc, &[0; 32], &block_txs),
                        false,
                    ));
                    offers.push((plain, true));
                }
                _ => offers.push((plain, true)),
            }
            for (bytes, accept) in offers {
                let r = compare_block(engine, &mut state, &mut ledger, &bytes, &what, &mut seen);
                assert_eq!(r.is_some(), accept, "{what}");
                if let Some(r) = r {
                    log.extend_from_slice(&bytes);
                    results.push(r);
                }
            }
        }
        // The accepted blocks as one log, through the stream (later blocks' signatures
        // and ids ahead of earlier blocks' execution): the same roots block by block.
        let mut replay = State::from_genesis_json(&world.json).expect("crate genesis");
        let mut at = 0;
        let (summary, error) = engine.process_stream_with(
            &mut replay,
            txwave::LogReader::new(&log[..]),
            &txwave::StreamOptions::default(),
            |c, _| {
                let m = &results[at];
                assert_eq!(
                    (c.tx_root, c.receipts_root, c.state_root, c.block_hash),
                    (m.tx_root, m.receipts_root, m.state_root, m.block_hash),
                    "seed {seed}: streamed block {at}"
                );
                at += 1;
                std::ops::ControlFlow::Continue(())
            },
        );
        assert!(error.is_none(), "seed {seed}: {error:?}");
        assert_eq!(summary.blocks, results.len());
        assert_same_state(&replay, &ledger, &format!("seed {seed}: streamed"));
        // The final state as genesis JSON (the shape `txwave inspect --json` shows): the
        // model reads back the same accounts and pools, LP tokens and supplies included,
        // and pools with an LP token carry `lp_token` and `lp_supply`, others neither.
        let json = serde_json::to_string(&state.to_genesis()).unwrap();
        let back = Ledger::from_genesis_json(&json).expect("model reads the crate's genesis");
        assert_eq!(
            (&back.accounts, &back.pools, back.rule, back.tokens),
            (&ledger.accounts, &ledger.pools, ledger.rule, ledger.tokens),
            "seed {seed}: genesis JSON"
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for (p, m) in v["pools"].as_array().unwrap().iter().zip(&ledger.pools) {
            assert_eq!(
                p.get("lp_token").is_some(),
                m.lp.is_some(),
                "seed {seed}: {p}"
            );
            assert_eq!(
                p.get("lp_supply").is_some(),
                m.lp.is_some(),
                "seed {seed}: {p}"
            );
        }
    }
    seen
}

/// Every kind: transfers, swaps, liquidity adds and removes and routes, on genesis states
/// with LP pools (shares held, traded by a pool, first mints pending).
#[test]
fn every_kind_matches_the_model() {
    let seen = random_chains(true, 7000, 6, 64);
    // What the chains reached is asserted at the default size and above.
    if cases() < 8 {
        return;
    }
    assert!(
        seen.lp_transfers > 0 && seen.lp_swaps > 0 && seen.round_trips > 0,
        "{seen:?}"
    );
    use MStatus::*;
    let expect = [
        (
            model::KIND_ADD,
            vec![
                Ok,
                UnknownPool,
                NoLpToken,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
        (
            model::KIND_REMOVE,
            vec![
                Ok,
                UnknownPool,
                NoLpToken,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
        (
            model::KIND_ROUTE,
            vec![
                Ok,
                UnknownPool,
                BadRoute,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
    ];
    for (kind, statuses) in expect {
        for st in statuses {
            assert!(seen.count(kind, st) > 0, "kind {kind} {st:?}: {seen:?}");
        }
    }
}

/// The same chains with every stage on the GPU (on whatever adapter exists; skipped
/// without one), signature checks included: small-order and mixed-order signers, S + ℓ
/// and flipped bits, one strict chain and one zip215 chain at least. Fewer and smaller
/// than on the CPU: lavapipe runs shaders on the CPU.
#[test]
fn transfers_and_swaps_match_the_model_on_the_gpu() {
    let Some(engine) = gpu_engine(false) else {
        return;
    };
    let seen = random_chains_on(engine, cases().div_ceil(16).max(2), false, 3000, 2, 32);
    assert!(
        seen.accepted > 0
            && seen.executed_on_gpu == seen.accepted
            && seen.verified_on_gpu == seen.accepted,
        "{seen:?}"
    );
}

/// Every kind through an `Auto` engine on the test adapter (skipped without one): the
/// stages the GPU does not run for these kinds fall back to the CPU, and the bytes must
/// not change either way.
#[test]
fn every_kind_matches_the_model_on_the_gpu() {
    let Some(engine) = gpu_engine(true) else {
        return;
    };
    let seen = random_chains_on(engine, cases().div_ceil(16), true, 9000, 2, 32);
    assert!(seen.accepted > 0, "{seen:?}");
}

#[test]
fn transfers_and_swaps_match_the_model() {
    let seen = random_chains(false, 1000, 6, 64);
    // What the chains reached is asserted at the default size and above.
    if cases() < 8 {
        return;
    }
    // Every status of the two kinds came up, and so did malformed txs and rejected blocks.
    use MStatus::*;
    for status in [
        Ok,
        BadSignature,
        UnknownSigner,
        BadNonce,
        InsufficientFee,
        UnknownToken,
        InsufficientBalance,
    ] {
        assert!(
            seen.count(model::KIND_TRANSFER, status) > 0,
            "transfer {status:?}: {seen:?}"
        );
    }
    for status in [
        Ok,
        BadSignature,
        UnknownPool,
        InsufficientBalance,
        SlippageExceeded,
    ] {
        assert!(
            seen.count(model::KIND_SWAP, status) > 0,
            "swap {status:?}: {seen:?}"
        );
    }
    assert!(seen.count(0, Malformed) > 0, "{seen:?}");
    assert!(seen.max_waves > 1 && seen.rejected > 0, "{seen:?}");
    // Small-order signers went through under zip215; mixed-order signers both ways.
    assert!(
        seen.small_order_passed > 0
            && seen.mixed_passed > seen.mixed_passed_strict
            && seen.mixed_passed_strict > 0
            && seen.mixed_rejected > 0,
        "{seen:?}"
    );
}

/// Per token, every unit in balances and reserves.
fn supplies(l: &Ledger) -> Vec<u128> {
    let mut s = vec![0u128; l.tokens];
    for a in &l.accounts {
        for (t, x) in a.balances.iter().enumerate() {
            s[t] += *x as u128;
        }
    }
    for p in &l.pools {
        s[p.token_a as usize] += p.reserve_a as u128;
        s[p.token_b as usize] += p.reserve_b as u128;
    }
    s
}

/// The design's invariants on a model ledger: reserves ≥ 1, S² ≤ reserve_a · reserve_b,
/// and every unit of an LP token plus 1000 (when S > 0) equals S.
fn assert_invariants(l: &Ledger, what: &str) {
    let s = supplies(l);
    for (i, p) in l.pools.iter().enumerate() {
        assert!(
            p.reserve_a >= 1 && p.reserve_b >= 1,
            "{what}: pool {i} {p:?}"
        );
        if let Some(lp) = p.lp {
            assert!(
                big(lp.supply) * big(lp.supply) <= big(p.reserve_a) * big(p.reserve_b),
                "{what}: pool {i} {p:?}"
            );
            let locked = if lp.supply > 0 { 1000 } else { 0 };
            assert_eq!(
                s[lp.token as usize] + locked,
                lp.supply as u128,
                "{what}: pool {i} {p:?}"
            );
        }
    }
}

/// Random chains of every kind on the model alone: supplies of the pools' own tokens are
/// conserved, the invariants hold after every block, and every status of every kind
/// comes up.
#[test]
fn dex_chains_on_the_model_keep_the_invariants() {
    let mut seen: std::collections::BTreeMap<(u8, u8), usize> = Default::default();
    for case in 0..cases() as u64 {
        let seed = 5000 + case;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let world = random_world(&mut rng, true, case % 2 == 1);
        let mut ledger = Ledger::from_genesis_json(&world.json).expect("model genesis");
        assert_invariants(&ledger, "genesis");
        let lp_tokens: Vec<usize> = ledger
            .pools
            .iter()
            .filter_map(|p| p.lp.map(|l| l.token as usize))
            .collect();
        let start = supplies(&ledger);
        for b in 0..6 {
            let what = format!("seed {seed}, block {b}");
            let (fc, txs) = Gen {
                rng: &mut rng,
                world: &world,
                dex: true,
            }
            .block(&ledger, 64);
            let bytes = model::encode_block(
                ledger.height + 1,
                &ledger.last_block_hash,
                &fc,
                &[0; 32],
                &txs,
            );
            let (r, _) = ledger.apply_block_bytes(&bytes).expect("accepted");
            assert_invariants(&ledger, &what);
            let now = supplies(&ledger);
            for t in 0..ledger.tokens {
                if !lp_tokens.contains(&t) {
                    assert_eq!(now[t], start[t], "{what}: supply of token {t}");
                }
            }
            for (t, rc) in txs.iter().zip(&r.receipts) {
                let kind = model::decode_tx(t).map_or(0, |d| d.kind);
                *seen.entry((kind, rc.status as u8)).or_default() += 1;
                if rc.status != MStatus::Ok {
                    assert_eq!(rc.amounts, model::zero_amounts(kind), "{what}");
                }
            }
        }
    }
    // What the chains reached is asserted at the default size and above.
    if cases() < 8 {
        return;
    }
    use MStatus::*;
    let expect = [
        (
            model::KIND_ADD,
            vec![
                Ok,
                UnknownPool,
                NoLpToken,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
        (
            model::KIND_REMOVE,
            vec![
                Ok,
                UnknownPool,
                NoLpToken,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
        (
            model::KIND_ROUTE,
            vec![
                Ok,
                UnknownPool,
                BadRoute,
                SlippageExceeded,
                InsufficientBalance,
                InsufficientLiquidity,
            ],
        ),
    ];
    for (kind, statuses) in expect {
        for st in statuses {
            assert!(
                seen.get(&(kind, st as u8)).copied().unwrap_or(0) > 0,
                "kind {kind} {st:?}: {seen:?}"
            );
        }
    }
}

/// The genesis checks of the design: the model and the crate accept and reject the same
/// documents.
#[test]
fn genesis_checks_agree() {
    let pk = |i: u8| hex::encode(model::public_key(&[i; 32]));
    let doc = |tokens: &str, accounts: &str, pools: &str| {
        format!(
            r#"{{"verify_rule": "strict", "tokens": {tokens}, "accounts": [{accounts}], "pools": [{pools}]}}"#
        )
    };
    let acct = |i: u8, balances: &str| {
        format!(
            r#"{{"pubkey": "{}", "nonce": 0, "balances": {balances}}}"#,
            pk(i)
        )
    };
    let pool = |a: u16, b: u16, fee: u16, ra: u64, rb: u64| {
        format!(
            r#"{{"token_a": {a}, "token_b": {b}, "fee_bps": {fee}, "reserve_a": {ra}, "reserve_b": {rb}}}"#
        )
    };
    let max = u64::MAX;
    let docs = vec![
        (doc("2", &acct(1, "[1, 2]"), &pool(0, 1, 30, 5, 5)), true),
        (doc("0", "", ""), false),
        (doc("1", &acct(1, "[1]"), ""), true),
        // One balance per token, no more and no fewer.
        (doc("2", &acct(1, "[1]"), ""), false),
        (doc("2", &acct(1, "[1, 2, 3]"), ""), false),
        (doc("256", "", ""), true),
        (doc("257", "", ""), false),
        (
            doc(
                "2",
                &format!("{}, {}", acct(1, "[1, 2]"), acct(1, "[0, 0]")),
                "",
            ),
            false,
        ),
        (doc("2", "", &pool(0, 0, 30, 5, 5)), false),
        (doc("2", "", &pool(0, 2, 30, 5, 5)), false),
        (doc("2", "", &pool(0, 1, 9999, 5, 5)), true),
        (doc("2", "", &pool(0, 1, 10000, 5, 5)), false),
        (doc("2", "", &pool(0, 1, 30, 0, 5)), false),
        (doc("2", "", &pool(0, 1, 30, 5, 0)), false),
        (
            doc(
                "2",
                &acct(1, &format!("[{}, 0]", max - 5)),
                &pool(0, 1, 30, 5, 5),
            ),
            true,
        ),
        (
            doc(
                "2",
                &acct(1, &format!("[{}, 0]", max - 4)),
                &pool(0, 1, 30, 5, 5),
            ),
            false,
        ),
        (
            doc(
                "2",
                &format!("{}, {}", acct(1, &format!("[{max}, 0]")), acct(2, "[1, 0]")),
                "",
            ),
            false,
        ),
    ];
    for (json, ok) in docs {
        assert_eq!(
            Ledger::from_genesis_json(&json).is_ok(),
            ok,
            "model on {json}"
        );
        assert_eq!(
            State::from_genesis_json(&json).is_ok(),
            ok,
            "crate on {json}"
        );
    }
}

/// The LP genesis checks of "Pools with LP shares" on the model: each document and whether
/// the design accepts it.
fn lp_genesis_docs() -> Vec<(String, bool)> {
    let pk = |i: u8| hex::encode(model::public_key(&[i; 32]));
    let doc = |balances: &str, pools: &str| {
        format!(
            r#"{{"verify_rule": "strict", "tokens": 4,
                "accounts": [{{"pubkey": "{}", "nonce": 0, "balances": {balances}}}],
                "pools": [{pools}]}}"#,
            pk(1)
        )
    };
    let p = |a: u16, b: u16, ra: u64, rb: u64, lp: &str| {
        format!(
            r#"{{"token_a": {a}, "token_b": {b}, "fee_bps": 30, "reserve_a": {ra}, "reserve_b": {rb}{lp}}}"#
        )
    };
    vec![
        // S = 0, no shares anywhere; lp_supply omitted or 0.
        (
            doc("[0, 0, 0, 0]", &p(0, 1, 1, 4, r#", "lp_token": 3"#)),
            true,
        ),
        (
            doc(
                "[0, 0, 0, 0]",
                &p(0, 1, 1, 4, r#", "lp_token": 3, "lp_supply": 0"#),
            ),
            true,
        ),
        // lp_supply without lp_token.
        (
            doc("[0, 0, 0, 0]", &p(0, 1, 1, 4, r#", "lp_supply": 0"#)),
            false,
        ),
        // T = 0, T ≥ tokens, T one of the pool's tokens.
        (
            doc("[0, 0, 0, 0]", &p(1, 2, 1, 4, r#", "lp_token": 0"#)),
            false,
        ),
        (
            doc("[0, 0, 0, 0]", &p(0, 1, 1, 4, r#", "lp_token": 4"#)),
            false,
        ),
        (
            doc("[0, 0, 0, 0]", &p(0, 1, 1, 4, r#", "lp_token": 1"#)),
            false,
        ),
        // Two pools share an LP token.
        (
            doc(
                "[0, 0, 0, 0]",
                &format!(
                    "{}, {}",
                    p(0, 1, 1, 4, r#", "lp_token": 3"#),
                    p(1, 2, 1, 4, r#", "lp_token": 3"#)
                ),
            ),
            false,
        ),
        // S = 2000 over 2000·2000, with 1000 units held: exact.
        (
            doc(
                "[0, 0, 0, 1000]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 2000"#),
            ),
            true,
        ),
        // Units one off either way.
        (
            doc(
                "[0, 0, 0, 999]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 2000"#),
            ),
            false,
        ),
        (
            doc(
                "[0, 0, 0, 1001]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 2000"#),
            ),
            false,
        ),
        // 0 < S < 1000; S = 1000 with no units; S² above the product.
        (
            doc(
                "[0, 0, 0, 0]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 999"#),
            ),
            false,
        ),
        (
            doc(
                "[0, 0, 0, 0]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 1000"#),
            ),
            true,
        ),
        (
            doc(
                "[0, 0, 0, 1001]",
                &p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 2001"#),
            ),
            false,
        ),
        // S = 0 with units of T held, or traded by a pool.
        (
            doc("[0, 0, 0, 1]", &p(0, 1, 1, 4, r#", "lp_token": 3"#)),
            false,
        ),
        (
            doc(
                "[0, 0, 0, 0]",
                &format!(
                    "{}, {}",
                    p(0, 1, 1, 4, r#", "lp_token": 3"#),
                    p(2, 3, 5, 5, "")
                ),
            ),
            false,
        ),
        // A pool trading T's units counts them: 600 held + 400 in a reserve + 1000.
        (
            doc(
                "[0, 0, 0, 600]",
                &format!(
                    "{}, {}",
                    p(0, 1, 2000, 2000, r#", "lp_token": 3, "lp_supply": 2000"#),
                    p(2, 3, 5, 400, "")
                ),
            ),
            true,
        ),
    ]
}

#[test]
fn lp_genesis_checks_agree() {
    for (json, ok) in lp_genesis_docs() {
        assert_eq!(
            Ledger::from_genesis_json(&json).is_ok(),
            ok,
            "model on {json}"
        );
        assert_eq!(
            State::from_genesis_json(&json).is_ok(),
            ok,
            "crate on {json}"
        );
        if let (Ok(m), Ok(c)) = (
            Ledger::from_genesis_json(&json),
            State::from_genesis_json(&json),
        ) {
            assert_same_state(&c, &m, &json);
        }
    }
}

/// A block of the design's edge cases, each with the status worked out by hand from the
/// tables; the model must give those statuses (and, with `crate_too`, the crate the same
/// bytes as the model).
fn directed_edges(crate_too: bool) {
    let (alice, bob) = ([11u8; 32], [12u8; 32]);
    let big_r = 1u64 << 62;
    // Tokens 0, 1, 2 and LP token 3 of pool 0. Pool 0 (0,1) starts at 1:4 with no shares;
    // pool 1 (1,2) has a huge input reserve; pool 2 (2,0) has no LP token.
    let json = format!(
        r#"{{"verify_rule": "strict", "tokens": 4,
            "accounts": [{{"pubkey": "{}", "nonce": 0, "balances": [{}, {}, 1000000, 0]}},
                         {{"pubkey": "{}", "nonce": 0, "balances": [1000, 0, 0, 0]}}],
            "pools": [{{"token_a": 0, "token_b": 1, "fee_bps": 30, "reserve_a": 1, "reserve_b": 4, "lp_token": 3}},
                      {{"token_a": 1, "token_b": 2, "fee_bps": 30, "reserve_a": {big_r}, "reserve_b": 10}},
                      {{"token_a": 2, "token_b": 0, "fee_bps": 9999, "reserve_a": 1000, "reserve_b": 1000}},
                      {{"token_a": 2, "token_b": 0, "fee_bps": 0, "reserve_a": 1000, "reserve_b": 1000}}]}}"#,
        hex::encode(model::public_key(&alice)),
        u64::MAX / 2,
        u64::MAX / 4,
        hex::encode(model::public_key(&bob)),
    );
    let mut nonces: std::collections::HashMap<[u8; 32], u64> = Default::default();
    let mut txs = Vec::new();
    let mut expected = Vec::new();
    let mut push = |seed: [u8; 32], action: Action, status: MStatus| {
        let n = nonces.entry(seed).or_insert(0);
        txs.push(model::signed_tx(&seed, *n, 1, &action));
        // A malformed tx stops at step 1 and takes no nonce.
        if status != MStatus::Malformed {
            *n += 1;
        }
        expected.push(status);
    };
    let add = |pool, a, b| Action::Add {
        pool,
        a_desired: a,
        b_desired: b,
        a_min: 0,
        b_min: 0,
    };
    let remove = |liquidity| Action::Remove {
        pool: 0,
        liquidity,
        a_min: 0,
        b_min: 0,
    };
    let route = |exact_out, token_in, amount, limit, pools: Vec<u32>| Action::Route {
        exact_out,
        token_in,
        amount,
        limit,
        pools,
    };
    use MStatus::*;
    // First mints at 1:4: A = 500 quotes B = 2000, isqrt(10^6) = 1000: nothing to mint.
    push(alice, add(0, 500, u64::MAX), InsufficientLiquidity);
    // A = 501, B = 2004, isqrt = 1002: 2 shares; S = 1002, reserves 502 / 2008.
    push(alice, add(0, 501, u64::MAX), Ok);
    // No LP token; unknown pools.
    push(alice, add(2, 5, 5), NoLpToken);
    push(alice, add(4, 5, 5), UnknownPool);
    push(alice, add(u32::MAX, 5, 5), UnknownPool);
    // Desired amounts of 0: quote 0 ≤ 0, then no shares.
    push(alice, add(0, 0, 0), InsufficientLiquidity);
    // Slippage on the adjusted side only: b_opt = ⌊10·2008/502⌋ = 40 < b_min 41.
    push(
        alice,
        Action::Add {
            pool: 0,
            a_desired: 10,
            b_desired: 100,
            a_min: u64::MAX,
            b_min: 41,
        },
        SlippageExceeded,
    );
    // Burns that round to 0: ⌊1·502/1002⌋ = 0.
    push(alice, remove(1), InsufficientLiquidity);
    push(alice, remove(0), InsufficientLiquidity);
    // More shares than held.
    push(alice, remove(3), InsufficientBalance);
    // LP shares are ordinary balances: Alice gives Bob 1 of her 2 shares.
    push(
        alice,
        Action::Transfer {
            to: model::public_key(&bob),
            token: 3,
            amount: 1,
        },
        Ok,
    );
    // Bob cannot burn 2, can burn... 1 rounds to 0.
    push(bob, remove(2), InsufficientBalance);
    push(bob, remove(1), InsufficientLiquidity);
    // Routes: exact out of 9 of token 2 through pool 1 costs ⌊2^62·9·10000/(1·9970)⌋ + 1,
    // above 2^64: never covered.
    push(
        alice,
        route(true, 1, 9, u64::MAX, vec![1]),
        InsufficientBalance,
    );
    // Exact out of the whole reserve, and of the reserve − 1 of a 1000/1000 pool at fee
    // 9999: in = ⌊1000·999·10000/(1·1)⌋ + 1 = 9990000001, above Alice's 10^6 of token 2;
    // the balance is checked before the limit.
    push(
        alice,
        route(true, 2, 1000, u64::MAX, vec![2]),
        InsufficientLiquidity,
    );
    push(
        alice,
        route(true, 2, 999, 1_000_000_000, vec![2]),
        InsufficientBalance,
    );
    // 1 of token 1 out of pool 0 (502 / 2008) costs ⌊502·10000/(2007·9970)⌋ + 1 = 1 > 0.
    push(alice, route(true, 0, 1, 0, vec![0]), SlippageExceeded);
    // Bad routes: LP token 3 no pool trades, a token ≥ tokens, a chain that breaks.
    push(alice, route(false, 3, 1, 0, vec![0]), BadRoute);
    push(alice, route(false, 4, 1, 0, vec![0]), BadRoute);
    push(alice, route(false, u16::MAX, 1, 0, vec![0]), BadRoute);
    push(alice, route(false, 0, 1, 0, vec![0, 2]), BadRoute);
    // An unknown pool decides before the chain.
    push(alice, route(false, 3, 1, 0, vec![0, 7]), UnknownPool);
    // A route that ends in its starting token: 0 → 1 → 2 → 0.
    push(alice, route(false, 0, 1000, 0, vec![0, 1, 2]), Ok);
    // Exact out over two hops, priced from the last hop back. 8 of token 0 out of pool 3
    // (1000 / 1000, no fee) needs x_1 = ⌊1000·8·10000/(992·10000)⌋ + 1 = 9 of token 2,
    // below pool 1's 10; that costs x_0 = ⌊2^62·9·10000/(1·9970)⌋ + 1 ≥ 2^64 of token 1:
    // never covered.
    push(
        alice,
        route(true, 1, 8, u64::MAX, vec![1, 3]),
        InsufficientBalance,
    );
    // 9 of token 2 out of pool 1 costs more than 2^64 of token 1, far above what pool 0
    // (0 → 1) holds: the intermediate amount fails first.
    push(
        alice,
        route(true, 0, 9, u64::MAX, vec![0, 1]),
        InsufficientLiquidity,
    );
    // 1 of token 2 out of pool 1 costs ⌊2^62·10000/(9·9970)⌋ + 1 ≈ 5·10^17 of token 1,
    // also above pool 0's reserve of token 1.
    push(
        alice,
        route(true, 0, 1, u64::MAX, vec![0, 1]),
        InsufficientLiquidity,
    );
    // Exact in where the middle hop gives 0: 1 of token 0 into pool 3 backwards (0 → 2)
    // gives ⌊1·1000/1001⌋ = 0, then 0 through pool 1 (2 → 1) gives 0: ok, limit 0.
    push(alice, route(false, 0, 1, 0, vec![3, 1]), Ok);
    // Malformed routes: amount 0, repeated pool, 5 hops, no hops.
    push(alice, route(false, 0, 0, 0, vec![0]), Malformed);
    push(alice, route(false, 0, 1, 0, vec![0, 0]), Malformed);
    push(alice, route(false, 0, 1, 0, vec![0, 1, 2, 3, 4]), Malformed);
    push(alice, route(false, 0, 1, 0, vec![]), Malformed);
    // Swaps at the u64 edge.
    push(
        alice,
        Action::Swap {
            pool: 0,
            b_to_a: false,
            amount_in: u64::MAX,
            min_out: 0,
        },
        InsufficientBalance,
    );
    push(
        alice,
        Action::Swap {
            pool: 2,
            b_to_a: true,
            amount_in: 0,
            min_out: 0,
        },
        Ok,
    );
    let fc = model::public_key(&[13u8; 32]);
    let mut ledger = Ledger::from_genesis_json(&json).expect("model genesis");
    let bytes = model::encode_block(1, &[0; 32], &fc, &[0; 32], &txs);
    let mut probe = ledger.clone();
    let (r, _) = probe.apply_block_bytes(&bytes).expect("accepted");
    let statuses: Vec<MStatus> = r.receipts.iter().map(|x| x.status).collect();
    assert_eq!(statuses, expected);
    if crate_too {
        let mut state = State::from_genesis_json(&json).expect("crate genesis");
        let mut seen = Seen::default();
        let accepted = compare_block(
            &cpu_engine(),
            &mut state,
            &mut ledger,
            &bytes,
            "directed edges",
            &mut seen,
        );
        assert!(accepted.is_some());
    }
}

#[test]
fn directed_edges_on_the_model() {
    directed_edges(false);
}

#[test]
fn directed_edges_match_the_crate() {
    directed_edges(true);
}

/// The crate's wide arithmetic (`txwave::internal::exec::{swap_out, amount_in, quote,
/// mint_shares, burn_amounts}`, exact in u128) against the model's arbitrary-precision
/// formulas, on the u64 edges and random values of every width.
#[test]
fn crate_arithmetic_matches_the_model() {
    use txwave::internal::exec;
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let edges = [
        0u64,
        1,
        2,
        3,
        999,
        1000,
        1001,
        9999,
        10_000,
        1 << 32,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ];
    let value = |rng: &mut ChaCha8Rng| -> u64 {
        match rng.gen_range(0..4) {
            0 => edges[rng.gen_range(0..edges.len())],
            1 => rng.gen_range(0..2000),
            2 => rng.r#gen::<u64>() >> rng.gen_range(0..64),
            _ => rng.r#gen(),
        }
    };
    let fits = |x: BigUint| u64::try_from(&x).ok();
    let n = 20_000 * cases();
    for _ in 0..n {
        let (x, y, r1, r2) = (
            value(&mut rng),
            value(&mut rng),
            value(&mut rng).max(1),
            value(&mut rng).max(1),
        );
        let fee = [0u16, 1, 30, 9999][rng.gen_range(0..4)];
        // out
        assert_eq!(
            big(exec::swap_out(x, r1, r2, fee)),
            model::amount_out(&big(x), r1, r2, fee),
            "out({x}, {r1}, {r2}, {fee})"
        );
        // in, for y < r_out: None exactly when the model's value is 2^64 or more.
        if y < r2 {
            let m = model::amount_in(&big(y), r1, r2, fee).unwrap();
            assert_eq!(
                exec::amount_in(y, r1, r2, fee),
                fits(m),
                "in({y}, {r1}, {r2}, {fee})"
            );
        }
        // quote
        assert_eq!(
            exec::quote(x, r1, r2),
            fits(model::quote(&big(x), r1, r2)),
            "quote({x}, {r1}, {r2})"
        );
        // burn, for liquidity ≤ s
        let s = value(&mut rng);
        if x <= s {
            let m = if s == 0 {
                (0, 0)
            } else {
                (
                    fits(big(x) * big(r1) / big(s)).unwrap(),
                    fits(big(x) * big(r2) / big(s)).unwrap(),
                )
            };
            assert_eq!(
                exec::burn_amounts(x, r1, r2, s),
                m,
                "burn({x}, {r1}, {r2}, {s})"
            );
        }
        // mint, on pools that keep S² ≤ r_a·r_b, with amounts the supply bound allows
        // (reserve + amount < 2^64, so the new supply fits: S'² ≤ r_a'·r_b')
        let supply_ok = x.checked_add(r1).is_some() && y.checked_add(r2).is_some();
        if supply_ok && big(s) * big(s) <= big(r1) * big(r2) && (s == 0 || s >= 1000) {
            let m = if s == 0 {
                let root = model::isqrt(&(big(x) * big(y)));
                (root > big(1000)).then(|| (fits(&root - big(1000)).unwrap(), fits(root).unwrap()))
            } else {
                let l = (big(x) * big(s) / big(r1)).min(big(y) * big(s) / big(r2));
                (l > big(0)).then(|| {
                    let total = big(s) + &l;
                    (fits(l).unwrap(), fits(total).unwrap())
                })
            };
            assert_eq!(
                exec::mint_shares(x, y, r1, r2, s),
                m,
                "mint({x}, {y}, {r1}, {r2}, {s})"
            );
        }
    }
}

/// `txwave::Tx::decode` against the model's decoder on every kind, well formed and
/// mutated (kind, direction, mode and hops bytes, lengths, pool ids, amounts): the same
/// verdict, the same kind, and the crate's encoding of what it decoded gives back the bytes.
#[test]
fn tx_decoding_agrees() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let world = random_world(&mut rng, true, false);
    let ledger = Ledger::from_genesis_json(&world.json).expect("model genesis");
    let fc = [5u8; 32];
    let mut decoded = 0;
    for _ in 0..400 * cases() {
        let mut t = Gen {
            rng: &mut rng,
            world: &world,
            dex: true,
        }
        .tx(&ledger, &fc);
        match rng.gen_range(0..8) {
            0 if t.len() > 64 => t[64] = rng.gen_range(0..8),
            1 if t.len() > model::COMMON_LEN => {
                // The first body byte: a swap's pool, a route's mode.
                let at = rng.gen_range(model::COMMON_LEN..t.len());
                t[at] = rng.r#gen();
            }
            2 if t.len() >= model::ROUTE_BASE_LEN => {
                // A route's hops byte, with or without the length it names.
                t[132] = rng.gen_range(0..7);
                if rng.r#gen() {
                    t.resize(model::ROUTE_BASE_LEN + 4 * t[132] as usize, 0);
                }
            }
            3 => {
                let len = rng.gen_range(0..=t.len() + 8);
                t.resize(len, rng.r#gen());
            }
            _ => {}
        }
        let ours = txwave::Tx::decode(&t);
        let model = model::decode_tx(&t);
        assert_eq!(
            ours.is_some(),
            model.is_some(),
            "{}: {model:?}",
            hex::encode(&t)
        );
        if let (Some(tx), Some(m)) = (ours, model) {
            decoded += 1;
            assert_eq!(tx.encode(), t, "{m:?}");
            assert_eq!(t[64], m.kind);
        }
    }
    assert!(decoded > 0);
}

/// Where the checksum of a block starting at `b[0]` lies, from its declared tx count and
/// tx lengths, if the bytes reach that far.
fn checksum_at(b: &[u8]) -> Option<usize> {
    let count = u32::from_le_bytes(b.get(112..116)?.try_into().unwrap()) as usize;
    let mut at = model::HEADER_LEN;
    for _ in 0..count {
        let len = u16::from_le_bytes(b.get(at..at + 2)?.try_into().unwrap()) as usize;
        at += 2 + len;
    }
    (b.len() >= at + 32).then_some(at)
}

/// `txwave::Block::decode` against the model's block decoder on blocks with mutated
/// structure (tx count, tx lengths, truncation, trailing bytes, magic), the checksum
/// rewritten where the declared structure puts it: the same verdict and the same bytes
/// consumed, and on success the same header fields and txs.
#[test]
fn block_decoding_agrees() {
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    let world = random_world(&mut rng, true, true);
    let ledger = Ledger::from_genesis_json(&world.json).expect("model genesis");
    let (mut ok, mut err) = (0, 0);
    for _ in 0..50 * cases() {
        let n = rng.gen_range(0..6);
        let (fc, txs) = Gen {
            rng: &mut rng,
            world: &world,
            dex: true,
        }
        .block(&ledger, n);
        let mut b = model::encode_block(rng.r#gen(), &rng.r#gen(), &fc, &rng.r#gen(), &txs);
        b.truncate(b.len() - 32);
        match rng.gen_range(0..7) {
            0 => {
                let c = u32::from_le_bytes(b[112..116].try_into().unwrap());
                let c = c.wrapping_add(rng.gen_range(0..3)).wrapping_sub(1);
                b[112..116].copy_from_slice(&c.to_le_bytes());
            }
            1 if n > 0 => {
                // A tx length field one off, or anything.
                let at = model::HEADER_LEN;
                let len = u16::from_le_bytes(b[at..at + 2].try_into().unwrap());
                let len = if rng.r#gen() {
                    len.wrapping_add(1)
                } else {
                    rng.r#gen()
                };
                b[at..at + 2].copy_from_slice(&len.to_le_bytes());
            }
            2 => b[rng.gen_range(0..8)] ^= 1 << rng.gen_range(0..8),
            _ => {}
        }
        b.resize(b.len() + 32, 0);
        if let Some(at) = checksum_at(&b) {
            let sum = *blake3::hash(&b[..at]).as_bytes();
            b[at..at + 32].copy_from_slice(&sum);
        }
        match rng.gen_range(0..4) {
            0 => b.truncate(rng.gen_range(0..=b.len())),
            1 => b.extend((0..rng.gen_range(1..40)).map(|_| rng.r#gen::<u8>())),
            _ => {}
        }
        let ours = Block::decode(&b);
        let model = model::decode_block(&b);
        match (ours, model) {
            (Ok((block, used)), Ok((m, m_used))) => {
                ok += 1;
                assert_eq!(used, m_used);
                assert_eq!(
                    (
                        block.height,
                        block.parent_hash,
                        block.fee_collector,
                        block.claimed_state_root
                    ),
                    (m.height, m.parent, m.fee_collector, m.claimed_root)
                );
                let txs: Vec<&[u8]> = block.txs().collect();
                assert_eq!(txs, m.txs.iter().map(|t| &t[..]).collect::<Vec<_>>());
            }
            (Err(_), Err(_)) => err += 1,
            (o, m) => panic!(
                "crate {:?}, model {:?} on {}",
                o.map(|x| x.1),
                m.map(|x| x.1),
                hex::encode(&b)
            ),
        }
    }
    assert!(ok > 0 && err > 0, "{ok} {err}");
}

/// Random genesis documents with one number nudged (a reserve, an LP supply, an LP token,
/// a balance, a fee, a pool token, the token count), or an LP field dropped or added: the
/// model and the crate accept and reject the same ones, and agree on the roots of those
/// they accept.
#[test]
fn genesis_mutations_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..20 * cases() {
        let world = random_world(&mut rng, true, case % 2 == 0);
        let mut v: serde_json::Value = serde_json::from_str(&world.json).unwrap();
        let pools = v["pools"].as_array().unwrap().len();
        let accounts = v["accounts"].as_array().unwrap().len();
        let p = rng.gen_range(0..pools);
        let nudge = |x: &serde_json::Value, rng: &mut ChaCha8Rng| -> serde_json::Value {
            let x = x.as_u64().unwrap_or(0);
            serde_json::json!(match rng.gen_range(0..4) {
                0 => x.wrapping_add(1),
                1 => x.wrapping_sub(1),
                2 => x.saturating_add(1000),
                _ => rng.gen_range(0..10),
            })
        };
        match rng.gen_range(0..9) {
            0 => {
                let f = ["reserve_a", "reserve_b"][rng.gen_range(0..2)];
                v["pools"][p][f] = nudge(&v["pools"][p][f], &mut rng);
            }
            1 => v["pools"][p]["lp_supply"] = nudge(&v["pools"][p]["lp_supply"], &mut rng),
            2 => v["pools"][p]["lp_token"] = nudge(&v["pools"][p]["lp_token"], &mut rng),
            3 => {
                let obj = v["pools"][p].as_object_mut().unwrap();
                let f = ["lp_token", "lp_supply"][rng.gen_range(0..2)];
                obj.remove(f);
            }
            4 => {
                let a = rng.gen_range(0..accounts);
                let t = rng.gen_range(0..8);
                v["accounts"][a]["balances"][t] = nudge(&v["accounts"][a]["balances"][t], &mut rng);
            }
            5 => {
                v["pools"][p]["fee_bps"] = serde_json::json!([9999, 10000, 0][rng.gen_range(0..3)])
            }
            6 => {
                let f = ["token_a", "token_b"][rng.gen_range(0..2)];
                v["pools"][p][f] = nudge(&v["pools"][p][f], &mut rng);
            }
            7 => v["tokens"] = serde_json::json!([7, 8, 9, 256][rng.gen_range(0..4)]),
            _ => {}
        }
        let json = v.to_string();
        let m = Ledger::from_genesis_json(&json);
        let c = State::from_genesis_json(&json);
        match (&m, &c) {
            (Ok(m), Ok(c)) => {
                accepted += 1;
                assert_same_state(c, m, &json);
            }
            (Err(_), Err(_)) => rejected += 1,
            _ => panic!(
                "model {:?}, crate {:?} on {json}",
                m.as_ref().map(|_| "accepted"),
                c.as_ref().map(|_| "accepted")
            ),
        }
    }
    assert!(accepted > 0 && rejected > 0, "{accepted} {rejected}");
}
