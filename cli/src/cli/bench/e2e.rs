//! End to end: a whole log through `process_block` on one backend, per stage, with the raw
//! verification rate of the same signatures under each rule beside it and the streamed
//! pipeline's rate (`process_stream`, what `txwave run` does).

use serde::Serialize;
use txwave::internal::engine::{StageGpuTimings, StageTimings};
use txwave::{Block, Engine, SigCheck, State, StreamOptions, VerifyRule};

use super::measure::{Plan, Stats, median};

/// One backend's end-to-end result.
#[derive(Debug, Clone, Serialize)]
pub struct E2eRow {
    /// `cpu`, `gpu` or `auto` as asked.
    pub backend: String,
    /// The workload's profile (`default`, `dex`), or `files`.
    pub workload: String,
    /// Short name in the chart: the backend, and a workgroup size when it is not the
    /// engine's own (`gpu wg256`).
    pub label: String,
    /// The device that ran it.
    pub device: String,
    /// GPU tunables of the engine, when it had a GPU.
    pub tunables: Option<String>,
    /// Transactions per pass.
    pub txs: usize,
    /// Blocks per pass.
    pub blocks: usize,
    /// Wall time of one pass over every block (`process_block` one after another).
    pub time: Stats,
    /// Transactions per second at the median.
    pub tx_per_s: f64,
    /// Median of each stage's time per pass (summed over the blocks).
    pub stages_ns: StageTimings,
    /// The GPU's phases per stage in the median pass.
    pub gpu_stages: StageGpuTimings,
    /// Wall time of one pass through `process_stream` (blocks overlapped).
    pub stream_time: Stats,
    /// Transactions per second of the stream at the median.
    pub stream_tx_per_s: f64,
    /// Signatures per second of `verify_signatures` on the pass's signatures, per rule.
    pub raw_verify_per_s: Vec<(VerifyRule, f64)>,
    /// `stream_tx_per_s` over the raw verification rate of the chain's rule.
    pub stream_over_raw_verify: f64,
    /// GPU errors the engine fell back from during the passes.
    pub fallbacks: Vec<String>,
}

/// What an end-to-end run replays.
pub struct Input<'a> {
    /// The state before the first block.
    pub genesis: &'a State,
    /// The blocks, in order.
    pub blocks: &'a [Block],
    /// Their signature checks (for the raw verification rate).
    pub checks: &'a [SigCheck<'a>],
    /// The chain's rule.
    pub rule: VerifyRule,
    /// The workload's profile (`default`, `dex`), or `files`.
    pub profile: &'a str,
}

/// Runs the log `plan.warmup` times untimed and `plan.repeat` times timed.
pub fn run(
    engine: &Engine,
    backend: &str,
    label: &str,
    input: &Input<'_>,
    plan: &Plan,
    tunables: Option<String>,
) -> anyhow::Result<E2eRow> {
    let Input {
        genesis,
        blocks,
        checks,
        rule,
        profile,
    } = *input;
    plan.check_deadline()?;
    // A row once started is finished: its own calls ignore the deadline.
    let plan = &Plan {
        deadline: None,
        ..*plan
    };
    let txs: usize = blocks.iter().map(Block::tx_count).sum();
    let mut passes: Vec<(u64, StageTimings, StageGpuTimings)> = Vec::new();
    let mut fallbacks = Vec::new();
    let mut passes_left = plan.warmup + plan.repeat.max(1);
    let mut pass = 0;
    while pass < passes_left {
        let mut state = genesis.clone();
        let mut stages = StageTimings::default();
        let mut gpu = StageGpuTimings::default();
        let t = std::time::Instant::now();
        for block in blocks {
            let out = engine.process_block(&mut state, block)?;
            stages.add(&out.timings);
            gpu.add(&out.gpu_timings);
            fallbacks.extend(out.fallbacks);
        }
        let ns = t.elapsed().as_nanos() as u64;
        if pass >= plan.warmup {
            passes.push((ns, stages, gpu));
        } else if ns as f64 / 1e9 > plan.max_call_s {
            // Over budget: one timed pass after the warm-up, as every other measurement.
            passes_left = plan.warmup + 1;
        }
        pass += 1;
    }
    let time = Stats::of(passes.iter().map(|p| p.0).collect());
    let pick = |f: fn(&StageTimings) -> u64| median(passes.iter().map(|p| f(&p.1)).collect());
    let stages_ns = StageTimings {
        decode_ns: pick(|s| s.decode_ns),
        hash_ns: pick(|s| s.hash_ns),
        verify_ns: pick(|s| s.verify_ns),
        resolve_ns: pick(|s| s.resolve_ns),
        schedule_ns: pick(|s| s.schedule_ns),
        execute_ns: pick(|s| s.execute_ns),
        commit_ns: pick(|s| s.commit_ns),
        total_ns: pick(|s| s.total_ns),
    };
    let gpu_stages = passes
        .iter()
        .find(|p| p.0 == time.median_ns)
        .map(|p| p.2)
        .unwrap_or_default();

    let stream = plan.time(|| -> anyhow::Result<_> {
        let mut state = genesis.clone();
        let summary = engine.process_stream(
            &mut state,
            blocks.iter().cloned().map(Ok),
            &StreamOptions::default(),
        )?;
        anyhow::ensure!(
            summary.blocks == blocks.len(),
            "the stream applied {} of {} blocks",
            summary.blocks,
            blocks.len()
        );
        Ok(None)
    })?;

    let mut raw_verify_per_s = Vec::new();
    for r in [VerifyRule::Strict, VerifyRule::Zip215] {
        let t = plan.time(|| -> anyhow::Result<_> {
            std::hint::black_box(engine.verify_signatures(checks, r)?);
            Ok(None)
        })?;
        raw_verify_per_s.push((r, t.stats.per_s(checks.len())));
    }
    let stream_tx_per_s = stream.stats.per_s(txs);
    let raw = raw_verify_per_s
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or(0.0, |p| p.1);
    fallbacks.sort();
    fallbacks.dedup();
    Ok(E2eRow {
        backend: backend.to_string(),
        workload: profile.to_string(),
        label: label.to_string(),
        device: engine.device_name(),
        tunables,
        txs,
        blocks: blocks.len(),
        tx_per_s: time.per_s(txs),
        time,
        stages_ns,
        gpu_stages,
        stream_tx_per_s,
        stream_time: stream.stats,
        raw_verify_per_s,
        stream_over_raw_verify: if raw > 0.0 {
            stream_tx_per_s / raw
        } else {
            0.0
        },
        fallbacks,
    })
}
