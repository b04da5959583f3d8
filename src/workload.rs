//! Workload generator behind `txwave gen` (pipeline input): seeded, deterministic DeFi blocks whose claimed
//! state roots come from the sequential reference executor, so every dataset checks itself.
//!
//! Same [`GenConfig`] → same genesis bytes and same block bytes, on any machine and thread
//! count: all random choices are drawn in one sequential ChaCha stream; only the
//! (deterministic) Ed25519 signing runs in parallel.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::reference;
use crate::state::{AccountJson, GenesisJson, Pool, PoolJson, State};
use crate::tx::{self, Action, Block, Direction, Swap, Transfer, Tx};
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
    /// Swap with an unreachable `min_out` → `slippage_exceeded` (swaps only).
    pub slippage: f64,
    /// Truncated or unknown-kind bytes → `malformed`.
    pub malformed: f64,
}

impl Default for FailureShares {
    fn default() -> Self {
        FailureShares {
            bad_signature: 0.01,
            bad_nonce: 0.01,
            insufficient_balance: 0.01,
            slippage: 0.01,
            malformed: 0.005,
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
    let f = &cfg.failures;
    for (name, v) in [
        ("swap share", cfg.swap_share),
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
    let fail_sum =
        f.bad_signature + f.bad_nonce + f.insufficient_balance + f.slippage + f.malformed;
    if fail_sum > 1.0 {
        return bad(format!("failure shares add up to {fail_sum}, more than 1"));
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

/// Generates a dataset. `progress` is called after each block with (done, total).
pub fn generate(cfg: &GenConfig, mut progress: impl FnMut(usize, usize)) -> Result<Generated> {
    check(cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let key_seeds: Vec<[u8; 32]> = (0..cfg.accounts as u64)
        .map(|i| seed_of(cfg.seed, "account", i))
        .collect();
    let pubkeys: Vec<[u8; 32]> = key_seeds.par_iter().map(tx::public_key_of).collect();
    let genesis = GenesisJson {
        verify_rule: cfg.verify_rule,
        tokens: cfg.tokens as u32,
        accounts: pubkeys
            .iter()
            .map(|pk| AccountJson {
                pubkey: hex::encode(pk),
                nonce: 0,
                balances: vec![START_BALANCE; cfg.tokens],
            })
            .collect(),
        pools: (0..cfg.pools)
            .map(|i| {
                let a = (i % cfg.tokens) as u16;
                let b = ((i / cfg.tokens + 1 + i) % cfg.tokens) as u16;
                let b = if a == b {
                    (a + 1) % cfg.tokens as u16
                } else {
                    b
                };
                PoolJson::from(Pool::new(
                    a,
                    b,
                    [30u16, 5, 100][i % 3],
                    START_RESERVE,
                    START_RESERVE - i as u64,
                ))
            })
            .collect(),
    };
    let mut state = State::from_genesis(&genesis)?;
    let fee_collector = tx::public_key_of(&seed_of(cfg.seed, "fee collector", 0));
    let account_zipf = Zipf::new(cfg.accounts as u64, cfg.account_skew)
        .map_err(|e| Error::InvalidArgument(format!("account skew: {e}")))?;
    let pool_zipf = Zipf::new(cfg.pools.max(1) as u64, cfg.pool_skew)
        .map_err(|e| Error::InvalidArgument(format!("pool skew: {e}")))?;
    // Nonces as the generator expects them to be after each planned tx.
    let mut nonces = vec![0u64; cfg.accounts];
    let mut new_accounts = 0u64;
    let f = cfg.failures;
    let mut blocks = Vec::with_capacity(cfg.blocks);
    for b in 0..cfg.blocks {
        let mut planned: Vec<(usize, u64, u64, Action, Fault)> =
            Vec::with_capacity(cfg.txs_per_block);
        for _ in 0..cfg.txs_per_block {
            let signer = account_zipf.sample(&mut rng) as usize - 1;
            let fee = rng.gen_range(1..=10u64);
            let roll: f64 = rng.r#gen();
            let is_swap = rng.r#gen::<f64>() < cfg.swap_share;
            // Failure kind from one roll over the cumulative shares.
            let mut edge = 0.0;
            let mut pick = |share: f64| {
                let hit = roll >= edge && roll < edge + share;
                edge += share;
                hit
            };
            let bad_sig = pick(f.bad_signature);
            let bad_nonce = pick(f.bad_nonce);
            let poor = pick(f.insufficient_balance);
            let slip = pick(f.slippage) && is_swap;
            let malformed = pick(f.malformed);
            let action = if is_swap {
                let pool = if rng.r#gen::<f64>() < cfg.hot_pool_share {
                    0
                } else {
                    pool_zipf.sample(&mut rng) as u32 - 1
                };
                let direction = if rng.r#gen::<bool>() {
                    Direction::AtoB
                } else {
                    Direction::BtoA
                };
                let amount_in = if poor {
                    u64::MAX
                } else {
                    rng.gen_range(1..=1_000_000u64)
                };
                Action::Swap(Swap {
                    pool,
                    direction,
                    amount_in,
                    min_out: if slip { u64::MAX } else { 0 },
                })
            } else {
                let to = if rng.r#gen::<f64>() < cfg.new_recipient_share {
                    new_accounts += 1;
                    tx::public_key_of(&seed_of(cfg.seed, "recipient", new_accounts))
                } else {
                    pubkeys[account_zipf.sample(&mut rng) as usize - 1]
                };
                Action::Transfer(Transfer {
                    to,
                    token: rng.gen_range(0..cfg.tokens as u16),
                    amount: if poor {
                        u64::MAX
                    } else {
                        rng.gen_range(1..=1_000_000u64)
                    },
                })
            };
            let nonce = if bad_nonce {
                nonces[signer] + 1_000_000
            } else {
                nonces[signer]
            };
            let fault = if malformed {
                Fault::Malformed
            } else if bad_sig {
                Fault::BadSignature
            } else {
                Fault::None
            };
            // The fee is charged (and the nonce moves) unless steps 1–5 fail.
            if matches!(fault, Fault::None) && !bad_nonce {
                nonces[signer] += 1;
            }
            planned.push((signer, nonce, fee, action, fault));
        }
        // Deterministic signing in parallel, then the planned faults.
        let mut fault_rng =
            ChaCha8Rng::seed_from_u64(cfg.seed ^ (b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let signed: Vec<Vec<u8>> = planned
            .par_iter()
            .map(|(signer, nonce, fee, action, _)| {
                Tx::signed(&key_seeds[*signer], *nonce, *fee, *action).encode()
            })
            .collect();
        let mut block = Block::new(
            state.height() + 1,
            state.last_block_hash(),
            fee_collector,
            [0; 32],
        );
        for (mut bytes, (_, _, _, _, fault)) in signed.into_iter().zip(&planned) {
            match fault {
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
