//! `txwave calibrate`: the short sweeps `--backend auto` needs (verify under each rule and
//! hash, CPU alone and GPU alone, over a few batch sizes), written as a calibration file
//! (`txwave::internal::calibration::Calibration`): the machine, the adapter, the rates per stage and size,
//! and the break-even sizes. `Auto` then sends a batch to the GPU only from its stage's
//! break-even size on, and seeds its CPU+GPU split with the measured rates.

use std::path::PathBuf;

use anyhow::Context;
use txwave::internal::calibration::{Calibration, CalibrationPoint};
use txwave::internal::workload::GenConfig;
use txwave::{Backend, Engine, EngineConfig, VerifyRule};

use super::bench::measure::{Machine, Plan};
use super::bench::{checks_of, sweep};
use super::{CliResult, GpuArgs, write_atomically};

/// Batch sizes of a calibration: 256 to 256k, ×4.
const SIZES: [usize; 6] = [256, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18];

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// Where to write the calibration (default: $XDG_CONFIG_HOME/txwave/calibration.json,
    /// else ~/.config/txwave/calibration.json, where `auto` looks for it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// GPU adapter to calibrate: a substring of its name (see `txwave devices`).
    #[arg(long)]
    adapter: Option<String>,
    /// Worker threads for the CPU side (default: one per core, as `run` uses).
    #[arg(long)]
    threads: Option<usize>,
    /// Largest batch size measured.
    #[arg(long, value_name = "N", default_value_t = 1 << 18)]
    max_size: usize,
    /// Timed repetitions per point (the median is used).
    #[arg(long, default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    repeat: usize,
    /// A point whose warm-up call takes longer than this ends its series.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = super::positive_seconds)]
    max_call_s: f64,
    /// Start no measurement after this many seconds; the file is written from what was
    /// measured (a stage without points keeps the fixed threshold).
    #[arg(long, value_name = "SECONDS", value_parser = super::positive_seconds)]
    time_limit: Option<f64>,
    #[command(flatten)]
    gpu: GpuArgs,
}

pub fn calibrate(args: CalibrateArgs) -> CliResult {
    let started = std::time::Instant::now();
    let out = match args
        .out
        .clone()
        .or_else(super::env::default_calibration_path)
    {
        Some(p) => p,
        None => {
            return Err(anyhow::anyhow!(
                "no default place for the calibration (neither XDG_CONFIG_HOME nor HOME is set); name one with --out"
            )
            .into());
        }
    };
    let tunables = args.gpu.tunables()?;
    let config = |backend| {
        super::env::engine_config(EngineConfig {
            backend,
            threads: args.threads,
            adapter: args.adapter.clone(),
            gpu: tunables,
            ..Default::default()
        })
    };
    let gpu = Engine::new(config(Backend::Gpu)).context(
        "calibrate needs a GPU: without one `--backend auto` runs on the CPU and needs no calibration",
    )?;
    let cpu = Engine::new(config(Backend::Cpu))?;
    let ctx = gpu.gpu_context().context("the GPU engine has no device")?;
    eprintln!(
        "calibrate: {} against the CPU ({} threads)",
        gpu.device_name(),
        cpu.threads()
    );

    let generated = txwave::internal::workload::generate(
        &GenConfig {
            blocks: 1,
            txs_per_block: 4096,
            accounts: 4096,
            ..Default::default()
        },
        |_, _| {},
    )
    .context("cannot generate the calibration workload")?;
    let checks = checks_of(&generated.blocks);
    let msgs: Vec<&[u8]> = generated.blocks.iter().flat_map(|b| b.txs()).collect();
    let verdicts = sweep::cpu_verdicts(&checks);
    let mut sizes: Vec<usize> = SIZES
        .iter()
        .copied()
        .filter(|n| *n <= args.max_size)
        .collect();
    if sizes.is_empty() {
        sizes.push(args.max_size.max(1));
    }
    let cfg = sweep::SweepConfig {
        sizes,
        rules: vec![VerifyRule::Strict, VerifyRule::Zip215],
        hash: true,
        variants: vec![tunables.verify],
        variant_workgroups: Vec::new(),
        hash_workgroups: vec![tunables.hash_workgroup_size],
        variant_size: 256,
        plan: Plan {
            warmup: 1,
            repeat: args.repeat,
            max_call_s: args.max_call_s,
            deadline: args
                .time_limit
                .map(|s| started + std::time::Duration::from_secs_f64(s)),
        },
    };
    let inputs = sweep::Inputs {
        ids: msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect(),
        checks,
        verdicts,
        msgs,
    };
    let backends = sweep::Backends {
        cpu: Some(&cpu),
        gpu: Some(&gpu),
        auto: None,
    };
    let report = sweep::run(&cfg, &inputs, &backends, true, &mut |_| Ok(()))?;

    let mut rates = Vec::new();
    for r in report.rows.iter().filter(|r| r.backend == "cpu") {
        let Some(g) = report
            .rows
            .iter()
            .find(|g| g.backend == "gpu" && g.stage == r.stage && g.size == r.size)
        else {
            continue;
        };
        rates.push(CalibrationPoint {
            stage: r.stage,
            batch: r.size,
            cpu_per_s: r.per_s,
            gpu_per_s: g.per_s,
        });
    }
    let cal = Calibration {
        adapter: ctx.adapter.name.clone(),
        machine: Some(Machine::this(cpu.threads()).describe()),
        driver: Some(ctx.adapter.driver.clone()),
        rates,
        break_even: report
            .break_even
            .iter()
            .map(|b| b.to_calibration())
            .collect(),
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomically(&out, cal.to_json().as_bytes())?;
    println!(
        "calibration of {} written to {}",
        cal.adapter,
        out.display()
    );
    report.print_outcome("  ");
    Ok(())
}
