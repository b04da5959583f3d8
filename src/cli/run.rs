//! `txwave run`: apply block logs to a state and report what happened.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use txwave::engine::{StageDevices, StageGpuTimings, StageTimings};
use txwave::{Engine, EngineConfig, Status};

use super::{
    BackendArg, CliResult, Failure, load_blocks, load_state, progress_bar, tmp_path,
    write_atomically,
};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Genesis JSON or state snapshot to start from.
    genesis_or_state: PathBuf,
    /// Block log files, applied in order.
    #[arg(required = true)]
    blocks: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Write every receipt, one JSON object per line, block order.
    #[arg(long, value_name = "FILE.jsonl")]
    receipts: Option<PathBuf>,
    /// Write the final state as a binary snapshot.
    #[arg(long, value_name = "FILE")]
    out_state: Option<PathBuf>,
    /// Where the parallel stages run.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Worker threads for CPU stages (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// GPU adapter to use: a substring of its name (see `txwave devices`).
    #[arg(long)]
    adapter: Option<String>,
}

#[derive(Serialize)]
struct BlockLine {
    height: u64,
    txs: usize,
    waves: usize,
    largest_wave: usize,
    accounts_rehashed: usize,
    tx_root: String,
    receipts_root: String,
    state_root: String,
    block_hash: String,
    total_ns: u64,
}

#[derive(Serialize)]
struct Summary {
    backend: txwave::Backend,
    device: String,
    backend_note: Option<String>,
    gpu_compile_ns: u64,
    threads: usize,
    devices: Option<StageDevices>,
    blocks: usize,
    txs: usize,
    statuses: std::collections::BTreeMap<&'static str, usize>,
    executed: usize,
    waves: usize,
    largest_wave: usize,
    average_parallelism: f64,
    accounts: usize,
    accounts_rehashed: usize,
    key_cache: txwave::verify::cache::CacheStats,
    timings_ns: StageTimings,
    gpu_timings_ns: StageGpuTimings,
    pipeline_tx_per_s: f64,
    wall_tx_per_s: f64,
    wall_ns: u64,
    height: u64,
    state_root: String,
    fallbacks: Vec<String>,
    per_block: Vec<BlockLine>,
}

#[derive(Serialize)]
struct ReceiptLine<'a> {
    block: u64,
    index: usize,
    tx_id: &'a str,
    status: &'static str,
    amount_out: u64,
}

pub fn run(args: RunArgs) -> CliResult {
    let wall = Instant::now();
    let mut state = load_state(&args.genesis_or_state)?;
    let engine = Engine::new(EngineConfig {
        backend: args.backend.into(),
        threads: args.threads,
        adapter: args.adapter.clone(),
        ..Default::default()
    })
    .context("cannot start the engine")?;

    let mut receipts_out = match &args.receipts {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(tmp_path(p))
                .with_context(|| format!("cannot create {}", tmp_path(p).display()))?,
        )),
        None => None,
    };
    let result = process_all(&args, &engine, &mut state, receipts_out.as_mut());
    let summary = match result {
        Ok(s) => s,
        Err(f) => {
            if let Some(p) = &args.receipts {
                drop(receipts_out);
                let _ = std::fs::remove_file(tmp_path(p));
            }
            return Err(f);
        }
    };
    if let (Some(p), Some(mut w)) = (&args.receipts, receipts_out) {
        w.flush()
            .with_context(|| format!("cannot write {}", tmp_path(p).display()))?;
        drop(w);
        std::fs::rename(tmp_path(p), p).with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &args.out_state {
        write_atomically(p, &state.to_snapshot())?;
    }
    let mut summary = summary;
    summary.wall_ns = wall.elapsed().as_nanos() as u64;
    summary.wall_tx_per_s = per_s(summary.txs, summary.wall_ns);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot encode summary")?
        );
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn per_s(n: usize, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        n as f64 * 1e9 / ns as f64
    }
}

fn process_all(
    args: &RunArgs,
    engine: &Engine,
    state: &mut txwave::State,
    mut receipts: Option<&mut std::io::BufWriter<std::fs::File>>,
) -> Result<Summary, Failure> {
    let mut files = Vec::new();
    for p in &args.blocks {
        files.push((p, load_blocks(p)?));
    }
    let total_blocks: usize = files.iter().map(|(_, b)| b.len()).sum();
    let bar = progress_bar(total_blocks as u64, "blocks");
    let mut s = Summary {
        backend: engine.backend(),
        device: engine.device_name(),
        backend_note: engine.backend_note().map(str::to_string),
        gpu_compile_ns: engine.verifier_compile_time().as_nanos() as u64,
        threads: engine.threads(),
        devices: None,
        blocks: 0,
        txs: 0,
        statuses: Status::ALL.iter().map(|s| (s.name(), 0)).collect(),
        executed: 0,
        waves: 0,
        largest_wave: 0,
        average_parallelism: 0.0,
        accounts: 0,
        accounts_rehashed: 0,
        key_cache: Default::default(),
        timings_ns: StageTimings::default(),
        gpu_timings_ns: StageGpuTimings::default(),
        pipeline_tx_per_s: 0.0,
        wall_tx_per_s: 0.0,
        wall_ns: 0,
        height: state.height(),
        state_root: String::new(),
        fallbacks: Vec::new(),
        per_block: Vec::new(),
    };
    for (path, blocks) in &files {
        for (i, block) in blocks.iter().enumerate() {
            let outcome = engine.process_block(state, block).map_err(|e| {
                Failure::from(anyhow::Error::new(e).context(format!(
                    "{}: block {i} (height {})",
                    path.display(),
                    block.height
                )))
            })?;
            if let Some(w) = receipts.as_deref_mut() {
                for (index, r) in outcome.receipts.iter().enumerate() {
                    let line = ReceiptLine {
                        block: outcome.height,
                        index,
                        tx_id: &hex::encode(r.tx_id),
                        status: r.status.name(),
                        amount_out: r.amount_out,
                    };
                    serde_json::to_writer(&mut *w, &line).context("cannot write receipts")?;
                    w.write_all(b"\n").context("cannot write receipts")?;
                }
            }
            for r in &outcome.receipts {
                *s.statuses.entry(r.status.name()).or_default() += 1;
            }
            s.executed += outcome
                .receipts
                .iter()
                .filter(|r| !matches!(r.status, Status::Malformed | Status::BadSignature))
                .count();
            s.blocks += 1;
            s.txs += outcome.receipts.len();
            s.waves += outcome.waves;
            s.largest_wave = s.largest_wave.max(outcome.largest_wave);
            s.accounts_rehashed += outcome.accounts_rehashed;
            s.key_cache.add(&outcome.key_cache);
            s.timings_ns.add(&outcome.timings);
            s.gpu_timings_ns.add(&outcome.gpu_timings);
            s.devices = Some(outcome.devices);
            s.fallbacks.extend(outcome.fallbacks.iter().cloned());
            s.per_block.push(BlockLine {
                height: outcome.height,
                txs: outcome.receipts.len(),
                waves: outcome.waves,
                largest_wave: outcome.largest_wave,
                accounts_rehashed: outcome.accounts_rehashed,
                tx_root: hex::encode(outcome.tx_root),
                receipts_root: hex::encode(outcome.receipts_root),
                state_root: hex::encode(outcome.state_root),
                block_hash: hex::encode(outcome.block_hash),
                total_ns: outcome.timings.total_ns,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    s.average_parallelism = if s.waves == 0 {
        0.0
    } else {
        s.executed as f64 / s.waves as f64
    };
    s.pipeline_tx_per_s = per_s(s.txs, s.timings_ns.total_ns);
    s.height = state.height();
    s.accounts = state.account_count();
    // The last block's root is the state's; without blocks, compute it.
    s.state_root = match s.per_block.last() {
        Some(b) => b.state_root.clone(),
        None => hex::encode(state.state_root()),
    };
    Ok(s)
}

fn ms(ns: u64) -> String {
    format!("{:>10.2} ms", ns as f64 / 1e6)
}

fn print_summary(s: &Summary) {
    println!(
        "txwave run: {} blocks, {} txs on {}",
        s.blocks, s.txs, s.device
    );
    if let Some(note) = &s.backend_note {
        println!("  {note}");
    }
    if s.gpu_compile_ns > 0 {
        println!(
            "  verifier pipelines compiled in {:.2} s (once per engine)",
            s.gpu_compile_ns as f64 / 1e9
        );
    }
    if let Some(d) = &s.devices {
        println!(
            "  devices: hash {:?}, verify {:?}, resolve {:?}, execute {:?}, commit {:?} (decode, schedule and the creation of new accounts: CPU)",
            d.hash, d.verify, d.resolve, d.execute, d.commit
        );
    }
    println!();
    println!("receipts");
    for (name, n) in &s.statuses {
        if *n > 0 {
            println!("  {name:<22}{n:>10}");
        }
    }
    println!();
    println!(
        "waves {} (largest {}, average parallelism {:.1})",
        s.waves, s.largest_wave, s.average_parallelism
    );
    println!(
        "account leaves rehashed {} ({} accounts; the commit keeps the others between blocks)",
        s.accounts_rehashed, s.accounts
    );
    println!(
        "signer key cache: {} hits, {} misses (CPU signature checks)",
        s.key_cache.hits, s.key_cache.misses
    );
    println!();
    println!("time per stage");
    let t = &s.timings_ns;
    for (name, ns) in [
        ("decode", t.decode_ns),
        ("hash", t.hash_ns),
        ("verify", t.verify_ns),
        ("resolve", t.resolve_ns),
        ("schedule", t.schedule_ns),
        ("execute", t.execute_ns),
        ("commit", t.commit_ns),
        ("total", t.total_ns),
    ] {
        println!("  {name:<10}{}", ms(ns));
    }
    let g = &s.gpu_timings_ns;
    for (name, t) in [
        ("hash", &g.hash),
        ("verify", &g.verify),
        ("resolve", &g.resolve),
        ("execute", &g.execute),
        ("commit", &g.commit),
    ] {
        if t.upload_ns + t.dispatch_ns + t.readback_ns > 0 {
            let pass = t
                .gpu_pass_ns
                .map_or("n/a".to_string(), |ns| format!("{:.2} ms", ns as f64 / 1e6));
            println!(
                "  gpu {name:<7} upload {:.2} ms, dispatch {:.2} ms, readback {:.2} ms, device passes {pass}",
                t.upload_ns as f64 / 1e6,
                t.dispatch_ns as f64 / 1e6,
                t.readback_ns as f64 / 1e6
            );
        }
    }
    println!();
    println!(
        "throughput: {:.0} tx/s in the pipeline, {:.0} tx/s wall (including loading)",
        s.pipeline_tx_per_s, s.wall_tx_per_s
    );
    for f in &s.fallbacks {
        println!("fallback: {f}");
    }
    println!("height {}  state root {}", s.height, s.state_root);
}
