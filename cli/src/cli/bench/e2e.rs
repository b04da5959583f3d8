//! End to end: a whole log through `process_block` on one backend, per stage, with the raw
//! verification rate of the same signatures under each rule beside it and the streamed
//! pipeline's rate (`process_stream`, what `txwave run` does).

use serde::Serialize;
use txwave::internal::engine::{StageGpuTimings, StageTimings};
use txwave::{Block, BlockOutcome, Engine, SigCheck, State, StreamOptions, VerifyRule};

use super::measure::{Plan, Stats, median};
use super::sweep::{Disagrees, check_equal, rule_index};

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
    /// What every pass was compared with before its time counted (a difference ends the
    /// row with an error).
    pub checked: String,
}

/// What every end-to-end pass must reproduce: the roots of a pass of the CPU engine over
/// the same log, and the CPU verifier's verdicts on its signatures.
pub struct Expected {
    /// Per block: receipts root, state root and block hash.
    pub roots: Vec<[[u8; 32]; 3]>,
    /// The CPU's verdict on each signature check, per rule (`[strict, zip215]`).
    pub verdicts: [Vec<bool>; 2],
}

impl Expected {
    /// One pass of a CPU engine with `threads` workers over the log.
    /// `verdicts` are the CPU verifier's on the log's checks ([`super::sweep::cpu_verdicts`]).
    pub fn of(
        genesis: &State,
        blocks: &[Block],
        verdicts: [Vec<bool>; 2],
        threads: Option<usize>,
    ) -> anyhow::Result<Expected> {
        let engine = Engine::new(crate::cli::env::engine_config(txwave::EngineConfig {
            backend: txwave::Backend::Cpu,
            threads,
            ..Default::default()
        }))?;
        let mut state = genesis.clone();
        let mut roots = Vec::with_capacity(blocks.len());
        for block in blocks {
            roots.push(roots_of(&engine.process_block(&mut state, block)?));
        }
        Ok(Expected { roots, verdicts })
    }

    fn check_block(&self, i: usize, got: &[[u8; 32]; 3]) -> anyhow::Result<()> {
        let names = ["receipts root", "state root", "block hash"];
        for (k, name) in names.iter().enumerate() {
            if got[k] != self.roots[i][k] {
                return Err(Disagrees(format!(
                    "block {i}'s {name} {} differs from the CPU engine's {}",
                    hex(&got[k]),
                    hex(&self.roots[i][k])
                ))
                .into());
            }
        }
        Ok(())
    }

    fn check_verdicts(&self, rule: VerifyRule, got: &[bool]) -> anyhow::Result<()> {
        check_equal(
            got,
            &self.verdicts[rule_index(rule)],
            &format!("verify_signatures under {}", rule.name()),
            "signature",
            "the CPU verifier",
        )
    }
}

fn roots_of(o: &BlockOutcome) -> [[u8; 32]; 3] {
    [o.receipts_root, o.state_root, o.block_hash]
}

fn hex(b: &[u8; 32]) -> String {
    hex::encode(b)
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
    /// What every pass must reproduce.
    pub expected: &'a Expected,
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
        expected,
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
        let mut roots = Vec::with_capacity(blocks.len());
        for (i, block) in blocks.iter().enumerate() {
            // The CPU engine applied every block: an error here is a disagreement.
            let out = engine.process_block(&mut state, block).map_err(|e| {
                Disagrees(format!(
                    "block {i}: the CPU engine applied it, this engine failed: {e}"
                ))
            })?;
            stages.add(&out.timings);
            gpu.add(&out.gpu_timings);
            roots.push(roots_of(&out));
            fallbacks.extend(out.fallbacks);
        }
        let ns = t.elapsed().as_nanos() as u64;
        for (i, got) in roots.iter().enumerate() {
            expected.check_block(i, got)?;
        }
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

    let stream = plan.time(
        || -> anyhow::Result<_> {
            let mut state = genesis.clone();
            let summary = engine.process_stream(
                &mut state,
                blocks.iter().cloned().map(Ok),
                &StreamOptions::default(),
            )?;
            Ok(((summary.blocks, summary.state_root), None))
        },
        |(applied, root)| {
            anyhow::ensure!(
                *applied == blocks.len(),
                "the stream applied {applied} of {} blocks",
                blocks.len()
            );
            if let Some(last) = expected.roots.last()
                && *root != Some(last[1])
            {
                return Err(Disagrees(format!(
                    "the stream's final state root {} differs from the CPU engine's {}",
                    root.as_ref().map_or("(none)".into(), hex),
                    hex(&last[1])
                ))
                .into());
            }
            Ok(())
        },
    )?;

    let mut raw_verify_per_s = Vec::new();
    for r in [VerifyRule::Strict, VerifyRule::Zip215] {
        let t = plan.time(
            || Ok((engine.verify_signatures(checks, r)?, None)),
            |ok| expected.check_verdicts(r, ok),
        )?;
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
        checked: format!(
            "every pass: the {} blocks' receipts roots, state roots and block hashes equal to \
             a CPU engine's pass, the stream's final state root too, and the {} verdicts of \
             each raw verification equal to the CPU verifier's",
            blocks.len(),
            checks.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use txwave::internal::workload::{GenConfig, generate};

    #[test]
    fn a_pass_that_differs_from_the_cpu_engine_is_a_wrong_answer() {
        let generated = generate(
            &GenConfig {
                blocks: 2,
                txs_per_block: 60,
                accounts: 50,
                ..Default::default()
            },
            |_, _| {},
        )
        .unwrap();
        let genesis = State::from_genesis(&generated.genesis).unwrap();
        let blocks = &generated.blocks;
        let checks = super::super::checks_of(blocks);
        let plan = Plan {
            warmup: 1,
            repeat: 1,
            max_call_s: 1e9,
            deadline: None,
        };
        let engine = Engine::new(txwave::EngineConfig::default()).unwrap();
        let run = |expected: &Expected| {
            let input = Input {
                genesis: &genesis,
                blocks,
                checks: &checks,
                rule: genesis.verify_rule(),
                profile: "default",
                expected,
            };
            run(&engine, "cpu", "cpu", &input, &plan, None)
        };
        let verdicts = super::super::sweep::cpu_verdicts(&checks);
        let mut expected = Expected::of(&genesis, blocks, verdicts, Some(1)).unwrap();
        let row = run(&expected).unwrap();
        assert!(row.checked.contains("2 blocks"), "{}", row.checked);
        assert_eq!(expected.roots.len(), 2);

        // The same engine against a tampered expectation: each place is caught.
        expected.roots[1][0][0] ^= 1;
        let e = run(&expected).err().unwrap();
        assert!(e.is::<Disagrees>(), "{e:#}");
        assert!(e.to_string().contains("block 1's receipts root"), "{e:#}");
        expected.roots[1][0][0] ^= 1;
        let last = expected.verdicts[1].len() - 1;
        expected.verdicts[1][last] ^= true;
        let e = run(&expected).err().unwrap();
        assert!(e.is::<Disagrees>(), "{e:#}");
        assert!(
            e.to_string().contains(&format!(
                "verify_signatures under zip215 disagrees with the CPU verifier on signature {last}"
            )),
            "{e:#}"
        );
    }
}
