//! Workload generator behind `txwave gen` (pipeline input): seeded, deterministic DeFi blocks whose claimed
//! state roots come from the sequential reference executor, so every dataset checks itself.
//!
//! Same [`GenConfig`] → same genesis bytes and same block bytes, on any machine and thread
//! count: all random choices are drawn in one sequential ChaCha stream; only the
//! (deterministic) Ed25519 signing runs in parallel.
//!
//! Besides transfers and swaps it makes the DEX kinds: pools with LP tokens
//! ([`GenConfig::lp_pools`]), AddLiquidity, RemoveLiquidity and multi-hop Routes, with
//! pool popularity set by [`GenConfig::pool_weights`]; [`GenConfig::dex`] is a preset
//! with real-world pool contention. With the DEX shares at 0 (their defaults) the random
//! stream is drawn exactly as before they existed, so older datasets regenerate byte for
//! byte.

use rand::distributions::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::reference;
use crate::exec::{amount_in, burn_amounts, quote, swap_out};
use crate::state::MINIMUM_LIQUIDITY;
use crate::state::{AccountJson, GenesisJson, Pool, PoolJson, State};
use crate::tx::{
    self, Action, AddLiquidity, Block, Direction, MAX_HOPS, RemoveLiquidity, Route, RouteMode,
    Swap, Transfer, Tx,
};
use crate::verify::VerifyRule;

/// Share of transactions made to fail each way. Shares are probabilities per tx.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FailureShares {
    /// Signature bit flipped → `bad_signature`.
    pub bad_signature: f64,
    /// Nonce from the future → `bad_nonce`.
    pub bad_nonce: f64,
    /// Amount larger than any balance → `insufficient_balance`.
    pub insufficient_balance: f64,
    /// Unreachable minimum (or maximum) amounts → `slippage_exceeded` (swaps, liquidity
    /// adds and removes, and routes; transfers drawn into this share stay ordinary).
    pub slippage: f64,
    /// Truncated or unknown-kind bytes → `malformed`.
    pub malformed: f64,
    /// A route whose first pool does not hold its `token_in` → `bad_route` (routes only;
    /// other kinds drawn into this share stay ordinary).
    pub bad_route: f64,
}

impl Default for FailureShares {
    fn default() -> Self {
        FailureShares {
            bad_signature: 0.01,
            bad_nonce: 0.01,
            insufficient_balance: 0.01,
            slippage: 0.01,
            malformed: 0.005,
            bad_route: 0.0,
        }
    }
}

/// Everything that shapes a generated workload.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenConfig {
    /// Seed of the random stream.
    pub seed: u64,
    /// Signature rule of the chain.
    pub verify_rule: VerifyRule,
    /// Funded genesis accounts (signers).
    pub accounts: usize,
    /// Tokens, 1..=256.
    pub tokens: usize,
    /// Pools (need tokens ≥ 2 when > 0).
    pub pools: usize,
    /// Blocks to generate.
    pub blocks: usize,
    /// Transactions per block.
    pub txs_per_block: usize,
    /// Share of swaps among transactions (needs pools > 0).
    pub swap_share: f64,
    /// Share of AddLiquidity among transactions (needs `lp_pools` > 0).
    pub add_liquidity_share: f64,
    /// Share of RemoveLiquidity among transactions (needs `lp_pools` > 0).
    pub remove_liquidity_share: f64,
    /// Share of Routes among transactions (needs pools > 0). Transfers take what the
    /// swap, liquidity and route shares leave.
    pub route_share: f64,
    /// Pools 0 … `lp_pools` − 1 get an LP token: token `tokens + i` for pool `i`, so the
    /// genesis has `tokens + lp_pools` tokens. Every funded account holds an equal part
    /// of each pool's shares at genesis, and `lp_supply` counts them plus the locked 1000.
    pub lp_pools: usize,
    /// Relative weights of routes of 1, 2, 3 and 4 hops (renormalised). A route ends
    /// early when no unused pool holds the token it has reached.
    pub hop_weights: [f64; MAX_HOPS],
    /// Share of routes that are exact out (the rest are exact in).
    pub exact_out_share: f64,
    /// Shares of pool picks for pools 0, 1, …: the rest of the picks go to the pools not
    /// listed, by `pool_skew` (uniform at 0); when every pool is listed the weights are
    /// relative. Empty: swaps pick as before (`hot_pool_share`, then `pool_skew`), and
    /// the other kinds with the same probabilities. A pick chooses a swap's pool, a
    /// liquidity tx's pool (among LP pools), a route's first pool and, among the unused
    /// pools that hold the token reached, each next hop.
    pub pool_weights: Vec<f64>,
    /// Zipf exponent of account popularity (0 = uniform).
    pub account_skew: f64,
    /// Zipf exponent of pool popularity (0 = uniform).
    pub pool_skew: f64,
    /// Share of swaps sent to pool 0 regardless of skew (a hot pool); 1.0 = all one pool.
    pub hot_pool_share: f64,
    /// Share of transfers sent to a brand-new account.
    pub new_recipient_share: f64,
    /// Failure shares.
    pub failures: FailureShares,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            verify_rule: VerifyRule::Zip215,
            accounts: 1000,
            tokens: 8,
            pools: 16,
            blocks: 1,
            txs_per_block: 1000,
            swap_share: 0.4,
            add_liquidity_share: 0.0,
            remove_liquidity_share: 0.0,
            route_share: 0.0,
            lp_pools: 0,
            hop_weights: DEFAULT_HOP_WEIGHTS,
            exact_out_share: 0.2,
            pool_weights: Vec::new(),
            account_skew: 0.0,
            pool_skew: 0.0,
            hot_pool_share: 0.0,
            new_recipient_share: 0.01,
            failures: FailureShares::default(),
        }
    }
}

impl GenConfig {
    /// The default workload resized: `accounts` funded accounts, `pools` pools, `blocks`
    /// blocks of `txs_per_block` txs, from `seed` (the knobs most tests and benches set).
    pub fn sized(
        accounts: usize,
        pools: usize,
        blocks: usize,
        txs_per_block: usize,
        seed: u64,
    ) -> Self {
        GenConfig {
            seed,
            accounts,
            pools,
            blocks,
            txs_per_block,
            ..Default::default()
        }
    }
}

/// Default relative weights of routes of 1, 2, 3 and 4 hops: 73 %, 24 %, 2.5 % and 0.3 %
/// (renormalised), the hop counts of aggregator routes on a busy constant-product DEX.
pub const DEFAULT_HOP_WEIGHTS: [f64; MAX_HOPS] = [0.73, 0.24, 0.025, 0.003];

/// Pool-pick shares of the five hottest pools in [`GenConfig::dex`]. Routes through
/// several pools touch the hot pools more often than they are picked first, so these
/// picks give, with the preset's mix on the default 8 tokens and 16 pools, the hottest
/// pool about 30 % of the pool-touching transactions and the five hottest about 50 %
/// (tests/workload_dex.rs measures it).
pub const DEX_POOL_WEIGHTS: [f64; 5] = [0.285, 0.05, 0.04, 0.035, 0.03];

/// The slippage tolerance the generated liquidity txs and routes set on amounts quoted
/// from the reserves at the start of their block: 1 %.
const SLIPPAGE_TOLERANCE_BPS: u64 = 100;

impl GenConfig {
    /// The DEX preset on top of this configuration: every pool has an LP token; 5 %
    /// liquidity adds, 4 % removes and 30 % routes (with the default hop mix, 20 % of
    /// them exact out) beside the swaps; 0.5 % routes that do not chain; and pool picks
    /// headed by [`DEX_POOL_WEIGHTS`] (the hottest pool in about 30 % of the pool-touching
    /// transactions, the five hottest in about 50 %). Needs at least one pool.
    pub fn dex(self) -> Self {
        let head = DEX_POOL_WEIGHTS.len().min(self.pools);
        GenConfig {
            add_liquidity_share: 0.05,
            remove_liquidity_share: 0.04,
            route_share: 0.3,
            lp_pools: self.pools,
            hop_weights: DEFAULT_HOP_WEIGHTS,
            exact_out_share: 0.2,
            pool_weights: DEX_POOL_WEIGHTS[..head].to_vec(),
            failures: FailureShares {
                bad_route: 0.005,
                ..self.failures
            },
            ..self
        }
    }
}

/// A generated dataset: genesis, the decoded blocks and their log encoding.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Genesis document.
    pub genesis: GenesisJson,
    /// The blocks, each claiming the reference state root.
    pub blocks: Vec<Block>,
    /// State after the last block, per the reference executor.
    pub final_state: State,
}

impl Generated {
    /// Genesis as pretty JSON text.
    pub fn genesis_json(&self) -> String {
        serde_json::to_string_pretty(&self.genesis).expect("genesis serializes")
    }

    /// The block log: every block back to back.
    pub fn block_log(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for b in &self.blocks {
            b.encode_into(&mut out);
        }
        out
    }
}

/// Genesis balance of every token for every funded account. Large enough that fees and
/// amounts never run out by accident, small enough that supply stays below 2^64.
const START_BALANCE: u64 = 1 << 40;
/// Genesis reserve of each side of each pool.
const START_RESERVE: u64 = 1 << 44;

fn seed_of(master: u64, what: &str, i: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"txwave gen key");
    h.update(&master.to_le_bytes());
    h.update(what.as_bytes());
    h.update(&i.to_le_bytes());
    *h.finalize().as_bytes()
}

fn check(cfg: &GenConfig) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if !(1..=256).contains(&cfg.tokens) {
        return bad(format!("tokens must be in 1..=256, got {}", cfg.tokens));
    }
    if cfg.accounts == 0 {
        return bad("accounts must be at least 1".into());
    }
    if cfg.pools > 0 && cfg.tokens < 2 {
        return bad("pools need at least 2 tokens".into());
    }
    if cfg.swap_share > 0.0 && cfg.pools == 0 {
        return bad("swap share > 0 needs at least one pool".into());
    }
    if cfg.route_share > 0.0 && cfg.pools == 0 {
        return bad("route share > 0 needs at least one pool".into());
    }
    if cfg.lp_pools > cfg.pools {
        return bad(format!(
            "lp pools ({}) must be at most pools ({})",
            cfg.lp_pools, cfg.pools
        ));
    }
    if cfg.lp_pools > 0 && cfg.tokens + cfg.lp_pools > 256 {
        return bad(format!(
            "{} tokens and {} LP tokens exceed 256 tokens",
            cfg.tokens, cfg.lp_pools
        ));
    }
    if (cfg.add_liquidity_share > 0.0 || cfg.remove_liquidity_share > 0.0) && cfg.lp_pools == 0 {
        return bad("liquidity add and remove shares > 0 need lp pools > 0".into());
    }
    let f = &cfg.failures;
    for (name, v) in [
        ("swap share", cfg.swap_share),
        ("add liquidity share", cfg.add_liquidity_share),
        ("remove liquidity share", cfg.remove_liquidity_share),
        ("route share", cfg.route_share),
        ("exact out share", cfg.exact_out_share),
        ("bad route share", f.bad_route),
        ("hot pool share", cfg.hot_pool_share),
        ("new recipient share", cfg.new_recipient_share),
        ("bad signature share", f.bad_signature),
        ("bad nonce share", f.bad_nonce),
        ("insufficient balance share", f.insufficient_balance),
        ("slippage share", f.slippage),
        ("malformed share", f.malformed),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return bad(format!("{name} must be in [0, 1], got {v}"));
        }
    }
    let fail_sum = f.bad_signature
        + f.bad_nonce
        + f.insufficient_balance
        + f.slippage
        + f.malformed
        + f.bad_route;
    if fail_sum > 1.0 {
        return bad(format!("failure shares add up to {fail_sum}, more than 1"));
    }
    let kind_sum =
        cfg.swap_share + cfg.add_liquidity_share + cfg.remove_liquidity_share + cfg.route_share;
    if kind_sum > 1.0 {
        return bad(format!(
            "swap, liquidity and route shares add up to {kind_sum}, more than 1"
        ));
    }
    if cfg
        .hop_weights
        .iter()
        .any(|w| !(w.is_finite() && *w >= 0.0))
        || cfg.hop_weights.iter().sum::<f64>() <= 0.0
    {
        return bad(format!(
            "hop weights must be finite, at least 0 and not all 0, got {:?}",
            cfg.hop_weights
        ));
    }
    if cfg.pool_weights.len() > cfg.pools {
        return bad(format!(
            "{} pool weights for {} pools",
            cfg.pool_weights.len(),
            cfg.pools
        ));
    }
    if let Some(w) = cfg.pool_weights.iter().find(|w| !(0.0..=1.0).contains(*w)) {
        return bad(format!("pool weights must be in [0, 1], got {w}"));
    }
    let weight_sum: f64 = cfg.pool_weights.iter().sum();
    if cfg.pool_weights.len() < cfg.pools && weight_sum > 1.0 + 1e-9 {
        return bad(format!(
            "pool weights add up to {weight_sum}, more than 1, with pools left unlisted"
        ));
    }
    if !cfg.pool_weights.is_empty() && cfg.pool_weights.len() == cfg.pools && weight_sum <= 0.0 {
        return bad("pool weights of every pool are all 0".into());
    }
    for (name, s) in [
        ("account skew", cfg.account_skew),
        ("pool skew", cfg.pool_skew),
    ] {
        if !(0.0..=10.0).contains(&s) {
            return bad(format!("{name} must be in [0, 10], got {s}"));
        }
    }
    // Supply bound: every account plus the pools must stay below 2^64 per token.
    let supply = cfg.accounts as u128 * START_BALANCE as u128
        + 2 * cfg.pools as u128 * START_RESERVE as u128;
    if supply > u64::MAX as u128 {
        return bad(format!(
            "{} accounts and {} pools would exceed the 2^64 supply bound",
            cfg.accounts, cfg.pools
        ));
    }
    Ok(())
}

/// What a planned tx is meant to do before signing.
enum Fault {
    None,
    BadSignature,
    Malformed,
}

/// The kind of a planned tx, from one draw over the cumulative kind shares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Transfer,
    Swap,
    AddLiquidity,
    RemoveLiquidity,
    Route,
}

/// Probability of each pool being picked (see [`GenConfig::pool_weights`]).
fn pool_pick_weights(cfg: &GenConfig) -> Vec<f64> {
    let n = cfg.pools;
    let zipf = |ranks: usize| -> Vec<f64> {
        let w: Vec<f64> = (1..=ranks)
            .map(|k| (k as f64).powf(-cfg.pool_skew))
            .collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    };
    if cfg.pool_weights.is_empty() {
        let hot = cfg.hot_pool_share;
        return zipf(n)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (1.0 - hot) * p + if i == 0 { hot } else { 0.0 })
            .collect();
    }
    let listed = cfg.pool_weights.len();
    let mut w = cfg.pool_weights.clone();
    if listed < n {
        let rest = (1.0 - w.iter().sum::<f64>()).max(0.0);
        w.extend(zipf(n - listed).into_iter().map(|p| rest * p));
    }
    w
}

/// A weighted pick over `weights`, uniform when they are all 0.
fn weighted(weights: &[f64]) -> Result<WeightedIndex<f64>> {
    let w = if weights.iter().sum::<f64>() > 0.0 {
        weights.to_vec()
    } else {
        vec![1.0; weights.len()]
    };
    WeightedIndex::new(w).map_err(|e| Error::InvalidArgument(format!("pool weights: {e}")))
}

/// The token a pool gives for `token_in` (one of its own).
fn other_token(pool: &Pool, token_in: u16) -> u16 {
    if pool.token_a == token_in {
        pool.token_b
    } else {
        pool.token_a
    }
}

/// A route's path: its first pool, then, while it has fewer than `hops` pools, an unused
/// pool holding the token reached, picked by weight (uniformly when those weights are
/// all 0). Returns token_in and the pools.
fn route_path(
    rng: &mut ChaCha8Rng,
    hops: usize,
    first: u32,
    pools: &[Pool],
    by_token: &[Vec<u32>],
    weights: &[f64],
) -> (u16, Vec<u32>) {
    let p0 = &pools[first as usize];
    let token_in = if rng.r#gen::<bool>() {
        p0.token_a
    } else {
        p0.token_b
    };
    let mut token = other_token(p0, token_in);
    let mut path = vec![first];
    while path.len() < hops {
        let candidates: Vec<u32> = by_token[token as usize]
            .iter()
            .copied()
            .filter(|p| !path.contains(p))
            .collect();
        if candidates.is_empty() {
            break;
        }
        let total: f64 = candidates.iter().map(|&p| weights[p as usize]).sum();
        let u: f64 = rng.r#gen();
        let next = if total > 0.0 {
            let mut left = u * total;
            let mut chosen = *candidates.last().expect("not empty");
            for &p in &candidates {
                let w = weights[p as usize];
                if left < w {
                    chosen = p;
                    break;
                }
                left -= w;
            }
            chosen
        } else {
            candidates[((u * candidates.len() as f64) as usize).min(candidates.len() - 1)]
        };
        path.push(next);
        token = other_token(&pools[next as usize], token);
    }
    (token_in, path)
}

/// `x` less the slippage tolerance.
fn less_tolerance(x: u64) -> u64 {
    (u128::from(x) * u128::from(10_000 - SLIPPAGE_TOLERANCE_BPS) / 10_000) as u64
}

/// `x` plus the slippage tolerance, saturating.
fn plus_tolerance(x: u64) -> u64 {
    u64::try_from(u128::from(x) * u128::from(10_000 + SLIPPAGE_TOLERANCE_BPS) / 10_000 + 1)
        .unwrap_or(u64::MAX)
}

/// The limit a route sets from the reserves of `state` (the start of its block): the
/// quoted output less the tolerance (exact in), or the quoted input plus it (exact out).
/// A quote that does not go through gives the loosest limit.
fn route_limit(state: &State, mode: RouteMode, token_in: u16, path: &[u32], amount: u64) -> u64 {
    // (reserve in, reserve out, fee) of each hop.
    let mut hops = Vec::with_capacity(path.len());
    let mut token = token_in;
    for &p in path {
        let pool = &state.pools()[p as usize];
        if pool.token_a == token {
            hops.push((pool.reserve_a, pool.reserve_b, pool.fee_bps));
        } else {
            hops.push((pool.reserve_b, pool.reserve_a, pool.fee_bps));
        }
        token = other_token(pool, token);
    }
    match mode {
        RouteMode::ExactIn => less_tolerance(hops.iter().fold(amount, |x, &(r_in, r_out, fee)| {
            swap_out(x, r_in, r_out, fee)
        })),
        RouteMode::ExactOut => {
            let mut y = Some(amount);
            for &(r_in, r_out, fee) in hops.iter().rev() {
                y = y
                    .filter(|&y| y < r_out)
                    .and_then(|y| amount_in(y, r_in, r_out, fee));
            }
            y.map_or(u64::MAX, plus_tolerance)
        }
    }
}

/// The genesis pools: the layout of the original generator, and an LP token with the
/// shares of every funded account for the first `lp_pools`. Returns the pools and each
/// funded account's genesis shares of each LP pool.
fn genesis_pools(cfg: &GenConfig) -> (Vec<PoolJson>, Vec<u64>) {
    let mut shares_each = Vec::with_capacity(cfg.lp_pools);
    let pools = (0..cfg.pools)
        .map(|i| {
            let a = (i % cfg.tokens) as u16;
            let b = ((i / cfg.tokens + 1 + i) % cfg.tokens) as u16;
            let b = if a == b {
                (a + 1) % cfg.tokens as u16
            } else {
                b
            };
            let mut pool = Pool::new(
                a,
                b,
                [30u16, 5, 100][i % 3],
                START_RESERVE,
                START_RESERVE - i as u64,
            );
            if i < cfg.lp_pools {
                // As many shares as the reserves allow (supply² ≤ reserve_a × reserve_b),
                // split evenly over the funded accounts, plus the locked minimum.
                let most = (u128::from(pool.reserve_a) * u128::from(pool.reserve_b)).isqrt();
                let each = ((most - u128::from(MINIMUM_LIQUIDITY)) / cfg.accounts as u128) as u64;
                pool.lp_token = Some((cfg.tokens + i) as u16);
                pool.lp_supply = each * cfg.accounts as u64 + MINIMUM_LIQUIDITY;
                shares_each.push(each);
            }
            PoolJson::from(pool)
        })
        .collect();
    (pools, shares_each)
}

/// Generates a dataset. `progress` is called after each block with (done, total).
pub fn generate(cfg: &GenConfig, mut progress: impl FnMut(usize, usize)) -> Result<Generated> {
    check(cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let key_seeds: Vec<[u8; 32]> = (0..cfg.accounts as u64)
        .map(|i| seed_of(cfg.seed, "account", i))
        .collect();
    let pubkeys: Vec<[u8; 32]> = key_seeds.par_iter().map(tx::public_key_of).collect();
    let (genesis_pools, shares_each) = genesis_pools(cfg);
    let mut balances = vec![START_BALANCE; cfg.tokens];
    balances.extend(&shares_each);
    let genesis = GenesisJson {
        verify_rule: cfg.verify_rule,
        tokens: (cfg.tokens + cfg.lp_pools) as u32,
        accounts: pubkeys
            .iter()
            .map(|pk| AccountJson {
                pubkey: hex::encode(pk),
                nonce: 0,
                balances: balances.clone(),
            })
            .collect(),
        pools: genesis_pools,
    };
    let mut state = State::from_genesis(&genesis)?;
    let mut planner = Planner::new(cfg, &state, pubkeys, shares_each)?;
    let fee_collector = tx::public_key_of(&seed_of(cfg.seed, "fee collector", 0));
    let mut blocks = Vec::with_capacity(cfg.blocks);
    for b in 0..cfg.blocks {
        let planned: Vec<Planned> = (0..cfg.txs_per_block)
            .map(|_| planner.plan(&state, &mut rng))
            .collect();
        let mut block = seal_block(cfg, b, &state, fee_collector, &key_seeds, &planned)?;
        // Claim the reference executor's root.
        let mut after = state.clone();
        let outcome = reference::apply(&mut after, &block)?;
        block.claimed_state_root = outcome.state_root;
        state = after;
        // The block hash covers the claimed root: recompute the tip.
        state.set_tip(block.height, block.block_hash(&outcome.tx_root));
        blocks.push(block);
        progress(b + 1, cfg.blocks);
    }
    Ok(Generated {
        genesis,
        blocks,
        final_state: state,
    })
}

/// One planned tx: signer (account number), nonce, fee, action and the fault it gets
/// after signing.
struct Planned {
    signer: usize,
    nonce: u64,
    fee: u64,
    action: Action,
    fault: Fault,
}

/// What one tx's failure roll decided (one draw over the cumulative failure shares).
#[derive(Clone, Copy)]
struct Faults {
    bad_sig: bool,
    bad_nonce: bool,
    poor: bool,
    slip: bool,
    malformed: bool,
    bad_route: bool,
}

/// Everything the per-tx draws read, fixed for the whole workload, and the nonces and
/// new-recipient count it keeps across blocks.
struct Planner<'a> {
    cfg: &'a GenConfig,
    pubkeys: Vec<[u8; 32]>,
    shares_each: Vec<u64>,
    pools: Vec<Pool>,
    by_token: Vec<Vec<u32>>,
    pick_weights: Vec<f64>,
    account_zipf: Zipf<f64>,
    pool_zipf: Zipf<f64>,
    any_pool: Option<WeightedIndex<f64>>,
    swap_pool: Option<WeightedIndex<f64>>,
    lp_pool: Option<WeightedIndex<f64>>,
    hop_count: WeightedIndex<f64>,
    /// Nonces as the generator expects them to be after each planned tx.
    nonces: Vec<u64>,
    new_accounts: u64,
}

impl<'a> Planner<'a> {
    fn new(
        cfg: &'a GenConfig,
        genesis: &State,
        pubkeys: Vec<[u8; 32]>,
        shares_each: Vec<u64>,
    ) -> Result<Planner<'a>> {
        let pools: Vec<Pool> = genesis.pools().to_vec();
        let account_zipf = Zipf::new(cfg.accounts as u64, cfg.account_skew)
            .map_err(|e| Error::InvalidArgument(format!("account skew: {e}")))?;
        let pool_zipf = Zipf::new(cfg.pools.max(1) as u64, cfg.pool_skew)
            .map_err(|e| Error::InvalidArgument(format!("pool skew: {e}")))?;
        // Pool picks of the DEX kinds (and of swaps when pool weights are given).
        let pick_weights = pool_pick_weights(cfg);
        let any_pool = (cfg.pools > 0)
            .then(|| weighted(&pick_weights))
            .transpose()?;
        let swap_pool = if cfg.pool_weights.is_empty() {
            None
        } else {
            any_pool.clone()
        };
        let lp_pool = (cfg.lp_pools > 0)
            .then(|| weighted(&pick_weights[..cfg.lp_pools]))
            .transpose()?;
        let hop_count = WeightedIndex::new(cfg.hop_weights)
            .map_err(|e| Error::InvalidArgument(format!("hop weights: {e}")))?;
        let mut by_token: Vec<Vec<u32>> = vec![Vec::new(); cfg.tokens];
        for (i, p) in pools.iter().enumerate() {
            by_token[p.token_a as usize].push(i as u32);
            by_token[p.token_b as usize].push(i as u32);
        }
        Ok(Planner {
            cfg,
            pubkeys,
            shares_each,
            pools,
            by_token,
            pick_weights,
            account_zipf,
            pool_zipf,
            any_pool,
            swap_pool,
            lp_pool,
            hop_count,
            nonces: vec![0; cfg.accounts],
            new_accounts: 0,
        })
    }

    /// The next tx against `state` (the state at the start of its block). The draws, in
    /// order: signer, fee, failure roll, kind roll, then the kind's own.
    fn plan(&mut self, state: &State, rng: &mut ChaCha8Rng) -> Planned {
        let cfg = self.cfg;
        let signer = self.account_zipf.sample(rng) as usize - 1;
        let fee = rng.gen_range(1..=10u64);
        let roll: f64 = rng.r#gen();
        let kind_roll: f64 = rng.r#gen();
        // Upper edges of the kinds over one uniform draw: with the DEX shares at 0 a draw
        // below the swap share is a swap and any other a transfer, as before they existed.
        let swap_edge = cfg.swap_share;
        let add_edge = swap_edge + cfg.add_liquidity_share;
        let remove_edge = add_edge + cfg.remove_liquidity_share;
        let route_edge = remove_edge + cfg.route_share;
        let kind = if kind_roll < swap_edge {
            Kind::Swap
        } else if kind_roll < add_edge {
            Kind::AddLiquidity
        } else if kind_roll < remove_edge {
            Kind::RemoveLiquidity
        } else if kind_roll < route_edge {
            Kind::Route
        } else {
            Kind::Transfer
        };
        // Failure kind from one roll over the cumulative shares.
        let f = cfg.failures;
        let mut edge = 0.0;
        let mut pick = |share: f64| {
            let hit = roll >= edge && roll < edge + share;
            edge += share;
            hit
        };
        let faults = Faults {
            bad_sig: pick(f.bad_signature),
            bad_nonce: pick(f.bad_nonce),
            poor: pick(f.insufficient_balance),
            slip: pick(f.slippage) && kind != Kind::Transfer,
            malformed: pick(f.malformed),
            bad_route: pick(f.bad_route) && kind == Kind::Route,
        };
        let action = match kind {
            Kind::Swap => self.swap(rng, faults),
            Kind::AddLiquidity => self.add_liquidity(state, rng, faults),
            Kind::RemoveLiquidity => self.remove_liquidity(state, rng, faults),
            Kind::Route => self.route(state, rng, faults),
            Kind::Transfer => self.transfer(rng, faults),
        };
        let nonce = if faults.bad_nonce {
            self.nonces[signer] + 1_000_000
        } else {
            self.nonces[signer]
        };
        let fault = if faults.malformed {
            Fault::Malformed
        } else if faults.bad_sig {
            Fault::BadSignature
        } else {
            Fault::None
        };
        // The fee is charged (and the nonce moves) unless steps 1–5 fail.
        if matches!(fault, Fault::None) && !faults.bad_nonce {
            self.nonces[signer] += 1;
        }
        Planned {
            signer,
            nonce,
            fee,
            action,
            fault,
        }
    }

    fn swap(&mut self, rng: &mut ChaCha8Rng, faults: Faults) -> Action {
        let pool = if let Some(w) = &self.swap_pool {
            w.sample(rng) as u32
        } else if rng.r#gen::<f64>() < self.cfg.hot_pool_share {
            0
        } else {
            self.pool_zipf.sample(rng) as u32 - 1
        };
        let direction = if rng.r#gen::<bool>() {
            Direction::AtoB
        } else {
            Direction::BtoA
        };
        let amount_in = if faults.poor {
            u64::MAX
        } else {
            rng.gen_range(1..=1_000_000u64)
        };
        Action::Swap(Swap {
            pool,
            direction,
            amount_in,
            min_out: if faults.slip { u64::MAX } else { 0 },
        })
    }

    fn add_liquidity(&mut self, state: &State, rng: &mut ChaCha8Rng, faults: Faults) -> Action {
        let w = self.lp_pool.as_ref().expect("checked: lp pools > 0");
        let pool = w.sample(rng);
        let p = &state.pools()[pool];
        let a = rng.gen_range(1000..=1_000_000u64);
        // Both sides desired at the block's starting price; with one side at 2^64 − 1 no
        // balance covers the amounts.
        let (a_desired, b_desired) = if faults.poor {
            (u64::MAX, u64::MAX)
        } else {
            (a, quote(a, p.reserve_a, p.reserve_b).unwrap_or(u64::MAX))
        };
        let (a_min, b_min) = if faults.slip {
            (u64::MAX, u64::MAX)
        } else if faults.poor {
            (0, 0)
        } else {
            (less_tolerance(a_desired), less_tolerance(b_desired))
        };
        Action::AddLiquidity(AddLiquidity {
            pool: pool as u32,
            amount_a_desired: a_desired,
            amount_b_desired: b_desired,
            amount_a_min: a_min,
            amount_b_min: b_min,
        })
    }

    fn remove_liquidity(&mut self, state: &State, rng: &mut ChaCha8Rng, faults: Faults) -> Action {
        let w = self.lp_pool.as_ref().expect("checked: lp pools > 0");
        let pool = w.sample(rng);
        let p = &state.pools()[pool];
        // At least 1000 shares (so both amounts are at least 1 while the supply stays
        // below 1000 × the reserves), at most 10^6 or 1/1024 of an account's genesis
        // shares.
        let lo = 1000u64;
        let hi = (self.shares_each[pool] / 1024).clamp(lo, 1_000_000);
        let shares = rng.gen_range(lo..=hi);
        let (a, b) = burn_amounts(shares, p.reserve_a, p.reserve_b, p.lp_supply);
        let liquidity = if faults.poor { u64::MAX } else { shares };
        let (a_min, b_min) = if faults.slip {
            (u64::MAX, u64::MAX)
        } else if faults.poor {
            (0, 0)
        } else {
            (less_tolerance(a), less_tolerance(b))
        };
        Action::RemoveLiquidity(RemoveLiquidity {
            pool: pool as u32,
            liquidity,
            amount_a_min: a_min,
            amount_b_min: b_min,
        })
    }

    fn route(&mut self, state: &State, rng: &mut ChaCha8Rng, faults: Faults) -> Action {
        let hops = self.hop_count.sample(rng) + 1;
        let first = self
            .any_pool
            .as_ref()
            .expect("checked: pools > 0")
            .sample(rng);
        let (token_in, path) = route_path(
            rng,
            hops,
            first as u32,
            &self.pools,
            &self.by_token,
            &self.pick_weights,
        );
        let exact_out = rng.r#gen::<f64>() < self.cfg.exact_out_share;
        let amount = rng.gen_range(1..=1_000_000u64);
        let (mode, amount, limit) = if faults.poor {
            // Exact in with 2^64 − 1: no balance covers it.
            (RouteMode::ExactIn, u64::MAX, 0)
        } else {
            let mode = if exact_out {
                RouteMode::ExactOut
            } else {
                RouteMode::ExactIn
            };
            let limit = match (faults.slip, mode) {
                (true, RouteMode::ExactIn) => u64::MAX,
                (true, RouteMode::ExactOut) => 0,
                (false, _) => route_limit(state, mode, token_in, &path, amount),
            };
            (mode, amount, limit)
        };
        // A token_in the first pool does not hold: the smallest such token.
        let token_in = if faults.bad_route {
            let p0 = &self.pools[first];
            (0..=u16::MAX)
                .find(|&t| t != p0.token_a && t != p0.token_b)
                .expect("a pool holds two tokens")
        } else {
            token_in
        };
        Action::Route(Route::new(mode, token_in, amount, limit, &path).expect("1 to 4 hops"))
    }

    fn transfer(&mut self, rng: &mut ChaCha8Rng, faults: Faults) -> Action {
        let to = if rng.r#gen::<f64>() < self.cfg.new_recipient_share {
            self.new_accounts += 1;
            tx::public_key_of(&seed_of(self.cfg.seed, "recipient", self.new_accounts))
        } else {
            self.pubkeys[self.account_zipf.sample(rng) as usize - 1]
        };
        Action::Transfer(Transfer {
            to,
            token: rng.gen_range(0..self.cfg.tokens as u16),
            amount: if faults.poor {
                u64::MAX
            } else {
                rng.gen_range(1..=1_000_000u64)
            },
        })
    }
}

/// Block `b` of the planned txs: signed in parallel (deterministically), then the planned
/// faults applied from the block's own fault stream. Its claimed root is not set yet.
fn seal_block(
    cfg: &GenConfig,
    b: usize,
    state: &State,
    fee_collector: [u8; 32],
    key_seeds: &[[u8; 32]],
    planned: &[Planned],
) -> Result<Block> {
    let mut fault_rng =
        ChaCha8Rng::seed_from_u64(cfg.seed ^ (b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let signed: Vec<Vec<u8>> = planned
        .par_iter()
        .map(|p| Tx::signed(&key_seeds[p.signer], p.nonce, p.fee, p.action).encode())
        .collect();
    let mut block = Block::new(
        state.height() + 1,
        state.last_block_hash(),
        fee_collector,
        [0; 32],
    );
    for (mut bytes, p) in signed.into_iter().zip(planned) {
        match p.fault {
            Fault::None => {}
            Fault::BadSignature => {
                let bit = fault_rng.gen_range(0..512usize);
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
            Fault::Malformed => match fault_rng.gen_range(0..3u8) {
                0 => bytes.truncate(fault_rng.gen_range(0..bytes.len())),
                1 => bytes[tx::KIND_OFFSET] = fault_rng.gen_range(3..=255u8),
                _ => bytes.push(0),
            },
        }
        block.push_tx_bytes(&bytes)?;
    }
    Ok(block)
}
