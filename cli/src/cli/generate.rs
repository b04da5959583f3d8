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
}

impl WorkloadArgs {
    /// The library configuration these options describe.
    pub fn config(&self) -> GenConfig {
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
            },
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
        "wrote {} ({} accounts, {} pools) and {} ({} blocks × {} txs); final state root {}",
        genesis.display(),
        cfg.accounts,
        cfg.pools,
        blocks.display(),
        cfg.blocks,
        cfg.txs_per_block,
        hex::encode(generated.final_state.state_root())
    );
    Ok(())
}
