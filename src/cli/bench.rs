//! `txwave bench`: CPU and GPU side by side on the same generated workload.

use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use txwave::engine::StageTimings;
use txwave::tx::Tx;
use txwave::{Backend, Engine, EngineConfig, SigCheck};

use super::generate::WorkloadArgs;
use super::{CliResult, progress_bar};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Timed repetitions per backend (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Backends to time, comma-separated (default: cpu, and gpu when the adapter is real
    /// hardware — a software renderer such as lavapipe is timed only when named here).
    #[arg(long, value_delimiter = ',')]
    backends: Option<Vec<super::BackendArg>>,
    /// Worker threads for CPU stages (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct BackendResult {
    backend: String,
    device: String,
    available: bool,
    note: Option<String>,
    txs: usize,
    median_ns: u64,
    median_stages_ns: StageTimings,
    tx_per_s: f64,
    raw_verify_per_s: f64,
    end_to_end_over_raw_verify: f64,
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

pub fn bench(args: BenchArgs) -> CliResult {
    if args.repeat == 0 {
        return Err(anyhow::anyhow!("--repeat must be at least 1").into());
    }
    let cfg = args.workload.config();
    let bar = progress_bar(cfg.blocks as u64, "generating");
    let generated = txwave::workload::generate(&cfg, |d, _| bar.set_position(d as u64))
        .context("cannot generate")?;
    bar.finish_and_clear();
    let genesis = txwave::State::from_genesis(&generated.genesis)?;
    let txs: usize = generated.blocks.iter().map(|b| b.tx_count()).sum();
    let decoded: Vec<(Tx, &[u8])> = generated
        .blocks
        .iter()
        .flat_map(|b| b.txs())
        .filter_map(|bytes| Tx::decode(bytes).map(|t| (t, &bytes[64..])))
        .collect();
    let checks: Vec<SigCheck<'_>> = decoded
        .iter()
        .map(|(t, msg)| SigCheck {
            public_key: t.signer,
            signature: t.signature,
            message: msg,
        })
        .collect();

    let mut results = Vec::new();
    let explicit = args.backends.is_some();
    let backends = args
        .backends
        .clone()
        .unwrap_or(vec![super::BackendArg::Cpu, super::BackendArg::Gpu]);
    for b in &backends {
        let backend: Backend = (*b).into();
        // Look at the adapter before compiling any pipeline.
        let software = match txwave::gpu::GpuContext::new(None) {
            Ok(ctx) if backend == Backend::Gpu && !explicit && ctx.adapter.device_type == "Cpu" => {
                Some(ctx.adapter.name)
            }
            _ => None,
        };
        let engine = match software {
            Some(name) => Err(txwave::Error::NoAdapter(format!(
                "{name} is a software renderer; name it with --backends cpu,gpu to time it anyway"
            ))),
            None => Engine::new(EngineConfig {
                backend,
                threads: args.threads,
                ..Default::default()
            }),
        };
        let engine = match engine {
            Ok(e) => e,
            Err(e) => {
                results.push(BackendResult {
                    backend: format!("{backend:?}").to_lowercase(),
                    device: String::new(),
                    available: false,
                    note: Some(e.to_string()),
                    txs,
                    median_ns: 0,
                    median_stages_ns: StageTimings::default(),
                    tx_per_s: 0.0,
                    raw_verify_per_s: 0.0,
                    end_to_end_over_raw_verify: 0.0,
                });
                continue;
            }
        };
        // Warm-up: first calls compile pipelines and fault pages in.
        let mut warm = genesis.clone();
        for block in &generated.blocks {
            engine.process_block(&mut warm, block)?;
        }
        engine.verify_signatures(&checks, cfg.verify_rule)?;
        let mut totals = Vec::new();
        let mut stages: Vec<StageTimings> = Vec::new();
        let mut verify_ns = Vec::new();
        for _ in 0..args.repeat {
            let mut state = genesis.clone();
            let mut sum = StageTimings::default();
            let t = Instant::now();
            for block in &generated.blocks {
                sum.add(&engine.process_block(&mut state, block)?.timings);
            }
            totals.push(t.elapsed().as_nanos() as u64);
            stages.push(sum);
            let t = Instant::now();
            std::hint::black_box(engine.verify_signatures(&checks, cfg.verify_rule)?);
            verify_ns.push(t.elapsed().as_nanos() as u64);
        }
        let pick = |f: fn(&StageTimings) -> u64| median(stages.iter().map(f).collect());
        let median_stages_ns = StageTimings {
            decode_ns: pick(|s| s.decode_ns),
            hash_ns: pick(|s| s.hash_ns),
            verify_ns: pick(|s| s.verify_ns),
            resolve_ns: pick(|s| s.resolve_ns),
            schedule_ns: pick(|s| s.schedule_ns),
            execute_ns: pick(|s| s.execute_ns),
            commit_ns: pick(|s| s.commit_ns),
            total_ns: pick(|s| s.total_ns),
        };
        let median_ns = median(totals);
        let tx_per_s = txs as f64 * 1e9 / median_ns as f64;
        let raw_verify_per_s = checks.len() as f64 * 1e9 / median(verify_ns) as f64;
        results.push(BackendResult {
            backend: format!("{:?}", engine.backend()).to_lowercase(),
            device: engine.device_name(),
            available: true,
            note: None,
            txs,
            median_ns,
            median_stages_ns,
            tx_per_s,
            raw_verify_per_s,
            end_to_end_over_raw_verify: tx_per_s / raw_verify_per_s,
        });
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).context("cannot encode")?
        );
        return Ok(());
    }
    println!(
        "txwave bench: {} blocks × {} txs, rule {}, {} accounts, {} pools, swap share {}, median of {}",
        cfg.blocks,
        cfg.txs_per_block,
        cfg.verify_rule.name(),
        cfg.accounts,
        cfg.pools,
        cfg.swap_share,
        args.repeat
    );
    for r in &results {
        if !r.available {
            println!(
                "\n{}: unavailable ({})",
                r.backend,
                r.note.as_deref().unwrap_or("")
            );
            continue;
        }
        println!("\n{} on {}", r.backend, r.device);
        let s = &r.median_stages_ns;
        for (name, ns) in [
            ("decode", s.decode_ns),
            ("hash", s.hash_ns),
            ("verify", s.verify_ns),
            ("resolve", s.resolve_ns),
            ("schedule", s.schedule_ns),
            ("execute", s.execute_ns),
            ("commit", s.commit_ns),
        ] {
            println!("  {name:<10}{:>10.2} ms", ns as f64 / 1e6);
        }
        println!(
            "  end to end {:>9.2} ms  = {:.0} tx/s",
            r.median_ns as f64 / 1e6,
            r.tx_per_s
        );
        println!(
            "  raw verify {:.0} sig/s; end to end / raw verify = {:.2}",
            r.raw_verify_per_s, r.end_to_end_over_raw_verify
        );
    }
    Ok(())
}
