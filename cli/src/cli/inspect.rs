//! `txwave inspect`: block logs, states and wave schedules.

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use txwave::internal::tx::{Action, Tx};

use super::{CliResult, load_blocks, load_state};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A block log, a genesis JSON or a state snapshot; with --schedule, the starting
    /// state followed by block logs.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Apply the blocks to the state (first path) and print each block's wave histogram.
    #[arg(long)]
    schedule: bool,
}

#[derive(Serialize)]
struct BlockInfo {
    index: usize,
    height: u64,
    txs: usize,
    transfers: usize,
    swaps: usize,
    add_liquidity: usize,
    remove_liquidity: usize,
    routes: usize,
    /// Routes by hop count (1 to 4 hops).
    route_hops: [usize; txwave::internal::tx::MAX_HOPS],
    malformed: usize,
    parent_hash: String,
    fee_collector: String,
    claimed_state_root: Option<String>,
    tx_root: String,
    block_hash: String,
}

#[derive(Serialize)]
struct StateJson {
    height: u64,
    state_root: String,
    verify_rule: txwave::VerifyRule,
    tokens: u32,
    accounts: Vec<txwave::internal::state::AccountJson>,
    pools: Vec<txwave::internal::state::PoolJson>,
}

#[derive(Serialize)]
struct ScheduleInfo {
    height: u64,
    txs: usize,
    scheduled: usize,
    waves: usize,
    largest_wave: usize,
    /// (wave size, number of waves of that size)
    histogram: Vec<(usize, usize)>,
}

pub fn inspect(args: InspectArgs) -> CliResult {
    if args.schedule {
        return schedule(args);
    }
    if args.paths.len() != 1 {
        return Err(
            anyhow::anyhow!("inspect takes one file (or use --schedule STATE BLOCKS...)").into(),
        );
    }
    let path = &args.paths[0];
    // Only the magic decides what the file is: never read a file of any size whole.
    let mut head = Vec::with_capacity(8);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
            8,
        ),
        &mut head,
    )
    .with_context(|| format!("cannot read {}", path.display()))?;
    if head.starts_with(txwave::internal::tx::BLOCK_MAGIC) {
        let blocks = load_blocks(path)?;
        let infos: Vec<BlockInfo> = blocks
            .iter()
            .enumerate()
            .map(|(index, b)| {
                let decoded: Vec<Option<Tx>> = b.txs().map(Tx::decode).collect();
                let tx_ids: Vec<[u8; 32]> = b.txs().map(|t| *blake3::hash(t).as_bytes()).collect();
                let tx_root = txwave::internal::merkle::merkle_root(&tx_ids);
                let (mut transfers, mut swaps, mut adds, mut removes) = (0, 0, 0, 0);
                let mut route_hops = [0; txwave::internal::tx::MAX_HOPS];
                for t in decoded.iter().flatten() {
                    match t.action {
                        Action::Transfer(_) => transfers += 1,
                        Action::Swap(_) => swaps += 1,
                        Action::AddLiquidity(_) => adds += 1,
                        Action::RemoveLiquidity(_) => removes += 1,
                        Action::Route(r) => route_hops[r.pools().len() - 1] += 1,
                    }
                }
                BlockInfo {
                    index,
                    height: b.height,
                    txs: b.tx_count(),
                    transfers,
                    swaps,
                    add_liquidity: adds,
                    remove_liquidity: removes,
                    routes: route_hops.iter().sum(),
                    route_hops,
                    malformed: decoded.iter().filter(|t| t.is_none()).count(),
                    parent_hash: hex::encode(b.parent_hash),
                    fee_collector: hex::encode(b.fee_collector),
                    claimed_state_root: b.claimed_root().map(hex::encode),
                    tx_root: hex::encode(tx_root),
                    block_hash: hex::encode(b.block_hash(&tx_root)),
                }
            })
            .collect();
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&infos).context("cannot encode")?
            );
        } else {
            println!("{}: {} blocks", path.display(), infos.len());
            for i in &infos {
                println!(
                    "  block {} height {}: {} txs ({} transfers, {} swaps, {} liquidity adds, {} removes, {} routes, {} malformed)",
                    i.index,
                    i.height,
                    i.txs,
                    i.transfers,
                    i.swaps,
                    i.add_liquidity,
                    i.remove_liquidity,
                    i.routes,
                    i.malformed
                );
                if i.routes > 0 {
                    let hops: Vec<String> = i
                        .route_hops
                        .iter()
                        .enumerate()
                        .map(|(h, n)| {
                            format!("{} × {} hop{}", n, h + 1, if h == 0 { "" } else { "s" })
                        })
                        .collect();
                    println!("    routes: {}", hops.join(", "));
                }
                println!("    hash {}  parent {}", i.block_hash, i.parent_hash);
                println!(
                    "    claimed state root {}",
                    i.claimed_state_root.as_deref().unwrap_or("(none)")
                );
            }
        }
        return Ok(());
    }
    let state = load_state(path)?;
    let g = state.to_genesis();
    let dump = StateJson {
        height: state.height(),
        state_root: hex::encode(state.state_root()),
        verify_rule: g.verify_rule,
        tokens: g.tokens,
        accounts: g.accounts,
        pools: g.pools,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&dump).context("cannot encode")?
        );
    } else {
        println!(
            "{}: height {}, {} tokens, rule {}, {} accounts, {} pools",
            path.display(),
            dump.height,
            dump.tokens,
            dump.verify_rule.name(),
            dump.accounts.len(),
            dump.pools.len()
        );
        println!("  last block hash {}", hex::encode(state.last_block_hash()));
        println!("  state root      {}", dump.state_root);
        for (i, p) in dump.pools.iter().enumerate().take(20) {
            let lp = match (p.lp_token, p.lp_supply) {
                (Some(t), Some(s)) => format!(", LP token {t} supply {s}"),
                _ => String::new(),
            };
            println!(
                "  pool {i}: tokens {}/{} fee {} bps reserves {} / {}{lp}",
                p.token_a, p.token_b, p.fee_bps, p.reserve_a, p.reserve_b
            );
        }
        if dump.pools.len() > 20 {
            println!("  … {} more pools (use --json)", dump.pools.len() - 20);
        }
    }
    Ok(())
}

fn schedule(args: InspectArgs) -> CliResult {
    if args.paths.len() < 2 {
        return Err(anyhow::anyhow!("--schedule needs a state and at least one block log").into());
    }
    let mut state = load_state(&args.paths[0])?;
    let engine = txwave::Engine::new(txwave::EngineConfig {
        backend: txwave::Backend::Cpu,
        ..Default::default()
    })?;
    let mut infos = Vec::new();
    for path in &args.paths[1..] {
        for block in load_blocks(path)? {
            let schedule = engine
                .process_block(&mut state, &block)
                .with_context(|| format!("{}: block at height {}", path.display(), block.height))?
                .schedule;
            infos.push(ScheduleInfo {
                height: block.height,
                txs: block.tx_count(),
                scheduled: schedule.scheduled(),
                waves: schedule.wave_count(),
                largest_wave: schedule.largest_wave(),
                histogram: schedule.histogram(),
            });
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&infos).context("cannot encode")?
        );
    } else {
        for i in &infos {
            println!(
                "block {}: {} txs, {} scheduled in {} waves (largest {})",
                i.height, i.txs, i.scheduled, i.waves, i.largest_wave
            );
            println!("  wave size   waves");
            for (size, n) in &i.histogram {
                println!("  {size:>9}   {n:>5}");
            }
        }
    }
    Ok(())
}
