//! `txwave bench`: everything a CPU-vs-GPU comparison needs, from the release binary
//! alone. End to end per stage on each backend (a generated workload or a given genesis
//! and log), and with `--sweep` verify and hash over batch sizes, every GPU variant, and
//! the break-even sizes. `--out DIR` writes `bench.json` (every number, the command and
//! the machine) and `bench.svg`.

mod chart;
pub mod e2e;
pub mod measure;
pub mod sweep;

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use txwave::internal::gpu::AdapterReport;
use txwave::internal::gpu::tunables::{
    DEFAULT_WORKGROUP_SIZE, Kernel, SWEEP_WORKGROUP_SIZES, VerifyVariant,
};
use txwave::internal::tx::Tx;
use txwave::{Backend, Block, Engine, EngineConfig, SigCheck, State, VerifyRule};

use super::generate::{ProfileArg, RuleArg, WorkloadArgs};
use super::{BackendArg, CliResult, GpuArgs, progress_bar, write_atomically};
use measure::{Machine, Plan};

/// `--variants` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum VariantsArg {
    /// Every verifier shape × base-point table at one workgroup size (64, or the first
    /// of --variant-workgroup-sizes without it), then the fastest of them at the other
    /// sizes; every hash workgroup size.
    All,
    /// Every verifier shape × base-point table × workgroup size, and every hash
    /// workgroup size (a pipeline to compile for each).
    Grid,
    /// Only the variant the flags (--verify-shape, --basepoint-table, --workgroup-size) ask for.
    Engine,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Bench on this genesis JSON or snapshot instead of a generated workload (with --log).
    #[arg(long, value_name = "FILE", requires = "log")]
    genesis: Option<PathBuf>,
    /// Block log files to bench on, in order (with --genesis).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "genesis")]
    log: Vec<PathBuf>,
    /// Generate one workload per profile, comma-separated, from the same options (see
    /// `--profile`), and run end to end on each with every backend; the sweep uses the
    /// first. Default: the `--profile` alone.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "PROFILE,…",
        conflicts_with = "genesis"
    )]
    profiles: Option<Vec<ProfileArg>>,
    /// Timed repetitions of every measurement (median and spread are reported).
    #[arg(long, default_value_t = 3,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    repeat: usize,
    /// Untimed calls before the timed ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// A measurement whose warm-up call takes longer than this is timed once, and the
    /// larger sizes of its sweep series are skipped.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = super::positive_seconds)]
    max_call_s: f64,
    /// Backends to time, comma-separated (default: cpu, and gpu when the adapter is real
    /// hardware — a software renderer such as lavapipe is timed only when named here).
    #[arg(long, value_delimiter = ',')]
    backends: Option<Vec<BackendArg>>,
    /// Worker threads for CPU stages (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// GPU adapter to use: a substring of its name (see `txwave devices`).
    #[arg(long)]
    adapter: Option<String>,
    #[command(flatten)]
    gpu: GpuArgs,
    /// Calibration file for the `auto` backend (see `txwave calibrate`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_calibration")]
    calibration: Option<PathBuf>,
    /// Give the `auto` backend no calibration file.
    #[arg(long)]
    no_calibration: bool,
    /// Also sweep verify (each rule) and hash over batch sizes, compare every GPU
    /// variant, and find the break-even sizes.
    #[arg(long)]
    sweep: bool,
    /// Batch sizes of the sweep, comma-separated (default 256 to 1M, ×4).
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    sizes: Option<Vec<usize>>,
    /// Largest batch size of the sweep.
    #[arg(long, value_name = "N")]
    max_size: Option<usize>,
    /// Rules the sweep verifies under (default both).
    #[arg(long, value_delimiter = ',')]
    rules: Option<Vec<RuleArg>>,
    /// GPU variants the sweep compares.
    #[arg(long, value_enum, default_value = "all")]
    variants: VariantsArg,
    /// Workgroup sizes `--variants all` compares (default 32,64,128,256).
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    variant_workgroup_sizes: Option<Vec<u32>>,
    /// Batch size of the variant comparison (default 65,536, or 1,024 on a software
    /// adapter; capped by the largest sweep size).
    #[arg(long, value_name = "N")]
    variant_size: Option<usize>,
    /// Start no measurement after this many seconds: what is left is reported as not
    /// measured, and the report is still written.
    #[arg(long, value_name = "SECONDS", value_parser = super::positive_seconds)]
    time_limit: Option<f64>,
    /// Skip the end-to-end runs (sweep only).
    #[arg(long)]
    no_e2e: bool,
    /// With --sweep: also run end to end once per workgroup size of the non-verify
    /// kernels (each an engine of its own). On by default on hardware adapters; on a
    /// software adapter (minutes per engine) only with this flag.
    #[arg(long)]
    e2e_workgroups: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Write DIR/bench.json and DIR/bench.svg.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The whole report (`bench.json`).
#[derive(Serialize)]
pub struct Report {
    /// The command line, as run.
    pub command: Vec<String>,
    /// Seconds since the Unix epoch at the start.
    pub started_unix_s: u64,
    /// The machine.
    pub machine: Machine,
    /// The GPU adapter of the `gpu` (or `auto`) engine, when one opened.
    pub adapter: Option<AdapterReport>,
    /// What ran (the first workload with `--profiles`).
    pub workload: Workload,
    /// Every workload that ran end to end, in order (`--profiles`; else the one above).
    pub workloads: Vec<Workload>,
    /// Warm-up, repetitions and budget.
    pub plan: Plan,
    /// End-to-end rows, one per backend (and, with `--sweep` on a GPU, per workgroup size).
    pub e2e: Vec<e2e::E2eRow>,
    /// Backends asked for that could not run, and why.
    pub unavailable: Vec<Unavailable>,
    /// The `auto` engine's thresholds and where they came from.
    pub auto_thresholds: Option<txwave::internal::calibration::AutoThresholds>,
    /// The sweep, with `--sweep`.
    pub sweep: Option<sweep::SweepReport>,
    /// Seconds the whole bench took (so far, while `finished` is false).
    pub wall_s: f64,
    /// Whether every measurement asked for ran; a report written while the bench ran
    /// (after each variant and stage of the sweep, and after each end-to-end row) says
    /// false.
    pub finished: bool,
}

/// The workload of a report.
#[derive(Serialize)]
pub struct Workload {
    /// The generator's profile (`default`, `dex`), or `files`.
    pub profile: String,
    /// `generated` (with the `gen` options) or the files given.
    pub source: String,
    /// Blocks.
    pub blocks: usize,
    /// Transactions.
    pub txs: usize,
    /// Accounts in the genesis.
    pub accounts: usize,
    /// The chain's signature rule.
    pub rule: VerifyRule,
}

/// A backend that did not run.
#[derive(Serialize)]
pub struct Unavailable {
    /// The backend.
    pub backend: String,
    /// Why.
    pub reason: String,
}

fn backend_name(b: BackendArg) -> &'static str {
    match b {
        BackendArg::Cpu => "cpu",
        BackendArg::Gpu => "gpu",
        BackendArg::Auto => "auto",
    }
}

/// A workload to bench: its genesis, blocks, profile name and source.
struct Loaded {
    genesis: State,
    blocks: Vec<Block>,
    profile: String,
    source: String,
}

impl Loaded {
    fn describe(&self) -> Workload {
        Workload {
            profile: self.profile.clone(),
            source: self.source.clone(),
            blocks: self.blocks.len(),
            txs: self.blocks.iter().map(Block::tx_count).sum(),
            accounts: self.genesis.account_count(),
            rule: self.genesis.verify_rule(),
        }
    }
}

/// The workloads to bench: the files given, or one generated workload per profile.
fn workloads(args: &BenchArgs) -> anyhow::Result<Vec<Loaded>> {
    if args.genesis.is_some() {
        let (genesis, blocks, source) = workload(args, args.workload.profile)?;
        return Ok(vec![Loaded {
            genesis,
            blocks,
            profile: "files".into(),
            source,
        }]);
    }
    let mut profiles = args.profiles.clone().unwrap_or(vec![args.workload.profile]);
    profiles.dedup();
    profiles
        .into_iter()
        .map(|p| {
            let (genesis, blocks, source) = workload(args, p)?;
            Ok(Loaded {
                genesis,
                blocks,
                profile: p.name().into(),
                source,
            })
        })
        .collect()
}

/// Genesis, blocks and where they came from.
fn workload(args: &BenchArgs, profile: ProfileArg) -> anyhow::Result<(State, Vec<Block>, String)> {
    if let Some(g) = &args.genesis {
        let state = super::load_state(g)?;
        let mut blocks = Vec::new();
        for path in &args.log {
            blocks.extend(super::load_blocks(path).map_err(|f| f.into_error())?);
        }
        let files: Vec<String> = std::iter::once(g)
            .chain(&args.log)
            .map(|p| p.display().to_string())
            .collect();
        return Ok((state, blocks, files.join(" ")));
    }
    let cfg = args.workload.config_for(profile);
    let bar = progress_bar(cfg.blocks as u64, "generating");
    let generated = txwave::internal::workload::generate(&cfg, |d, _| bar.set_position(d as u64))
        .context("cannot generate the workload")?;
    bar.finish_and_clear();
    let state = State::from_genesis(&generated.genesis)?;
    let mut source = format!(
        "generated: seed {}, {} blocks × {} txs, {} accounts, {} pools, swap share {}",
        cfg.seed, cfg.blocks, cfg.txs_per_block, cfg.accounts, cfg.pools, cfg.swap_share
    );
    if profile != ProfileArg::Default {
        source = format!(
            "{source}, profile {}: {} LP pools, add/remove/route shares {}/{}/{}",
            profile.name(),
            cfg.lp_pools,
            cfg.add_liquidity_share,
            cfg.remove_liquidity_share,
            cfg.route_share
        );
    }
    Ok((state, generated.blocks, source))
}

/// The signature checks of every decodable transaction, in block order.
pub fn checks_of(blocks: &[Block]) -> Vec<SigCheck<'_>> {
    blocks
        .iter()
        .flat_map(|b| b.txs())
        .filter_map(|bytes| {
            Tx::decode(bytes).map(|t| SigCheck {
                public_key: t.signer,
                signature: t.signature,
                message: &bytes[64..],
            })
        })
        .collect()
}

/// An engine for one backend, or why there is none. A software GPU adapter is passed
/// over unless the backend was named explicitly.
fn open_engine(
    args: &BenchArgs,
    b: BackendArg,
    explicit: bool,
) -> anyhow::Result<Result<Engine, String>> {
    let backend: Backend = b.into();
    if backend == Backend::Gpu && !explicit {
        let adapter = super::env::adapter(args.adapter.as_deref());
        let backends = super::env::wgpu_backends();
        match txwave::internal::gpu::GpuContext::open(adapter.as_deref(), backends.as_deref()) {
            Ok(ctx) if ctx.adapter.is_software() => {
                return Ok(Err(format!(
                    "{} is a software renderer; name it with --backends cpu,gpu to time it anyway",
                    ctx.adapter.name
                )));
            }
            Err(e) => return Ok(Err(e.to_string())),
            Ok(_) => {}
        }
    }
    let engine = Engine::new(super::env::engine_config(EngineConfig {
        backend,
        threads: args.threads,
        adapter: args.adapter.clone(),
        gpu: args.gpu.tunables()?,
        placement: super::env::placement(args.calibration.as_deref(), args.no_calibration),
        ..Default::default()
    }));
    Ok(engine.map_err(|e| e.to_string()))
}

fn tunables_label(t: &txwave::internal::gpu::tunables::GpuTunables) -> String {
    let others: Vec<String> = Kernel::ALL
        .iter()
        .filter(|k| **k != Kernel::Verify)
        .map(|k| format!("{}={}", k.name(), t.workgroup_size(*k)))
        .collect();
    format!("verify {} {}", t.verify.label(), others.join(","))
}

pub fn bench(args: BenchArgs) -> CliResult {
    let started = std::time::Instant::now();
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base_tunables = args.gpu.tunables()?;
    let loaded = workloads(&args)?;
    let several = loaded.len() > 1;
    let blocks = &loaded[0].blocks;
    let checks = checks_of(blocks);
    let msgs: Vec<&[u8]> = blocks.iter().flat_map(|b| b.txs()).collect();
    if args.sweep && (checks.is_empty() || msgs.is_empty()) {
        return Err(anyhow::anyhow!("the workload has no transactions to sweep over").into());
    }
    let plan = Plan {
        warmup: args.warmup,
        repeat: args.repeat,
        max_call_s: args.max_call_s,
        deadline: args
            .time_limit
            .map(|s| started + std::time::Duration::from_secs_f64(s)),
    };

    let explicit = args.backends.is_some();
    let mut asked = args
        .backends
        .clone()
        .unwrap_or(vec![BackendArg::Cpu, BackendArg::Gpu]);
    asked.dedup_by_key(|b| backend_name(*b));
    let mut engines: Vec<(BackendArg, Engine)> = Vec::new();
    let mut unavailable = Vec::new();
    for &b in &asked {
        match open_engine(&args, b, explicit)? {
            Ok(e) => {
                if b == BackendArg::Gpu || e.backend() == Backend::Gpu {
                    eprintln!("bench: {} on {}", backend_name(b), e.device_name());
                }
                engines.push((b, e))
            }
            Err(reason) => unavailable.push(Unavailable {
                backend: backend_name(b).into(),
                reason,
            }),
        }
    }
    let find = |want: BackendArg| {
        engines
            .iter()
            .find(|(b, _)| backend_name(*b) == backend_name(want))
            .map(|(_, e)| e)
    };
    let adapter = engines
        .iter()
        .find_map(|(_, e)| e.gpu_context().map(|c| c.adapter.clone()));
    // Filled in as the measurements end, and written to --out after each (`finished`
    // false until the end), so that a bench stopped from outside leaves what it measured.
    let mut report = Report {
        command: std::env::args().collect(),
        started_unix_s,
        machine: Machine::this(
            engines
                .first()
                .map_or(rayon::current_num_threads(), |(_, e)| e.threads()),
        ),
        adapter: adapter.clone(),
        workload: loaded[0].describe(),
        workloads: loaded.iter().map(Loaded::describe).collect(),
        plan,
        e2e: Vec::new(),
        unavailable,
        auto_thresholds: find(BackendArg::Auto).map(|e| e.auto_thresholds().clone()),
        sweep: None,
        wall_s: 0.0,
        finished: false,
    };

    // The CPU verifier's verdicts on the first workload: what the sweep and the end-to-end
    // raw verifications are checked against, made once for both.
    let mut verdicts0: Option<[Vec<bool>; 2]> = None;

    // The sweep first: under a --time-limit its figures matter most.
    let sweep = if args.sweep {
        let backends = sweep::Backends {
            cpu: find(BackendArg::Cpu),
            gpu: find(BackendArg::Gpu).filter(|e| e.gpu_context().is_some()),
            auto: find(BackendArg::Auto),
        };
        let software = adapter.as_ref().is_some_and(|a| a.is_software());
        Some(run_sweep(
            &args,
            &checks,
            verdicts0.get_or_insert_with(|| sweep::cpu_verdicts(&checks)),
            &msgs,
            software,
            &base_tunables,
            plan,
            &backends,
            &mut |so_far| {
                report.sweep = Some(so_far.clone());
                save_partial(&args, &mut report, started)
            },
        )?)
    } else {
        None
    };
    report.sweep = sweep;
    save_partial(&args, &mut report, started)?;

    // Past --time-limit no end-to-end row would start: the CPU engine's pass is not made.
    let late = if args.no_e2e {
        None
    } else {
        plan.check_deadline().err()
    };
    if let Some(e) = &late {
        report.unavailable.push(Unavailable {
            backend: "end to end".into(),
            reason: format!("{e:#}"),
        });
    }
    if !args.no_e2e && late.is_none() {
        // What every pass must reproduce, per workload: one pass of a CPU engine.
        let all_checks: Vec<Vec<SigCheck<'_>>> = std::iter::once(checks.clone())
            .chain(loaded[1..].iter().map(|l| checks_of(&l.blocks)))
            .collect();
        let mut expected = Vec::with_capacity(loaded.len());
        for (w, (l, checks)) in loaded.iter().zip(&all_checks).enumerate() {
            eprintln!(
                "bench: the CPU engine's roots of the {} workload",
                l.profile
            );
            let verdicts = match (w, verdicts0.take()) {
                (0, Some(v)) => v,
                _ => sweep::cpu_verdicts(checks),
            };
            expected.push(
                e2e::Expected::of(&l.genesis, &l.blocks, verdicts, args.threads)
                    .with_context(|| format!("the {} workload on the CPU", l.profile))?,
            );
        }
        let inputs: Vec<e2e::Input<'_>> = loaded
            .iter()
            .zip(&all_checks)
            .zip(&expected)
            .map(|((l, checks), expected)| e2e::Input {
                genesis: &l.genesis,
                blocks: &l.blocks,
                checks,
                rule: l.genesis.verify_rule(),
                profile: &l.profile,
                expected,
            })
            .collect();
        for (l, input) in loaded.iter().zip(&inputs) {
            for (b, engine) in &engines {
                let name = backend_name(*b);
                let label = if several {
                    format!("{name} {}", l.profile)
                } else {
                    name.to_string()
                };
                eprintln!("bench: end to end on {label}");
                let tunables = engine.gpu_context().map(|_| tunables_label(&base_tunables));
                match e2e::run(engine, name, &label, input, &plan, tunables) {
                    Ok(row) => report.e2e.push(row),
                    Err(e) => report.unavailable.push(Unavailable {
                        backend: format!("{label} end to end"),
                        reason: sweep::fatal(e)?,
                    }),
                }
                save_partial(&args, &mut report, started)?;
            }
        }
        // With --sweep on a GPU: the other kernels' workgroup sizes end to end.
        let gpu_engine = find(BackendArg::Gpu).and_then(|e| e.gpu_context());
        let software = gpu_engine.is_some_and(|c| c.adapter.is_software());
        if args.sweep && software && !args.e2e_workgroups {
            report.unavailable.push(Unavailable {
                backend: "gpu workgroup sizes end to end".into(),
                reason: "not run on a software adapter unless --e2e-workgroups is given (an engine per size takes minutes there); the sweep still compares the verify and hash kernels' sizes".into(),
            });
        }
        if args.sweep && gpu_engine.is_some() && (!software || args.e2e_workgroups) {
            workgroup_rows(
                &args,
                &base_tunables,
                &inputs[0],
                &plan,
                &mut report,
                started,
            )?;
        }
    }

    report.wall_s = started.elapsed().as_secs_f64();
    report.finished = true;
    emit_report(&args, &report)?;
    Ok(())
}

/// Writes the report measured so far to `--out DIR/bench.json` (`finished` false).
fn save_partial(
    args: &BenchArgs,
    report: &mut Report,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    let Some(dir) = &args.out else {
        return Ok(());
    };
    report.wall_s = started.elapsed().as_secs_f64();
    write_json(dir, report)
}

/// `DIR/bench.json`, written atomically.
fn write_json(dir: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).context("cannot encode the report")?;
    write_atomically(&dir.join("bench.json"), json.as_bytes())
}

/// End to end on the GPU with every other kernel at each workgroup size of the sweep
/// (the verifier keeps its variant): a row each, or why one could not run.
fn workgroup_rows(
    args: &BenchArgs,
    base_tunables: &txwave::GpuTunables,
    input: &e2e::Input<'_>,
    plan: &Plan,
    report: &mut Report,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    let base_tunables = *base_tunables;
    for wg in SWEEP_WORKGROUP_SIZES {
        if wg == DEFAULT_WORKGROUP_SIZE && base_tunables == Default::default() {
            continue;
        }
        let mut t = base_tunables;
        for k in Kernel::ALL.iter().filter(|k| **k != Kernel::Verify) {
            t.set_workgroup_size(*k, wg);
        }
        eprintln!("bench: end to end on gpu, workgroup size {wg}");
        let engine = match Engine::new(super::env::engine_config(EngineConfig {
            backend: Backend::Gpu,
            threads: args.threads,
            adapter: args.adapter.clone(),
            gpu: t,
            ..Default::default()
        })) {
            Ok(e) => e,
            Err(e) => {
                report.unavailable.push(Unavailable {
                    backend: format!("gpu {}", tunables_label(&t)),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        match e2e::run(
            &engine,
            "gpu",
            &format!("gpu wg{wg}"),
            input,
            plan,
            Some(tunables_label(&t)),
        ) {
            Ok(row) => report.e2e.push(row),
            Err(e) => report.unavailable.push(Unavailable {
                backend: format!("gpu wg{wg} end to end"),
                reason: sweep::fatal(e)?,
            }),
        }
        save_partial(args, report, started)?;
    }
    Ok(())
}

/// `--sweep`: every stage at every batch size (and, with `--variants all`, every verifier
/// variant and workgroup size) on the backends that opened.
#[allow(clippy::too_many_arguments)]
fn run_sweep(
    args: &BenchArgs,
    checks: &[SigCheck<'_>],
    verdicts: &[Vec<bool>; 2],
    msgs: &[&[u8]],
    software: bool,
    base_tunables: &txwave::GpuTunables,
    plan: Plan,
    backends: &sweep::Backends<'_>,
    measured: &mut dyn FnMut(&sweep::SweepReport) -> anyhow::Result<()>,
) -> anyhow::Result<sweep::SweepReport> {
    let mut sizes = args.sizes.clone().unwrap_or(sweep::DEFAULT_SIZES.to_vec());
    if let Some(max) = args.max_size {
        sizes.retain(|n| *n <= max);
    }
    sizes.retain(|n| *n > 0);
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        return Err(anyhow::anyhow!(
            "no batch size left to sweep (see --sizes, --max-size)"
        ));
    }
    let rules: Vec<VerifyRule> = args
        .rules
        .clone()
        .map(|r| r.into_iter().map(VerifyRule::from).collect())
        .unwrap_or(vec![VerifyRule::Strict, VerifyRule::Zip215]);
    let inputs = sweep::Inputs {
        checks: checks.to_vec(),
        verdicts: verdicts.clone(),
        msgs: msgs.to_vec(),
        ids: msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect(),
    };
    let (variants, variant_workgroups, hash_workgroups) = match args.variants {
        VariantsArg::All | VariantsArg::Grid => {
            let sizes = args
                .variant_workgroup_sizes
                .clone()
                .unwrap_or(SWEEP_WORKGROUP_SIZES.to_vec());
            for &wg in &sizes {
                txwave::internal::gpu::tunables::check_workgroup_size(wg)
                    .context("--variant-workgroup-sizes")?;
            }
            if matches!(args.variants, VariantsArg::Grid) {
                (VerifyVariant::all(&sizes), Vec::new(), sizes)
            } else {
                let first = if sizes.contains(&DEFAULT_WORKGROUP_SIZE) {
                    DEFAULT_WORKGROUP_SIZE
                } else {
                    sizes[0]
                };
                (VerifyVariant::all(&[first]), sizes.clone(), sizes)
            }
        }
        VariantsArg::Engine => (
            vec![base_tunables.verify],
            Vec::new(),
            vec![base_tunables.hash_workgroup_size],
        ),
    };
    let cfg = sweep::SweepConfig {
        sizes,
        rules,
        hash: true,
        variants,
        variant_workgroups,
        hash_workgroups,
        variant_size: args
            .variant_size
            .unwrap_or(if software { 1024 } else { 65536 }),
        plan,
    };
    sweep::run(&cfg, &inputs, backends, true, measured)
}

/// Writes the report to `--out DIR` (JSON and chart) and prints it (JSON or tables).
fn emit_report(args: &BenchArgs, report: &Report) -> anyhow::Result<()> {
    if let Some(dir) = &args.out {
        write_json(dir, report)?;
        let svg = chart::svg(
            &chart_title(report),
            report.sweep.as_ref().map_or(&[][..], |s| &s.rows[..]),
            &report.e2e,
        )?;
        write_atomically(&dir.join("bench.svg"), svg.as_bytes())?;
        eprintln!(
            "bench: wrote {} and {}",
            dir.join("bench.json").display(),
            dir.join("bench.svg").display()
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).context("cannot encode the report")?
        );
    } else {
        print_report(report);
    }
    Ok(())
}

fn chart_title(r: &Report) -> String {
    let adapter = r.adapter.as_ref().map_or("no GPU".to_string(), |a| {
        format!("{} ({})", a.name, a.driver)
    });
    format!("txwave bench — {} — {adapter}", r.machine.describe())
}

fn print_report(r: &Report) {
    println!(
        "txwave bench on {}; {}",
        r.machine.describe(),
        r.adapter
            .as_ref()
            .map_or("no GPU adapter".to_string(), |a| format!(
                "adapter {} ({}, {}, driver {})",
                a.name, a.backend, a.device_type, a.driver
            ))
    );
    for w in &r.workloads {
        println!(
            "workload {}: {} ({} blocks, {} txs, rule {})",
            w.profile,
            w.source,
            w.blocks,
            w.txs,
            w.rule.name(),
        );
    }
    println!(
        "median of {} after {} warm-up",
        r.plan.repeat, r.plan.warmup
    );
    for u in &r.unavailable {
        println!("\n{}: unavailable ({})", u.backend, u.reason);
    }
    if let Some(t) = &r.auto_thresholds {
        println!("\n{}", t.describe());
        if let Some(n) = &t.note {
            println!("  {n}");
        }
    }
    for row in &r.e2e {
        println!(
            "\n{} ({} workload) on {}{}",
            row.backend,
            row.workload,
            row.device,
            row.tunables
                .as_ref()
                .map_or(String::new(), |t| format!(" [{t}]"))
        );
        let s = &row.stages_ns;
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
            "  end to end {:>9.2} ms = {:.0} tx/s (spread {:.0}%); streamed {:.0} tx/s",
            row.time.median_ns as f64 / 1e6,
            row.tx_per_s,
            row.time.spread * 100.0,
            row.stream_tx_per_s
        );
        let raw: Vec<String> = row
            .raw_verify_per_s
            .iter()
            .map(|(rule, v)| format!("{} {v:.0} sig/s", rule.name()))
            .collect();
        println!(
            "  raw verify {}; streamed / raw verify = {:.2}",
            raw.join(", "),
            row.stream_over_raw_verify
        );
        for f in &row.fallbacks {
            println!("  fell back: {f}");
        }
        println!("  checked: {}", row.checked);
    }
    let Some(s) = &r.sweep else { return };
    if !s.variants.is_empty() {
        println!(
            "\nGPU variants (every call's answers, warm-up included, equal to the CPU \
             verifier's verdicts or the blake3 crate's ids):"
        );
        for v in &s.variants {
            let built = v
                .compile_s
                .map_or(String::new(), |c| format!("  (built in {c:.2} s)"));
            println!(
                "  {:<14} {:<26} {:>8} items {:>14.0}/s{built}",
                sweep::stage_name(v.stage),
                v.variant,
                v.size,
                v.per_s,
            );
        }
    }
    println!(
        "\nsweep (items per second, median; every call's answers, warm-up included, equal \
         to the CPU verifier's verdicts or the blake3 crate's ids):"
    );
    for row in &s.rows {
        let phases = row.gpu.map_or(String::new(), |g| {
            format!(
                "  upload {:.2} ms, dispatch {:.2} ms, readback {:.2} ms",
                g.upload_ns as f64 / 1e6,
                g.dispatch_ns as f64 / 1e6,
                g.readback_ns as f64 / 1e6
            )
        });
        println!(
            "  {:<14} {:<5} {:>8} {:>14.0}/s{phases}",
            sweep::stage_name(row.stage),
            row.backend,
            row.size,
            row.per_s
        );
    }
    s.print_outcome("");
}
