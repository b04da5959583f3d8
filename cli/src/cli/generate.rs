//! `txwave gen`: write a seeded, self-checking workload.

use std::path::PathBuf;

use anyhow::Context;
use txwave::VerifyRule;
use txwave::internal::workload::{FailureShares, GenConfig};

use super::{CliResult, progress_bar, write_atomically};

/// `--rule` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RuleArg {
    /// ed25519-dalek verify_strict.
    Strict,
    /// ed25519-zebra (ZIP-215).
    Zip215,
}

impl From<RuleArg> for VerifyRule {
    fn from(r: RuleArg) -> Self {
        match r {
            RuleArg::Strict => VerifyRule::Strict,
            RuleArg::Zip215 => VerifyRule::Zip215,
        }
    }
}

/// `--profile` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileArg {
    /// Transfers and swaps as set by the other options.
    Default,
    /// Every pool with an LP token; 5 % liquidity adds, 4 % removes and 30 % routes
    /// beside the swaps; pool contention of a busy DEX (the hottest pool in about 30 % of
    /// the pool-touching txs, the five hottest in about 50 %). The DEX options below
    /// override the preset.
    Dex,
}

impl ProfileArg {
    /// The name `--profile` takes.
    pub fn name(self) -> &'static str {
        match self {
            ProfileArg::Default => "default",
            ProfileArg::Dex => "dex",
        }
    }
}

/// Options shared by `gen` and `bench`.
#[derive(clap::Args, Clone)]
pub struct WorkloadArgs {
    /// Seed of the random stream (same arguments, same bytes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Signature rule of the chain.
    #[arg(long, value_enum, default_value = "zip215")]
    pub rule: RuleArg,
    /// Funded genesis accounts.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// Tokens (1..=256).
    #[arg(long, default_value_t = 8)]
    pub tokens: usize,
    /// Pools.
    #[arg(long, default_value_t = 16)]
    pub pools: usize,
    /// Blocks.
    #[arg(long, default_value_t = 4)]
    pub blocks: usize,
    /// Transactions per block.
    #[arg(long = "txs", default_value_t = 2_500)]
    pub txs_per_block: usize,
    /// Share of swaps (0..1).
    #[arg(long, default_value_t = 0.4)]
    pub swap_share: f64,
    /// Zipf exponent of account popularity (0 = uniform).
    #[arg(long, default_value_t = 0.0)]
    pub account_skew: f64,
    /// Zipf exponent of pool popularity (0 = uniform).
    #[arg(long, default_value_t = 0.0)]
    pub pool_skew: f64,
    /// Share of swaps sent to pool 0 (a hot pool; 1 = all swaps on one pool).
    #[arg(long, default_value_t = 0.0)]
    pub hot_pool_share: f64,
    /// Share of transfers to brand-new accounts.
    #[arg(long, default_value_t = 0.01)]
    pub new_recipient_share: f64,
    /// Share of txs with a corrupted signature.
    #[arg(long, default_value_t = 0.01)]
    pub bad_signature: f64,
    /// Share of txs with a wrong nonce.
    #[arg(long, default_value_t = 0.01)]
    pub bad_nonce: f64,
    /// Share of txs moving more than any balance.
    #[arg(long, default_value_t = 0.01)]
    pub insufficient_balance: f64,
    /// Share of txs (swaps only) with an unreachable minimum output.
    #[arg(long, default_value_t = 0.01)]
    pub slippage: f64,
    /// Share of malformed txs.
    #[arg(long, default_value_t = 0.005)]
    pub malformed: f64,
    /// Workload preset; the options given explicitly override it.
    #[arg(long, value_enum, default_value = "default")]
    pub profile: ProfileArg,
    /// Pools 0 … N−1 get an LP token (token `tokens + i`), held by every funded account
    /// at genesis [default: 0; dex: every pool].
    #[arg(long, value_name = "N")]
    pub lp_pools: Option<usize>,
    /// Share of AddLiquidity txs (needs --lp-pools) [default: 0; dex: 0.05].
    #[arg(long, value_name = "SHARE")]
    pub add_liquidity_share: Option<f64>,
    /// Share of RemoveLiquidity txs (needs --lp-pools) [default: 0; dex: 0.04].
    #[arg(long, value_name = "SHARE")]
    pub remove_liquidity_share: Option<f64>,
    /// Share of multi-pool routes [default: 0; dex: 0.3].
    #[arg(long, value_name = "SHARE")]
    pub route_share: Option<f64>,
    /// Relative weights of routes of 1, 2, 3 and 4 hops, renormalised [default:
    /// 73,24,2.5,0.3].
    #[arg(long, value_parser = parse_hops, value_name = "W1,W2,W3,W4")]
    pub hops: Option<[f64; 4]>,
    /// Share of routes that are exact out [default: 0.2].
    #[arg(long, value_name = "SHARE")]
    pub exact_out_share: Option<f64>,
    /// Shares of pool picks for pools 0, 1, … (the rest go to the other pools by
    /// --pool-skew; relative when every pool is listed) [default: none, swaps pick by
    /// --hot-pool-share and --pool-skew; dex: 0.285,0.05,0.04,0.035,0.03].
    #[arg(long, value_delimiter = ',', value_name = "W0,W1,…")]
    pub pool_weights: Option<Vec<f64>>,
    /// Share of routes whose first pool does not hold their input token [default: 0;
    /// dex: 0.005].
    #[arg(long, value_name = "SHARE")]
    pub bad_route: Option<f64>,
}

/// `--hops`: four comma-separated weights, not negative, not all 0.
fn parse_hops(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|w| w.trim().parse::<f64>().map_err(|e| format!("{w:?}: {e}")))
        .collect::<Result<_, _>>()?;
    let w: [f64; 4] = v
        .try_into()
        .map_err(|v: Vec<f64>| format!("four weights (1 to 4 hops), got {}", v.len()))?;
    if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
        return Err("weights must be finite, at least 0 and not all 0".into());
    }
    Ok(w)
}

impl WorkloadArgs {
    /// The library configuration these options describe.
    pub fn config(&self) -> GenConfig {
        self.config_for(self.profile)
    }

    /// The configuration of these options under `profile` instead of `--profile`.
    pub fn config_for(&self, profile: ProfileArg) -> GenConfig {
        let base = self.base_config();
        let mut cfg = match profile {
            ProfileArg::Default => base,
            ProfileArg::Dex => base.dex(),
        };
        if let Some(n) = self.lp_pools {
            cfg.lp_pools = n;
        }
        if let Some(s) = self.add_liquidity_share {
            cfg.add_liquidity_share = s;
        }
        if let Some(s) = self.remove_liquidity_share {
            cfg.remove_liquidity_share = s;
        }
        if let Some(s) = self.route_share {
            cfg.route_share = s;
        }
        if let Some(h) = self.hops {
            cfg.hop_weights = h;
        }
        if let Some(s) = self.exact_out_share {
            cfg.exact_out_share = s;
        }
        if let Some(w) = &self.pool_weights {
            cfg.pool_weights = w.clone();
        }
        if let Some(s) = self.bad_route {
            cfg.failures.bad_route = s;
        }
        cfg
    }

    fn base_config(&self) -> GenConfig {
        GenConfig {
            seed: self.seed,
            verify_rule: self.rule.into(),
            accounts: self.accounts,
            tokens: self.tokens,
            pools: self.pools,
            blocks: self.blocks,
            txs_per_block: self.txs_per_block,
            swap_share: self.swap_share,
            account_skew: self.account_skew,
            pool_skew: self.pool_skew,
            hot_pool_share: self.hot_pool_share,
            new_recipient_share: self.new_recipient_share,
            failures: FailureShares {
                bad_signature: self.bad_signature,
                bad_nonce: self.bad_nonce,
                insufficient_balance: self.insufficient_balance,
                slippage: self.slippage,
                malformed: self.malformed,
                bad_route: 0.0,
            },
            ..GenConfig::default()
        }
    }
}

#[derive(clap::Args)]
pub struct GenArgs {
    /// Output directory: receives genesis.json and blocks.blk.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    workload: WorkloadArgs,
}

pub fn generate(args: GenArgs) -> CliResult {
    let cfg = args.workload.config();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let bar = progress_bar(cfg.blocks as u64, "generating blocks");
    let generated =
        txwave::internal::workload::generate(&cfg, |done, _| bar.set_position(done as u64))
            .context("cannot generate the workload")?;
    bar.finish_and_clear();
    let genesis = args.out.join("genesis.json");
    let blocks = args.out.join("blocks.blk");
    write_atomically(&genesis, generated.genesis_json().as_bytes())?;
    write_atomically(&blocks, &generated.block_log())?;
    println!(
        "wrote {} ({} accounts, {} pools{}) and {} ({} blocks × {} txs); final state root {}",
        genesis.display(),
        cfg.accounts,
        cfg.pools,
        if cfg.lp_pools > 0 {
            format!(", {} with LP tokens", cfg.lp_pools)
        } else {
            String::new()
        },
        blocks.display(),
        cfg.blocks,
        cfg.txs_per_block,
        hex::encode(generated.final_state.state_root())
    );
    Ok(())
}
