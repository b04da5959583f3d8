//! The generator's DEX workloads: LP pools, liquidity adds and removes, and routes whose
//! blocks the CPU engine replays to the claimed roots, with the hop counts and the pool
//! contention that were asked for; and the older options still give the shipped bytes.

mod common;

use std::collections::BTreeMap;

use txwave::internal::tx::{Action, MAX_HOPS, RouteMode, Tx};
use txwave::internal::workload::{DEFAULT_HOP_WEIGHTS, GenConfig, Generated, generate};
use txwave::{State, Status};

/// The DEX preset on a small chain.
fn dex(accounts: usize, blocks: usize, txs: usize, seed: u64) -> GenConfig {
    GenConfig {
        account_skew: 0.8,
        ..GenConfig::sized(accounts, 16, blocks, txs, seed)
    }
    .dex()
}

/// Every decodable tx of the dataset.
fn txs(g: &Generated) -> Vec<Tx> {
    g.blocks
        .iter()
        .flat_map(|b| b.txs().filter_map(Tx::decode).collect::<Vec<_>>())
        .collect()
}

/// The pools a tx names.
fn pools_of(tx: &Tx) -> Vec<u32> {
    match &tx.action {
        Action::Transfer(_) => Vec::new(),
        Action::Swap(s) => vec![s.pool],
        Action::AddLiquidity(a) => vec![a.pool],
        Action::RemoveLiquidity(r) => vec![r.pool],
        Action::Route(r) => r.pools().to_vec(),
    }
}

/// Share of the pool-touching txs that touch the hottest pool, and share that touch at
/// least one of the five hottest.
fn contention(txs: &[Tx]) -> (f64, f64) {
    let touching: Vec<Vec<u32>> = txs.iter().map(pools_of).filter(|p| !p.is_empty()).collect();
    let mut per_pool: BTreeMap<u32, usize> = BTreeMap::new();
    for pools in &touching {
        for p in pools {
            *per_pool.entry(*p).or_default() += 1;
        }
    }
    let mut ranked: Vec<(u32, usize)> = per_pool.into_iter().collect();
    ranked.sort_by_key(|&(p, n)| (std::cmp::Reverse(n), p));
    let top: Vec<u32> = ranked.iter().take(5).map(|&(p, _)| p).collect();
    let n = touching.len() as f64;
    let hottest = ranked[0].1 as f64 / n;
    let top_five = touching
        .iter()
        .filter(|pools| pools.iter().any(|p| top.contains(p)))
        .count() as f64
        / n;
    (hottest, top_five)
}

#[test]
fn dex_blocks_replay_through_the_cpu_engine_to_the_claimed_roots() {
    let cfg = dex(300, 3, 600, 7);
    let g = generate(&cfg, |_, _| {}).unwrap();
    // The genesis passed every LP check of State::from_genesis inside generate; the pools
    // all have LP tokens after the tradeable tokens, with shares in existence.
    assert_eq!(g.genesis.tokens as usize, cfg.tokens + cfg.pools);
    for (i, p) in g.genesis.pools.iter().enumerate() {
        assert_eq!(p.lp_token, Some((cfg.tokens + i) as u16));
        assert!(p.lp_supply.unwrap() >= 1000);
    }
    let engine = common::cpu_engine();
    let mut state = State::from_genesis(&g.genesis).unwrap();
    let mut ok_by_kind: BTreeMap<u8, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<Status, usize> = BTreeMap::new();
    for block in &g.blocks {
        let claimed = block.claimed_root().expect("every block claims a root");
        // process_block rejects a block whose computed root differs from its claim.
        let out = engine.process_block(&mut state, block).unwrap();
        assert_eq!(out.state_root, claimed);
        for (bytes, r) in block.txs().zip(&out.receipts) {
            *statuses.entry(r.status).or_default() += 1;
            if r.status == Status::Ok {
                let kind = Tx::decode(bytes).unwrap().action.kind();
                *ok_by_kind.entry(kind).or_default() += 1;
            }
        }
    }
    assert_eq!(state, g.final_state);
    // Every kind goes through, and most txs succeed: failures come from the failure
    // shares only.
    for kind in 1..=5u8 {
        assert!(
            ok_by_kind.get(&kind).copied().unwrap_or(0) > 0,
            "no ok receipt of kind {kind}: {ok_by_kind:?}"
        );
    }
    let total: usize = statuses.values().sum();
    let ok = statuses[&Status::Ok] as f64 / total as f64;
    assert!(ok > 0.9, "only {ok} ok: {statuses:?}");
    for s in [
        Status::BadRoute,
        Status::SlippageExceeded,
        Status::InsufficientBalance,
    ] {
        assert!(statuses.contains_key(&s), "no {s:?}: {statuses:?}");
    }
    assert!(
        !statuses.contains_key(&Status::InsufficientLiquidity),
        "liquidity amounts fit the pools: {statuses:?}"
    );
    // Generation is deterministic.
    let again = generate(&cfg, |_, _| {}).unwrap();
    assert_eq!(g.block_log(), again.block_log());
    assert_eq!(g.genesis_json(), again.genesis_json());
}

#[test]
fn hop_kind_and_contention_shares_match_what_was_asked() {
    let cfg = dex(2000, 1, 30_000, 11);
    let g = generate(&cfg, |_, _| {}).unwrap();
    let txs = txs(&g);
    let n = txs.len() as f64;
    // Kind shares (of the decodable txs; malformed ones are about 0.5 %).
    let share = |kind: u8| txs.iter().filter(|t| t.action.kind() == kind).count() as f64 / n;
    for (kind, want) in [
        (2, cfg.swap_share),
        (3, cfg.add_liquidity_share),
        (4, cfg.remove_liquidity_share),
        (5, cfg.route_share),
    ] {
        let got = share(kind);
        assert!((got - want).abs() < 0.015, "kind {kind}: {got} vs {want}");
    }
    // Hop counts against the default weights, renormalised.
    let routes: Vec<_> = txs
        .iter()
        .filter_map(|t| match t.action {
            Action::Route(r) => Some(r),
            _ => None,
        })
        .collect();
    let total: f64 = DEFAULT_HOP_WEIGHTS.iter().sum();
    for (h, tolerance) in [(1, 0.02), (2, 0.02), (3, 0.008), (4, 0.003)] {
        let got =
            routes.iter().filter(|r| r.pools().len() == h).count() as f64 / routes.len() as f64;
        let want = DEFAULT_HOP_WEIGHTS[h - 1] / total;
        assert!((got - want).abs() < tolerance, "{h} hops: {got} vs {want}");
    }
    let exact_out = routes
        .iter()
        .filter(|r| r.mode == RouteMode::ExactOut)
        .count() as f64
        / routes.len() as f64;
    // Routes drawn into the insufficient-balance share are exact in.
    assert!(
        (exact_out - cfg.exact_out_share).abs() < 0.02,
        "{exact_out}"
    );
    // The contention of a busy DEX: hottest pool ≈ 30 %, five hottest ≈ 50 %.
    let (hottest, top_five) = contention(&txs);
    eprintln!("hottest pool {hottest}, five hottest {top_five}");
    assert!((hottest - 0.30).abs() < 0.03, "hottest pool {hottest}");
    assert!((top_five - 0.50).abs() < 0.04, "five hottest {top_five}");
}

#[test]
fn explicit_pool_weights_and_hop_weights_are_followed() {
    // Swaps only: each pool's share of the swaps is its weight.
    let cfg = GenConfig {
        pool_weights: vec![0.5, 0.1],
        swap_share: 1.0,
        ..GenConfig::sized(500, 8, 1, 20_000, 3)
    };
    let g = generate(&cfg, |_, _| {}).unwrap();
    let txs = txs(&g);
    let on =
        |pool: u32| txs.iter().filter(|t| pools_of(t) == [pool]).count() as f64 / txs.len() as f64;
    assert!((on(0) - 0.5).abs() < 0.02, "{}", on(0));
    assert!((on(1) - 0.1).abs() < 0.01, "{}", on(1));
    // The six others share the remaining 40 % evenly.
    for p in 2..8 {
        assert!((on(p) - 0.4 / 6.0).abs() < 0.01, "pool {p}: {}", on(p));
    }
    // Four hops only: on 8 tokens and 16 pools a route never ends early, and every
    // route that was not made to fail chains.
    let cfg = GenConfig {
        route_share: 1.0,
        swap_share: 0.0,
        hop_weights: [0.0, 0.0, 0.0, 1.0],
        ..GenConfig::sized(200, 16, 1, 2_000, 5)
    };
    let g = generate(&cfg, |_, _| {}).unwrap();
    let mut state = State::from_genesis(&g.genesis).unwrap();
    let out = common::cpu_engine()
        .process_block(&mut state, &g.blocks[0])
        .unwrap();
    let mut routes = 0;
    for (bytes, r) in g.blocks[0].txs().zip(&out.receipts) {
        let Some(tx) = Tx::decode(bytes) else {
            continue;
        };
        let Action::Route(route) = tx.action else {
            panic!("a route share of 1 makes routes only")
        };
        assert_eq!(route.pools().len(), MAX_HOPS);
        assert_ne!(r.status, Status::BadRoute);
        routes += 1;
    }
    assert!(routes > 1900);
}

#[test]
fn older_options_regenerate_defi_small_byte_for_byte() {
    // datasets/defi-small/README.md's command: the DEX options at their defaults.
    let cfg = GenConfig {
        account_skew: 0.8,
        pool_skew: 0.8,
        ..GenConfig::sized(2000, 16, 4, 2500, 1)
    };
    let g = generate(&cfg, |_, _| {}).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/defi-small");
    let shipped_genesis = std::fs::read(dir.join("genesis.json")).unwrap();
    let shipped_blocks = std::fs::read(dir.join("blocks.blk")).unwrap();
    assert_eq!(
        blake3::hash(g.genesis_json().as_bytes()),
        blake3::hash(&shipped_genesis)
    );
    assert_eq!(blake3::hash(&g.block_log()), blake3::hash(&shipped_blocks));
    assert_eq!(
        hex::encode(g.final_state.state_root()),
        "f00d351de0987dc66b68d3503ca711bdd74f6afb54aa9b51c32a35d95986f820"
    );
}

#[test]
fn bad_dex_configs_are_errors() {
    let base = GenConfig::sized(50, 4, 1, 10, 1);
    for bad in [
        // Liquidity txs without LP pools.
        GenConfig {
            add_liquidity_share: 0.1,
            ..base.clone()
        },
        GenConfig {
            remove_liquidity_share: 0.1,
            ..base.clone()
        },
        // More LP pools than pools.
        GenConfig {
            lp_pools: 5,
            ..base.clone()
        },
        // Kind shares above 1.
        GenConfig {
            route_share: 0.7,
            ..base.clone()
        },
        // Routes without pools.
        GenConfig {
            pools: 0,
            swap_share: 0.0,
            route_share: 0.1,
            ..base.clone()
        },
        GenConfig {
            hop_weights: [0.0; MAX_HOPS],
            ..base.clone()
        },
        GenConfig {
            pool_weights: vec![0.7, 0.7],
            ..base.clone()
        },
        GenConfig {
            pool_weights: vec![0.1; 5],
            ..base.clone()
        },
        // Tradeable tokens and LP tokens above 256.
        GenConfig {
            tokens: 250,
            pools: 10,
            lp_pools: 10,
            ..base.clone()
        },
    ] {
        assert!(generate(&bad, |_, _| {}).is_err(), "{bad:?}");
    }
}
