//! Splitting one batch between the CPU pool and the GPU in proportion to their rates.
//!
//! A [`RateModel`] holds, per [`Stage`], what each device does: the CPU's items per second
//! and the GPU's items per second plus its fixed cost per call (upload, dispatch,
//! readback). Given `n` items it picks the GPU's share so that both halves finish at the
//! same time: with CPU rate `c`, GPU rate `g` and GPU overhead `o`, the GPU takes
//! `(n / c - o) / (1 / g + 1 / c)` items, and none when that is below the smallest batch
//! worth a GPU call. The GPU takes the front of the batch and the CPU the rest, so the
//! results are concatenated in order.
//!
//! The rates come from a calibration file ([`crate::calibration`]) when one is given, else they are measured
//! at first use on a few hundred signatures and messages ([`crate::Engine::measure_rates`],
//! tens of milliseconds on the CPU, one or two GPU round trips), and are then re-estimated
//! from every batch that runs (an exponentially weighted moving average of each device's
//! rate, weight [`EWMA_WEIGHT`] per observation).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::verify::VerifyRule;

/// Smallest GPU share of a split batch that `Auto` and the service send to the GPU by
/// default: four workgroups of the verifier.
pub const MIN_GPU_SHARE: usize = 256;

/// Weight of one observed batch in the moving average of a device's rate.
pub const EWMA_WEIGHT: f64 = 0.2;

/// Smallest number of items an observation must cover to move the rates: smaller
/// batches are dominated by timer and scheduling noise.
pub const MIN_OBSERVED_ITEMS: usize = 64;

/// A pipeline stage with its own rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Ed25519 under [`VerifyRule::Strict`].
    VerifyStrict,
    /// Ed25519 under [`VerifyRule::Zip215`].
    VerifyZip215,
    /// BLAKE3 of many messages (`hash_many`, tx ids).
    Hash,
}

impl Stage {
    /// The verify stage of `rule`.
    pub fn verify(rule: VerifyRule) -> Stage {
        match rule {
            VerifyRule::Strict => Stage::VerifyStrict,
            VerifyRule::Zip215 => Stage::VerifyZip215,
        }
    }

    fn index(self) -> usize {
        match self {
            Stage::VerifyStrict => 0,
            Stage::VerifyZip215 => 1,
            Stage::Hash => 2,
        }
    }
}

/// What each device does on one stage.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRates {
    /// Items per second of the CPU pool.
    pub cpu_per_s: f64,
    /// Items per second of the GPU once a call is under way (0 = no GPU).
    pub gpu_per_s: f64,
    /// Fixed seconds per GPU call: upload, dispatch and readback latency.
    pub gpu_overhead_s: f64,
}

impl DeviceRates {
    /// How many of `n` items the GPU takes so that both devices finish together; 0 when
    /// that share is below `min_gpu` items or either rate is unknown, `n` when the CPU's
    /// share would be empty.
    pub fn gpu_share(&self, n: usize, min_gpu: usize) -> usize {
        let (c, g, o) = (self.cpu_per_s, self.gpu_per_s, self.gpu_overhead_s.max(0.0));
        if n == 0 || !(g.is_finite() && g > 0.0) {
            return 0;
        }
        if !(c.is_finite() && c > 0.0) {
            return n;
        }
        let share = (n as f64 / c - o) / (1.0 / g + 1.0 / c);
        if !share.is_finite() || share < min_gpu.max(1) as f64 {
            return 0;
        }
        (share.round() as usize).min(n)
    }

    /// Seconds the split of `n` items with `gpu` on the GPU is expected to take.
    pub fn expected_s(&self, n: usize, gpu: usize) -> f64 {
        let cpu_s = (n - gpu.min(n)) as f64 / self.cpu_per_s.max(f64::MIN_POSITIVE);
        let gpu_s = if gpu == 0 {
            0.0
        } else {
            self.gpu_overhead_s + gpu as f64 / self.gpu_per_s.max(f64::MIN_POSITIVE)
        };
        cpu_s.max(gpu_s)
    }
}

/// Least-squares fit of `time = overhead + items / rate` over (items, seconds) points;
/// `(0, 0)` without points, zero overhead with one point or a degenerate fit.
pub(crate) fn fit_overhead(points: &[(f64, f64)]) -> (f64, f64) {
    match points {
        [] => (0.0, 0.0),
        [(n, t)] => (0.0, n / t.max(f64::MIN_POSITIVE)),
        _ => {
            let k = points.len() as f64;
            let mx = points.iter().map(|p| p.0).sum::<f64>() / k;
            let my = points.iter().map(|p| p.1).sum::<f64>() / k;
            let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
            let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
            let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
            let overhead = my - slope * mx;
            if slope > 0.0 && overhead >= 0.0 {
                (overhead, 1.0 / slope)
            } else {
                // Noisy points: fall back to the largest batch's rate, no overhead.
                let (n, t) = points
                    .iter()
                    .copied()
                    .fold((0.0, 0.0), |a, p| if p.0 > a.0 { p } else { a });
                (0.0, n / t.max(f64::MIN_POSITIVE))
            }
        }
    }
}

/// Where a model's rates came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateSource {
    /// Nothing yet: the first split measures.
    Unknown,
    /// A calibration file (its path).
    Calibration(String),
    /// Measured on this engine at first use.
    Measured,
    /// Set by the caller with [`RateModel::set`].
    Set,
}

/// The device an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The CPU pool.
    Cpu,
    /// The GPU.
    Gpu,
}

#[derive(Debug)]
struct ModelState {
    rates: [Option<DeviceRates>; 3],
    source: RateSource,
    note: Option<String>,
}

/// Per-stage CPU and GPU rates, shared by every caller of one engine (a short lock
/// around a few numbers; never held while anything runs).
#[derive(Debug)]
pub struct RateModel {
    state: Mutex<ModelState>,
    adaptive: AtomicBool,
}

impl Default for RateModel {
    fn default() -> Self {
        RateModel {
            state: Mutex::new(ModelState {
                rates: [None; 3],
                source: RateSource::Unknown,
                note: None,
            }),
            adaptive: AtomicBool::new(true),
        }
    }
}

impl RateModel {
    fn lock(&self) -> std::sync::MutexGuard<'_, ModelState> {
        // The state is a few plain numbers, valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rates of `stage`, when known.
    pub fn get(&self, stage: Stage) -> Option<DeviceRates> {
        self.lock().rates[stage.index()]
    }

    /// Whether every stage has rates.
    pub fn is_known(&self) -> bool {
        self.lock().rates.iter().all(Option::is_some)
    }

    /// Replaces the rates of `stage` (e.g. from a measurement of the caller's own).
    pub fn set(&self, stage: Stage, rates: DeviceRates) {
        let mut s = self.lock();
        s.rates[stage.index()] = Some(rates);
        s.source = RateSource::Set;
    }

    /// Whether observed batches move the rates (on by default). Off keeps them as set.
    pub fn set_adaptive(&self, on: bool) {
        self.adaptive.store(on, Ordering::Relaxed);
    }

    /// Where the rates came from.
    pub fn source(&self) -> RateSource {
        self.lock().source.clone()
    }

    /// Why the calibration file of [`crate::Placement::calibration`] was not used, if it
    /// was not.
    pub fn note(&self) -> Option<String> {
        self.lock().note.clone()
    }

    /// Takes the rates of every stage given, read from the calibration file `source`.
    pub fn apply_calibration(&self, rates: &[(Stage, DeviceRates)], source: &str) {
        let mut s = self.lock();
        for (stage, r) in rates {
            s.rates[stage.index()] = Some(*r);
        }
        s.source = RateSource::Calibration(source.to_string());
    }

    pub(crate) fn set_measured(&self, rates: [(Stage, DeviceRates); 3]) {
        let mut s = self.lock();
        for (stage, r) in rates {
            s.rates[stage.index()] = Some(r);
        }
        s.source = RateSource::Measured;
    }

    pub(crate) fn set_note(&self, note: String) {
        self.lock().note = Some(note);
    }

    /// Folds one observed run of `items` on `side` that took `elapsed` into the rates of
    /// `stage` (ignored below [`MIN_OBSERVED_ITEMS`], when not adaptive, or before the
    /// stage has rates). A GPU run's per-call overhead is subtracted first.
    pub fn observe(&self, stage: Stage, side: Side, items: usize, elapsed: Duration) {
        if items < MIN_OBSERVED_ITEMS || !self.adaptive.load(Ordering::Relaxed) {
            return;
        }
        let mut s = self.lock();
        let Some(r) = s.rates[stage.index()].as_mut() else {
            return;
        };
        let secs = elapsed.as_secs_f64();
        let (rate, busy) = match side {
            Side::Cpu => (&mut r.cpu_per_s, secs),
            Side::Gpu => {
                let o = r.gpu_overhead_s;
                (&mut r.gpu_per_s, (secs - o).max(secs / 2.0))
            }
        };
        if busy > 0.0 {
            let seen = items as f64 / busy;
            *rate = if *rate > 0.0 {
                (1.0 - EWMA_WEIGHT) * *rate + EWMA_WEIGHT * seen
            } else {
                seen
            };
        }
    }

    /// How many of `n` items of `stage` the GPU should take (see
    /// [`DeviceRates::gpu_share`]); 0 when the stage has no rates.
    pub fn gpu_share(&self, stage: Stage, n: usize, min_gpu: usize) -> usize {
        self.get(stage).map_or(0, |r| r.gpu_share(n, min_gpu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_rates_split_in_half_and_overhead_moves_work_to_the_cpu() {
        let r = DeviceRates {
            cpu_per_s: 1000.0,
            gpu_per_s: 1000.0,
            gpu_overhead_s: 0.0,
        };
        assert_eq!(r.gpu_share(1000, 1), 500);
        let slow_start = DeviceRates {
            gpu_overhead_s: 0.1,
            ..r
        };
        // (1 - 0.1) / (2 / 1000) = 450.
        assert_eq!(slow_start.gpu_share(1000, 1), 450);
        assert_eq!(
            slow_start.gpu_share(100, 1),
            0,
            "overhead alone exceeds the CPU"
        );
        assert_eq!(r.gpu_share(1000, 600), 0, "share below the GPU minimum");
        let no_gpu = DeviceRates {
            gpu_per_s: 0.0,
            ..r
        };
        assert_eq!(no_gpu.gpu_share(1000, 1), 0);
        assert!((r.expected_s(1000, 500) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn observations_move_the_rates_by_the_moving_average() {
        let m = RateModel::default();
        m.observe(Stage::Hash, Side::Cpu, 1000, Duration::from_secs(1));
        assert_eq!(m.get(Stage::Hash), None, "no rates yet: nothing to move");
        m.set(
            Stage::Hash,
            DeviceRates {
                cpu_per_s: 1000.0,
                gpu_per_s: 1000.0,
                gpu_overhead_s: 0.0,
            },
        );
        m.observe(Stage::Hash, Side::Cpu, 2000, Duration::from_secs(1));
        let r = m.get(Stage::Hash).unwrap();
        assert!((r.cpu_per_s - 1200.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.gpu_per_s, 1000.0);
        m.set_adaptive(false);
        m.observe(Stage::Hash, Side::Gpu, 5000, Duration::from_secs(1));
        assert_eq!(m.get(Stage::Hash).unwrap().gpu_per_s, 1000.0);
    }
}
