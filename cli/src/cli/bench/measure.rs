//! What every benchmark number is made of: timed repetitions after a warm-up, their
//! median and spread, and the machine they ran on.

use std::time::Instant;

use serde::Serialize;
use txwave::internal::gpu::GpuTimings;

/// Median, extremes and spread of repeated timings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    /// Timed repetitions.
    pub samples: usize,
    /// Median in nanoseconds (the upper median of an even count).
    pub median_ns: u64,
    /// Fastest repetition.
    pub min_ns: u64,
    /// Slowest repetition.
    pub max_ns: u64,
    /// (max − min) / median.
    pub spread: f64,
}

impl Stats {
    /// The statistics of `samples` (at least one).
    pub fn of(mut samples: Vec<u64>) -> Stats {
        samples.sort_unstable();
        let median_ns = median_sorted(&samples);
        let (min_ns, max_ns) = (samples[0], samples[samples.len() - 1]);
        Stats {
            samples: samples.len(),
            median_ns,
            min_ns,
            max_ns,
            spread: (max_ns - min_ns) as f64 / median_ns.max(1) as f64,
        }
    }

    /// Items per second at the median.
    pub fn per_s(&self, items: usize) -> f64 {
        items as f64 * 1e9 / self.median_ns.max(1) as f64
    }
}

/// Median of a sorted, non-empty slice.
pub fn median_sorted(v: &[u64]) -> u64 {
    v[v.len() / 2]
}

/// Median of any non-empty list.
pub fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    median_sorted(&v)
}

/// The GPU's phases of one call, medians over the repetitions.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct GpuPhases {
    /// Host → device writes.
    pub upload_ns: u64,
    /// Encoding, submitting and waiting for the passes.
    pub dispatch_ns: u64,
    /// Device → host copies and maps.
    pub readback_ns: u64,
    /// Device time of the passes by timestamp queries, where the adapter has them.
    pub gpu_pass_ns: Option<u64>,
}

impl GpuPhases {
    /// Per-phase medians of several calls' timings.
    pub fn median_of(t: &[GpuTimings]) -> GpuPhases {
        let pick = |f: fn(&GpuTimings) -> u64| median(t.iter().map(f).collect());
        let passes: Vec<u64> = t.iter().filter_map(|t| t.gpu_pass_ns).collect();
        GpuPhases {
            upload_ns: pick(|t| t.upload_ns),
            dispatch_ns: pick(|t| t.dispatch_ns),
            readback_ns: pick(|t| t.readback_ns),
            gpu_pass_ns: (!passes.is_empty()).then(|| median(passes)),
        }
    }
}

/// How many times each point runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    /// Untimed calls before the timed ones (pipelines built, caches and pages warm).
    pub warmup: usize,
    /// Timed calls.
    pub repeat: usize,
    /// A point whose warm-up call takes longer than this many seconds is timed once, and
    /// larger sizes of the same series are skipped.
    pub max_call_s: f64,
    /// No measurement starts after this instant (`--time-limit`): it fails with a
    /// message saying so, and the report is written with what was measured.
    #[serde(skip)]
    pub deadline: Option<Instant>,
}

/// One measured point.
pub struct Timed {
    /// Wall time of the timed calls.
    pub stats: Stats,
    /// The GPU's phases, when the call reports them.
    pub gpu: Option<GpuPhases>,
    /// The warm-up call ran over [`Plan::max_call_s`]: skip larger sizes.
    pub over_budget: bool,
}

impl Plan {
    /// Runs `call` `warmup` times untimed, then `repeat` times timed (once when a
    /// warm-up call was over budget). `call` returns its answer and the GPU's timings when
    /// it ran there; `check` sees the answer of every call, warm-up included, outside the
    /// timed span, and its error ends the point (a wrong answer is never timed as a speed).
    pub fn time<T>(
        &self,
        mut call: impl FnMut() -> anyhow::Result<(T, Option<GpuTimings>)>,
        mut check: impl FnMut(&T) -> anyhow::Result<()>,
    ) -> anyhow::Result<Timed> {
        self.check_deadline()?;
        let mut over_budget = false;
        for _ in 0..self.warmup {
            let t = Instant::now();
            let (answer, _) = call()?;
            over_budget |= t.elapsed().as_secs_f64() > self.max_call_s;
            check(&answer)?;
        }
        let runs = if over_budget { 1 } else { self.repeat.max(1) };
        let mut samples = Vec::with_capacity(runs);
        let mut gpu = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let (answer, g) = call()?;
            samples.push(t.elapsed().as_nanos() as u64);
            check(&answer)?;
            gpu.extend(g);
        }
        let last = samples.iter().copied().max().unwrap_or(0);
        Ok(Timed {
            stats: Stats::of(samples),
            gpu: (!gpu.is_empty()).then(|| GpuPhases::median_of(&gpu)),
            over_budget: over_budget || last as f64 / 1e9 > self.max_call_s,
        })
    }
}

impl Plan {
    /// An error once the deadline has passed.
    pub fn check_deadline(&self) -> anyhow::Result<()> {
        match self.deadline {
            Some(d) if Instant::now() >= d => {
                anyhow::bail!("not measured: the bench's --time-limit was reached")
            }
            _ => Ok(()),
        }
    }
}

/// The machine a report was measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo`), or "unknown".
    pub cpu_model: String,
    /// Logical cores the process may use.
    pub logical_cores: usize,
    /// Worker threads of the CPU stages.
    pub threads: usize,
    /// Memory in bytes (`/proc/meminfo`), when known.
    pub memory_bytes: Option<u64>,
    /// Operating system and kernel release.
    pub os: String,
    /// txwave's version.
    pub txwave_version: &'static str,
}

impl Machine {
    /// This machine, with `threads` CPU workers.
    pub fn this(threads: usize) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        });
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|r| r.trim().to_string())
            .unwrap_or_default();
        Machine {
            cpu_model,
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            threads,
            memory_bytes,
            os: format!("{} {release}", std::env::consts::OS)
                .trim()
                .to_string(),
            txwave_version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// One line, e.g. `AMD EPYC 7B13, 2 cores`.
    pub fn describe(&self) -> String {
        format!("{}, {} cores", self.cpu_model, self.logical_cores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_take_the_median_and_spread() {
        let s = Stats::of(vec![30, 10, 20, 40, 1000]);
        assert_eq!(
            (s.median_ns, s.min_ns, s.max_ns, s.samples),
            (30, 10, 1000, 5)
        );
        assert!((s.spread - 33.0).abs() < 1e-9);
        assert_eq!(Stats::of(vec![5]).spread, 0.0);
        assert!((Stats::of(vec![1_000_000_000]).per_s(10) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn an_over_budget_warmup_times_once() {
        let plan = Plan {
            warmup: 1,
            repeat: 5,
            max_call_s: 0.0,
            deadline: None,
        };
        let mut calls = 0;
        let t = plan
            .time(
                || {
                    calls += 1;
                    Ok(((), None))
                },
                |_| Ok(()),
            )
            .unwrap();
        assert!(t.over_budget);
        assert_eq!((calls, t.stats.samples), (2, 1));
        let plan = Plan {
            max_call_s: 1e9,
            ..plan
        };
        let mut calls = 0;
        let t = plan
            .time(
                || {
                    calls += 1;
                    Ok((
                        (),
                        Some(GpuTimings {
                            upload_ns: calls,
                            ..Default::default()
                        }),
                    ))
                },
                |_| Ok(()),
            )
            .unwrap();
        assert!(!t.over_budget);
        assert_eq!((calls, t.stats.samples), (6, 5));
        assert_eq!(t.gpu.unwrap().upload_ns, 4, "median of uploads 2..=6");
        let late = Plan {
            deadline: Some(Instant::now()),
            ..plan
        };
        let e = late
            .time(|| Ok(((), None)), |_| Ok(()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--time-limit"), "{e}");
    }

    #[test]
    fn every_answer_is_checked_outside_the_timed_span() {
        let plan = Plan {
            warmup: 1,
            repeat: 3,
            max_call_s: 1e9,
            deadline: None,
        };
        // Every answer, the warm-up's first, reaches the check; a slow check is not timed.
        let (mut calls, mut seen) = (0, Vec::new());
        let t = plan
            .time(
                || {
                    calls += 1;
                    Ok((calls, None))
                },
                |answer| {
                    seen.push(*answer);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(seen, [1, 2, 3, 4]);
        assert!(t.stats.max_ns < 20_000_000, "{:?}", t.stats);
        // A wrong warm-up answer ends the point before any call is timed.
        let mut calls = 0;
        let e = plan
            .time(
                || {
                    calls += 1;
                    Ok((false, None))
                },
                |ok| {
                    anyhow::ensure!(*ok, "wrong answer");
                    Ok(())
                },
            )
            .err()
            .unwrap();
        assert_eq!((calls, e.to_string()), (1, "wrong answer".to_string()));
    }
}
