//! `--sweep`: verify (each rule) and hash over growing batch sizes on each backend, the
//! GPU's phases apart, the break-even size of every stage, and a table of every GPU
//! variant (verifier shape, base-point table, workgroup sizes) at one size.
//!
//! Every GPU result is checked against the CPU's on the same items before it is timed:
//! a variant that answered differently would be reported as an error, never as a speed.

use anyhow::{Context, bail};
use serde::Serialize;
use txwave::internal::calibration::{BreakEven, break_even_of};
use txwave::internal::gpu::GpuContext;
use txwave::internal::gpu::tunables::VerifyVariant;
use txwave::internal::hash::gpu::GpuHasher;
use txwave::internal::split::Stage;
use txwave::internal::verify::gpu::GpuVerifier;
use txwave::{Engine, SigCheck, VerifyRule};

use super::measure::{GpuPhases, Plan, Stats};

/// Batch sizes of a default sweep: 256 to 1M, ×4.
pub const DEFAULT_SIZES: [usize; 7] = [256, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20];

/// The items a sweep draws its batches from: a batch of `n` cycles through them.
pub struct Inputs<'a> {
    /// Signature checks (the workload's transactions).
    pub checks: Vec<SigCheck<'a>>,
    /// The CPU's verdict on each check, per rule (`[strict, zip215]`).
    pub verdicts: [Vec<bool>; 2],
    /// Messages to hash (the workload's transactions: their ids).
    pub msgs: Vec<&'a [u8]>,
    /// The blake3 crate's hash of each message.
    pub ids: Vec<[u8; 32]>,
}

/// The CPU verifier's verdict on each check, per rule (`[strict, zip215]`).
pub fn cpu_verdicts(checks: &[SigCheck<'_>]) -> [Vec<bool>; 2] {
    [VerifyRule::Strict, VerifyRule::Zip215]
        .map(|r| txwave::internal::verify::cpu::verify_signatures(checks, r))
}

impl<'a> Inputs<'a> {
    fn checks(&self, n: usize) -> Vec<SigCheck<'a>> {
        (0..n).map(|i| self.checks[i % self.checks.len()]).collect()
    }

    fn verdicts(&self, rule: VerifyRule, n: usize) -> Vec<bool> {
        let v = &self.verdicts[rule_index(rule)];
        (0..n).map(|i| v[i % v.len()]).collect()
    }

    fn msgs(&self, n: usize) -> Vec<&'a [u8]> {
        (0..n).map(|i| self.msgs[i % self.msgs.len()]).collect()
    }

    fn ids(&self, n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| self.ids[i % self.ids.len()]).collect()
    }

    /// What a point of `stage` at batch size `n` is checked against, in words.
    fn checked(&self, stage: Stage, n: usize) -> String {
        match stage {
            Stage::Hash => format!("{n} ids equal to the blake3 crate's"),
            _ => {
                let verdicts = self.verdicts(rule_of(stage), n);
                let rejected = verdicts.iter().filter(|ok| !**ok).count();
                format!("{n} verdicts ({rejected} rejections) equal to the CPU verifier's")
            }
        }
    }
}

pub fn rule_index(rule: VerifyRule) -> usize {
    match rule {
        VerifyRule::Strict => 0,
        VerifyRule::Zip215 => 1,
    }
}

/// The sweep's stage for a rule.
pub fn verify_stage(rule: VerifyRule) -> Stage {
    Stage::verify(rule)
}

/// One backend's rate at one batch size.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `verify_strict`, `verify_zip215` or `hash`.
    pub stage: Stage,
    /// `cpu`, `gpu` or `auto`.
    pub backend: &'static str,
    /// The GPU verifier variant or hash workgroup size, for `gpu` rows.
    pub variant: Option<String>,
    /// Items in the batch.
    pub size: usize,
    /// Wall time of one call.
    pub time: Stats,
    /// Items per second at the median.
    pub per_s: f64,
    /// Upload, dispatch and readback apart, for `gpu` rows.
    pub gpu: Option<GpuPhases>,
    /// What every call's answer was compared with, warm-up included (a different answer
    /// ends the bench with an error).
    pub checked: String,
}

/// A size not measured, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The stage.
    pub stage: Stage,
    /// The backend.
    pub backend: &'static str,
    /// The first size skipped (every larger one is skipped too).
    pub from_size: usize,
    /// Why.
    pub reason: String,
}

/// One GPU variant at the variant-table size.
#[derive(Debug, Clone, Serialize)]
pub struct VariantRow {
    /// The stage.
    pub stage: Stage,
    /// Label, e.g. `straight/table/wg128` or `wg256` for the hash kernel.
    pub variant: String,
    /// Items in the batch.
    pub size: usize,
    /// Wall time of one call.
    pub time: Stats,
    /// Items per second at the median.
    pub per_s: f64,
    /// The GPU's phases.
    pub gpu: Option<GpuPhases>,
    /// Seconds to build the variant's pipeline (the pipeline cache may make it short);
    /// `None` for a hash kernel the engine had already built.
    pub compile_s: Option<f64>,
    /// What every call's answer was compared with, warm-up included.
    pub checked: String,
}

/// Where the GPU overtakes the CPU on one stage.
#[derive(Debug, Clone, Serialize)]
pub struct BreakEvenRow {
    /// The stage.
    pub stage: Stage,
    /// Smallest measured size from which the GPU was faster at every larger measured
    /// size; `None` = never up to `largest_measured`.
    pub size: Option<usize>,
    /// Largest size measured on both.
    pub largest_measured: usize,
    /// In words: `4096` or `never up to 1048576`.
    pub text: String,
}

impl BreakEvenRow {
    /// As a calibration entry.
    pub fn to_calibration(&self) -> BreakEven {
        BreakEven {
            stage: self.stage,
            batch: self.size,
            largest_measured: self.largest_measured,
        }
    }
}

/// What a sweep measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Sizes asked for.
    pub sizes: Vec<usize>,
    /// Every measured point.
    pub rows: Vec<Row>,
    /// Sizes left out (budget, errors).
    pub skipped: Vec<Skipped>,
    /// Every GPU variant at one size, per stage.
    pub variants: Vec<VariantRow>,
    /// The variant the `gpu` rows of each stage used (the fastest in `variants`).
    pub gpu_variant_used: Vec<(Stage, String)>,
    /// Break-even per stage (where both `cpu` and `gpu` were measured).
    pub break_even: Vec<BreakEvenRow>,
}

impl SweepReport {
    /// Prints the sizes left out and the break-even size of each stage, one line each.
    pub fn print_outcome(&self, indent: &str) {
        for k in &self.skipped {
            println!(
                "{indent}{} {} from {}: not measured ({})",
                stage_name(k.stage),
                k.backend,
                k.from_size,
                k.reason
            );
        }
        for b in &self.break_even {
            println!("{indent}break-even {}: {}", stage_name(b.stage), b.text);
        }
    }
}

/// What to sweep.
pub struct SweepConfig {
    /// Batch sizes, ascending.
    pub sizes: Vec<usize>,
    /// Rules to verify under.
    pub rules: Vec<VerifyRule>,
    /// Whether to sweep the hash stage.
    pub hash: bool,
    /// GPU verifier variants to compare (empty: only the engine's own).
    pub variants: Vec<VerifyVariant>,
    /// Workgroup sizes the fastest of `variants` (best sum over the rules) is then timed
    /// at too.
    pub variant_workgroups: Vec<u32>,
    /// Workgroup sizes of the hash kernel to compare.
    pub hash_workgroups: Vec<u32>,
    /// Size of the variant table (capped by the largest sweep size).
    pub variant_size: usize,
    /// Repetitions and budget.
    pub plan: Plan,
}

/// The backends a sweep runs on.
pub struct Backends<'e> {
    /// CPU engine.
    pub cpu: Option<&'e Engine>,
    /// GPU engine (its context builds the variants).
    pub gpu: Option<&'e Engine>,
    /// Auto engine.
    pub auto: Option<&'e Engine>,
}

/// Runs the sweep, printing progress lines to stderr when `verbose`; `measured` sees the
/// report so far after each variant and each stage's sizes (a caller may save it).
pub fn run(
    cfg: &SweepConfig,
    inputs: &Inputs<'_>,
    b: &Backends<'_>,
    verbose: bool,
    measured: &mut dyn FnMut(&SweepReport) -> anyhow::Result<()>,
) -> anyhow::Result<SweepReport> {
    let mut rep = SweepReport {
        sizes: cfg.sizes.clone(),
        ..Default::default()
    };
    let say = |s: String| {
        if verbose {
            eprintln!("sweep: {s}");
        }
    };
    // GPU variants first: the size sweep uses the fastest.
    let gpu_engine = b.gpu.filter(|e| e.gpu_context().is_some());
    let gpu_ctx = gpu_engine.and_then(|e| e.gpu_context());
    let vsize = cfg
        .variant_size
        .min(cfg.sizes.last().copied().unwrap_or(cfg.variant_size))
        .max(1);
    let mut verifiers: Vec<(VerifyVariant, Kept<'_, GpuVerifier>)> = Vec::new();
    let mut best_verify: Vec<(Stage, usize)> = Vec::new();
    let mut best_hash: Option<(u32, Kept<'_, GpuHasher>)> = None;
    if let (Some(engine), Some(ctx)) = (gpu_engine, gpu_ctx) {
        // Each variant is built once and timed under every rule: first `cfg.variants`, then
        // the one of them with the best sum of its rules' rates at every size of
        // `cfg.variant_workgroups` (a shape is worth far more than a workgroup size, and
        // each variant is a pipeline to compile).
        let mut fastest: Vec<(Stage, f64, usize)> = Vec::new();
        let mut sums: Vec<(VerifyVariant, f64)> = Vec::new();
        let mut queue = cfg.variants.clone();
        let mut widened = false;
        let mut next = 0;
        loop {
            if next == queue.len() {
                if widened {
                    break;
                }
                widened = true;
                if let Some(&(best, _)) = sums.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                    for &wg in &cfg.variant_workgroups {
                        let v = VerifyVariant {
                            workgroup_size: wg,
                            ..best
                        };
                        if !queue.contains(&v) {
                            queue.push(v);
                        }
                    }
                }
                continue;
            }
            let v = queue[next];
            next += 1;
            let skip = |rep: &mut SweepReport, stage, reason: String| {
                rep.skipped.push(Skipped {
                    stage,
                    backend: "gpu",
                    from_size: vsize,
                    reason: format!("variant {}: {reason}", v.label()),
                })
            };
            let verifier =
                match cfg.plan.check_deadline().and_then(|()| {
                    verifier(engine, ctx, v).context("cannot build the GPU verifier")
                }) {
                    Ok(k) => k,
                    Err(e) => {
                        for &rule in &cfg.rules {
                            skip(&mut rep, verify_stage(rule), format!("{e:#}"));
                        }
                        continue;
                    }
                };
            let compile_s = Some(verifier.compile_time().as_secs_f64());
            for &rule in &cfg.rules {
                let stage = verify_stage(rule);
                say(format!(
                    "{} variant {} at {vsize}",
                    stage_name(stage),
                    v.label()
                ));
                let items = inputs.checks(vsize);
                let expect = inputs.verdicts(rule, vsize);
                let t = match cfg.plan.time(
                    || -> anyhow::Result<_> {
                        let (ok, t) = verifier.verify(ctx, &items, rule)?;
                        Ok((ok, Some(t)))
                    },
                    |ok| check_same(ok, &expect, &v.label()),
                ) {
                    Ok(t) => t,
                    Err(e) => {
                        skip(&mut rep, stage, fatal(e)?);
                        continue;
                    }
                };
                let per_s = t.stats.per_s(vsize);
                match sums.iter_mut().find(|s| s.0 == v) {
                    Some(s) => s.1 += per_s,
                    None => sums.push((v, per_s)),
                }
                match fastest.iter_mut().find(|f| f.0 == stage) {
                    Some(f) if per_s > f.1 => *f = (stage, per_s, verifiers.len()),
                    Some(_) => {}
                    None => fastest.push((stage, per_s, verifiers.len())),
                }
                rep.variants.push(VariantRow {
                    stage,
                    variant: v.label(),
                    size: vsize,
                    time: t.stats,
                    per_s,
                    gpu: t.gpu,
                    compile_s,
                    checked: inputs.checked(stage, vsize),
                });
            }
            verifiers.push((v, verifier));
            measured(&rep)?;
        }
        for (stage, _, i) in fastest {
            rep.gpu_variant_used.push((stage, verifiers[i].0.label()));
            best_verify.push((stage, i));
        }
        if cfg.hash {
            best_hash = hash_workgroups(cfg, inputs, engine, ctx, &mut rep, &say)?;
            measured(&rep)?;
        }
    }

    let mut stages: Vec<Stage> = cfg.rules.iter().map(|r| verify_stage(*r)).collect();
    if cfg.hash {
        stages.push(Stage::Hash);
    }
    let kernel_of = |stage: Stage| match stage {
        Stage::Hash => best_hash
            .as_ref()
            .map(|(wg, h)| GpuKernel::Hash(h, format!("wg{wg}"))),
        _ => best_verify.iter().find(|(s, _)| *s == stage).map(|(_, i)| {
            let (v, k) = &verifiers[*i];
            GpuKernel::Verify(k, v.label())
        }),
    };
    for &stage in &stages {
        sizes_of_stage(cfg, inputs, b, stage, &kernel_of, &mut rep, &say)?;
        measured(&rep)?;
        if b.cpu.is_some() && gpu_ctx.is_some() {
            // Only where both backends measured at least one common size.
            let be = break_even(&rep.rows, stage);
            if be.largest_measured > 0 {
                rep.break_even.push(be);
            }
        }
    }
    Ok(rep)
}

/// One stage at every batch size of the sweep on every backend (the GPU with the
/// variant `kernel_of` gives), each backend up to the first size that fails or runs over
/// the budget per call.
fn sizes_of_stage<'k>(
    cfg: &SweepConfig,
    inputs: &Inputs<'_>,
    b: &Backends<'_>,
    stage: Stage,
    kernel_of: &dyn Fn(Stage) -> Option<GpuKernel<'k>>,
    rep: &mut SweepReport,
    say: &dyn Fn(String),
) -> anyhow::Result<()> {
    for (backend, engine) in [("cpu", b.cpu), ("auto", b.auto), ("gpu", b.gpu)] {
        let Some(engine) = engine else { continue };
        let kernel = kernel_of(stage);
        if backend == "gpu" && kernel.is_none() {
            continue;
        }
        for (i, &n) in cfg.sizes.iter().enumerate() {
            say(format!("{} {backend} {n}", stage_name(stage)));
            let measured = match (backend, &kernel) {
                ("gpu", Some(k)) => time_gpu(cfg, inputs, engine, stage, k, n),
                _ => time_engine(cfg, inputs, engine, stage, n),
            };
            let (t, variant) = match measured {
                Ok(v) => v,
                Err(e) => {
                    rep.skipped.push(Skipped {
                        stage,
                        backend,
                        from_size: n,
                        reason: fatal(e)?,
                    });
                    break;
                }
            };
            rep.rows.push(Row {
                stage,
                backend,
                variant,
                size: n,
                per_s: t.stats.per_s(n),
                time: t.stats,
                gpu: t.gpu,
                checked: inputs.checked(stage, n),
            });
            if t.over_budget
                && let Some(&next) = cfg.sizes.get(i + 1)
            {
                rep.skipped.push(Skipped {
                    stage,
                    backend,
                    from_size: next,
                    reason: format!(
                        "a call at size {n} took over the {} s budget per call (--max-call-s)",
                        cfg.plan.max_call_s
                    ),
                });
                break;
            }
        }
    }
    Ok(())
}

/// The GPU hash kernel at every workgroup size of the sweep, at its largest batch size;
/// the fastest is kept for the size sweep (`None` when none could be timed).
fn hash_workgroups<'e>(
    cfg: &SweepConfig,
    inputs: &Inputs<'_>,
    engine: &'e Engine,
    ctx: &GpuContext,
    rep: &mut SweepReport,
    say: &dyn Fn(String),
) -> anyhow::Result<Option<(u32, Kept<'e, GpuHasher>)>> {
    let mut fastest: Option<(f64, u32)> = None;
    for &wg in &cfg.hash_workgroups {
        say(format!(
            "hash workgroup size {wg} at {}",
            cfg.sizes.last().unwrap_or(&0)
        ));
        let n = *cfg.sizes.last().unwrap_or(&1);
        let built = std::time::Instant::now();
        let msgs = inputs.msgs(n);
        let expect = inputs.ids(n);
        let timed = cfg.plan.check_deadline().and_then(|()| {
            let hasher = hasher(engine, ctx, wg)?;
            let compile_s = matches!(hasher, Kept::Built(_)).then(|| built.elapsed().as_secs_f64());
            let t = cfg.plan.time(
                || -> anyhow::Result<_> {
                    let (ids, t) = hasher.hash_many(ctx, &msgs)?;
                    Ok((ids, Some(t)))
                },
                |ids| {
                    check_ids(
                        ids,
                        &expect,
                        &format!("the GPU hash kernel (workgroup size {wg})"),
                    )
                },
            )?;
            Ok((t, compile_s))
        });
        let (t, compile_s) = match timed {
            Ok(v) => v,
            Err(e) => {
                rep.skipped.push(Skipped {
                    stage: Stage::Hash,
                    backend: "gpu",
                    from_size: n,
                    reason: format!("hash workgroup size {wg}: {}", fatal(e)?),
                });
                continue;
            }
        };
        let per_s = t.stats.per_s(n);
        if fastest.is_none_or(|(r, _)| per_s > r) {
            fastest = Some((per_s, wg));
        }
        rep.variants.push(VariantRow {
            stage: Stage::Hash,
            variant: format!("wg{wg}"),
            size: n,
            time: t.stats,
            per_s,
            gpu: t.gpu,
            compile_s,
            checked: inputs.checked(Stage::Hash, n),
        });
    }
    let Some((_, wg)) = fastest else {
        return Ok(None);
    };
    rep.gpu_variant_used.push((Stage::Hash, format!("wg{wg}")));
    Ok(Some((wg, hasher(engine, ctx, wg)?)))
}

/// A kernel that is either the engine's own or one built for the sweep.
pub enum Kept<'e, T> {
    /// The engine's own pipeline.
    Engine(&'e T),
    /// Built for the sweep.
    Built(T),
}

impl<T> std::ops::Deref for Kept<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Kept::Engine(t) => t,
            Kept::Built(t) => t,
        }
    }
}

/// A GPU kernel for the size sweep, with its label.
pub enum GpuKernel<'k> {
    /// A verifier variant.
    Verify(&'k GpuVerifier, String),
    /// A hasher at one workgroup size.
    Hash(&'k GpuHasher, String),
}

/// The engine's verifier when it is of variant `v`, else a new one.
fn verifier<'e>(
    engine: &'e Engine,
    ctx: &GpuContext,
    v: VerifyVariant,
) -> txwave::Result<Kept<'e, GpuVerifier>> {
    match engine.gpu_verifier() {
        Some(own) if engine.config().gpu.verify == v => Ok(Kept::Engine(own)),
        _ => build_verifier(ctx, v).map(Kept::Built),
    }
}

/// The engine's hasher when it has workgroup size `wg`, else a new one.
fn hasher<'e>(
    engine: &'e Engine,
    ctx: &GpuContext,
    wg: u32,
) -> txwave::Result<Kept<'e, GpuHasher>> {
    match engine.gpu_hasher() {
        Some(own) if engine.config().gpu.hash_workgroup_size == wg => Ok(Kept::Engine(own)),
        _ => build_hasher(ctx, wg).map(Kept::Built),
    }
}

fn time_gpu(
    cfg: &SweepConfig,
    inputs: &Inputs<'_>,
    engine: &Engine,
    stage: Stage,
    kernel: &GpuKernel,
    n: usize,
) -> anyhow::Result<(super::measure::Timed, Option<String>)> {
    let ctx = engine.gpu_context().context("no GPU")?;
    match (kernel, stage) {
        (GpuKernel::Verify(v, label), Stage::VerifyStrict | Stage::VerifyZip215) => {
            let rule = rule_of(stage);
            let items = inputs.checks(n);
            let expect = inputs.verdicts(rule, n);
            let t = cfg.plan.time(
                || -> anyhow::Result<_> {
                    let (ok, t) = v.verify(ctx, &items, rule)?;
                    Ok((ok, Some(t)))
                },
                |ok| check_same(ok, &expect, label),
            )?;
            Ok((t, Some(label.clone())))
        }
        (GpuKernel::Hash(h, label), Stage::Hash) => {
            let msgs = inputs.msgs(n);
            let expect = inputs.ids(n);
            let t = cfg.plan.time(
                || -> anyhow::Result<_> {
                    let (ids, t) = h.hash_many(ctx, &msgs)?;
                    Ok((ids, Some(t)))
                },
                |ids| check_ids(ids, &expect, &format!("the GPU hash kernel ({label})")),
            )?;
            Ok((t, Some(label.clone())))
        }
        _ => bail!("kernel and stage do not match"),
    }
}

fn time_engine(
    cfg: &SweepConfig,
    inputs: &Inputs<'_>,
    engine: &Engine,
    stage: Stage,
    n: usize,
) -> anyhow::Result<(super::measure::Timed, Option<String>)> {
    let t = match stage {
        Stage::VerifyStrict | Stage::VerifyZip215 => {
            let rule = rule_of(stage);
            let items = inputs.checks(n);
            let expect = inputs.verdicts(rule, n);
            cfg.plan.time(
                || Ok((engine.verify_signatures(&items, rule)?, None)),
                |ok| check_same(ok, &expect, "the engine"),
            )?
        }
        Stage::Hash => {
            let msgs = inputs.msgs(n);
            let expect = inputs.ids(n);
            cfg.plan.time(
                || Ok((engine.hash_many(&msgs)?, None)),
                |ids| check_ids(ids, &expect, "the engine"),
            )?
        }
    };
    Ok((t, None))
}

fn rule_of(stage: Stage) -> VerifyRule {
    match stage {
        Stage::VerifyStrict => VerifyRule::Strict,
        _ => VerifyRule::Zip215,
    }
}

/// The short name of a stage in reports.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::VerifyStrict => "verify_strict",
        Stage::VerifyZip215 => "verify_zip215",
        Stage::Hash => "hash",
    }
}

/// A GPU answer that differs from the CPU's: never a speed, always an error of the bench.
#[derive(Debug)]
pub struct Disagrees(pub String);

impl std::fmt::Display for Disagrees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wrong answer: {}", self.0)
    }
}

impl std::error::Error for Disagrees {}

/// `got` against `expect`, item by item: the first difference (or a different count) is
/// a [`Disagrees`] naming `who`, the item (`signature`, `message`) and the oracle.
pub fn check_equal<T: PartialEq>(
    got: &[T],
    expect: &[T],
    who: &str,
    item: &str,
    oracle: &str,
) -> anyhow::Result<()> {
    if got.len() != expect.len() {
        return Err(Disagrees(format!(
            "{who} returned {} answers for {} items",
            got.len(),
            expect.len()
        ))
        .into());
    }
    if let Some(i) = got.iter().zip(expect).position(|(a, b)| a != b) {
        return Err(Disagrees(format!("{who} disagrees with {oracle} on {item} {i}")).into());
    }
    Ok(())
}

fn check_same(got: &[bool], expect: &[bool], who: &str) -> anyhow::Result<()> {
    check_equal(got, expect, who, "signature", "the CPU verifier")
}

fn check_ids(got: &[[u8; 32]], expect: &[[u8; 32]], who: &str) -> anyhow::Result<()> {
    check_equal(got, expect, who, "message", "the blake3 crate")
}

/// Passes a wrong answer on; anything else (a limit, the deadline) is only a skip.
pub fn fatal(e: anyhow::Error) -> anyhow::Result<String> {
    if e.is::<Disagrees>() {
        Err(e)
    } else {
        Ok(format!("{e:#}"))
    }
}

/// Break-even of `stage` from the `cpu` and `gpu` rows at the sizes both measured.
pub fn break_even(rows: &[Row], stage: Stage) -> BreakEvenRow {
    let rate = |backend: &str, n: usize| {
        rows.iter()
            .find(|r| r.stage == stage && r.backend == backend && r.size == n)
            .map(|r| r.per_s)
    };
    let mut sizes: Vec<usize> = rows
        .iter()
        .filter(|r| r.stage == stage && r.backend == "cpu")
        .map(|r| r.size)
        .collect();
    sizes.sort_unstable();
    let both: Vec<(usize, f64, f64)> = sizes
        .iter()
        .filter_map(|&n| Some((n, rate("cpu", n)?, rate("gpu", n)?)))
        .collect();
    let largest_measured = both.last().map_or(0, |p| p.0);
    let size = break_even_of(both.iter().copied());
    BreakEvenRow {
        stage,
        size,
        largest_measured,
        text: match size {
            Some(n) => n.to_string(),
            None => format!("never up to {largest_measured}"),
        },
    }
}

/// The GPU verifier of one variant on `ctx`.
pub fn build_verifier(ctx: &GpuContext, v: VerifyVariant) -> txwave::Result<GpuVerifier> {
    GpuVerifier::new(ctx, v)
}

/// The GPU hasher at one workgroup size on `ctx`.
pub fn build_hasher(ctx: &GpuContext, workgroup_size: u32) -> txwave::Result<GpuHasher> {
    GpuHasher::new(
        ctx,
        &txwave::internal::gpu::tunables::GpuTunables {
            hash_workgroup_size: workgroup_size,
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stage: Stage, backend: &'static str, size: usize, per_s: f64) -> Row {
        Row {
            stage,
            backend,
            variant: None,
            size,
            time: Stats::of(vec![1]),
            per_s,
            gpu: None,
            checked: String::new(),
        }
    }

    #[test]
    fn break_even_reads_both_backends_at_common_sizes() {
        let s = Stage::Hash;
        let rows = vec![
            row(s, "cpu", 256, 100.0),
            row(s, "gpu", 256, 10.0),
            row(s, "cpu", 4096, 100.0),
            row(s, "gpu", 4096, 300.0),
            // Measured on the CPU only: not a common size.
            row(s, "cpu", 65536, 100.0),
        ];
        let b = break_even(&rows, s);
        assert_eq!((b.size, b.largest_measured), (Some(4096), 4096));
        let slow = vec![row(s, "cpu", 256, 100.0), row(s, "gpu", 256, 10.0)];
        let b = break_even(&slow, s);
        assert_eq!(b.size, None);
        assert_eq!(b.text, "never up to 256");
    }
}
