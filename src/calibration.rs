//! Calibration files: the CPU and GPU rates of one machine per stage and batch size, the
//! break-even sizes derived from them, and what `Auto` does with them
//! ([`AutoThresholds`]; the rates also seed the CPU+GPU split of [`crate::split`]).
//! `txwave calibrate` writes them.
//!
//! JSON, one machine and one adapter:
//!
//! ```json
//! {
//!   "adapter": "NVIDIA H200",
//!   "rates": [
//!     {"stage": "verify_strict", "batch": 4096, "cpu_per_s": 410000.0, "gpu_per_s": 900000.0},
//!     {"stage": "verify_strict", "batch": 65536, "cpu_per_s": 420000.0, "gpu_per_s": 2900000.0},
//!     {"stage": "hash", "batch": 65536, "cpu_per_s": 9000000.0, "gpu_per_s": 30000000.0}
//!   ]
//! }
//! ```
//!
//! `stage` is `verify_strict`, `verify_zip215` or `hash`; `batch` the batch size the rates
//! were measured at; `cpu_per_s` and `gpu_per_s` items per second of the whole batch on
//! each device alone (for the GPU, including its upload and readback). With two or more
//! batch sizes of a stage the GPU's fixed cost per call is fitted from them (least
//! squares of time against batch size); with one it is taken as zero. A file measured on
//! another adapter is refused ([`Calibration::load`]): its rates say nothing about this one.

use std::path::Path;

use crate::error::{Error, Result};
use crate::split::{DeviceRates, Stage, fit_overhead};
use crate::verify::VerifyRule;

/// One measured point of a calibration file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationPoint {
    /// The stage measured.
    pub stage: Stage,
    /// Batch size the rates were measured at.
    pub batch: usize,
    /// Items per second on the CPU pool alone.
    pub cpu_per_s: f64,
    /// Items per second on the GPU alone, whole call included.
    pub gpu_per_s: f64,
}

/// The batch size from which the GPU alone beats the CPU alone on one stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BreakEven {
    /// The stage.
    pub stage: Stage,
    /// Smallest measured batch from which the GPU was faster at every larger measured
    /// batch too; `None` ("never") when it was not faster at the largest.
    pub batch: Option<usize>,
    /// Largest batch measured for the stage.
    pub largest_measured: usize,
}

/// Measured CPU and GPU rates of one machine, per stage and batch size (the format is in
/// the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Name of the adapter the GPU rates were measured on.
    pub adapter: String,
    /// The machine, in words (CPU model and cores), for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The adapter's driver, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// The measured points.
    pub rates: Vec<CalibrationPoint>,
    /// Break-even batch sizes per stage. When a stage has none here it is derived from
    /// `rates` ([`Calibration::break_even`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_even: Vec<BreakEven>,
}

impl Calibration {
    /// Parses a calibration from JSON text.
    pub fn from_json(text: &str) -> Result<Calibration> {
        Self::parse(text).map_err(|e| Error::InvalidArgument(format!("calibration: {e}")))
    }

    fn parse(text: &str) -> std::result::Result<Calibration, String> {
        let cal: Calibration = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for (i, p) in cal.rates.iter().enumerate() {
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if p.batch == 0 || !ok(p.cpu_per_s) || !ok(p.gpu_per_s) {
                return Err(format!(
                    "rates[{i}] needs batch >= 1 and finite rates >= 0, got batch {} cpu_per_s {} gpu_per_s {}",
                    p.batch, p.cpu_per_s, p.gpu_per_s
                ));
            }
        }
        Ok(cal)
    }

    /// Reads a calibration file and refuses it unless it was measured on `adapter` (the
    /// name [`crate::gpu::GpuContext`] reports; `None` when there is no GPU, which
    /// accepts any file and uses only its CPU rates).
    pub fn load(path: &Path, adapter: Option<&str>) -> Result<Calibration> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::InvalidArgument(format!("calibration file {}: {e}", path.display()))
        })?;
        let cal = Calibration::parse(&text).map_err(|e| {
            Error::InvalidArgument(format!(
                "calibration file {} is not a valid calibration: {e}",
                path.display()
            ))
        })?;
        if let Some(name) = adapter
            && cal.adapter != name
        {
            return Err(Error::InvalidArgument(format!(
                "calibration file {} was measured on adapter {:?}, not on {name:?}; measure this machine again",
                path.display(),
                cal.adapter
            )));
        }
        Ok(cal)
    }

    /// The calibration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The rates of every stage the file has points for.
    pub fn stage_rates(&self) -> Vec<(Stage, DeviceRates)> {
        [Stage::VerifyStrict, Stage::VerifyZip215, Stage::Hash]
            .into_iter()
            .filter_map(|stage| Some((stage, self.rates(stage)?)))
            .collect()
    }

    /// Where `stage` breaks even: the file's own entry, else the smallest measured batch
    /// from which the GPU's rate exceeds the CPU's at every larger measured batch (`None`
    /// when it does not at the largest). The outer `None`: no point for the stage.
    pub fn break_even(&self, stage: Stage) -> Option<Option<usize>> {
        if let Some(b) = self.break_even.iter().find(|b| b.stage == stage) {
            return Some(b.batch);
        }
        let mut points: Vec<&CalibrationPoint> =
            self.rates.iter().filter(|p| p.stage == stage).collect();
        points.sort_by_key(|p| p.batch);
        points.last()?;
        Some(break_even_of(
            points.iter().map(|p| (p.batch, p.cpu_per_s, p.gpu_per_s)),
        ))
    }

    /// The rates of `stage`: the CPU rate of its largest batch, the GPU's per-call
    /// overhead and rate fitted over its batch sizes. `None` when the file has no point
    /// for the stage.
    pub fn rates(&self, stage: Stage) -> Option<DeviceRates> {
        let points: Vec<&CalibrationPoint> =
            self.rates.iter().filter(|p| p.stage == stage).collect();
        let largest = points.iter().max_by_key(|p| p.batch)?;
        let gpu: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.gpu_per_s > 0.0)
            .map(|p| (p.batch as f64, p.batch as f64 / p.gpu_per_s))
            .collect();
        let (gpu_overhead_s, gpu_per_s) = fit_overhead(&gpu);
        Some(DeviceRates {
            cpu_per_s: largest.cpu_per_s,
            gpu_per_s,
            gpu_overhead_s,
        })
    }
}

/// The smallest batch from which the GPU rate beats the CPU rate at every larger batch,
/// over `(batch, cpu_per_s, gpu_per_s)` points in ascending batch order; `None` when the
/// GPU is not faster at the largest batch (or there are no points).
pub fn break_even_of(points: impl IntoIterator<Item = (usize, f64, f64)>) -> Option<usize> {
    let mut found = None;
    for (batch, cpu, gpu) in points {
        if gpu > cpu {
            found.get_or_insert(batch);
        } else {
            found = None;
        }
    }
    found
}

/// Where [`AutoThresholds`] came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// [`crate::EngineConfig`]'s `auto_min_*` fields (fixed guesses).
    Defaults,
    /// A calibration file's break-even sizes (its path).
    Calibration(String),
}

/// The smallest batches `Auto` sends to the GPU, per stage; smaller ones run on the CPU.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AutoThresholds {
    /// Signature batches under `strict`.
    pub verify_strict: usize,
    /// Signature batches under `zip215`.
    pub verify_zip215: usize,
    /// `hash_many` batches and tx ids.
    pub hash: usize,
    /// Where the numbers came from.
    pub source: ThresholdSource,
    /// Why a calibration file was not used, when one was named or found and refused.
    pub note: Option<String>,
}

impl AutoThresholds {
    /// The fixed guesses.
    pub fn defaults(min_verify: usize, min_hash: usize) -> AutoThresholds {
        AutoThresholds {
            verify_strict: min_verify,
            verify_zip215: min_verify,
            hash: min_hash,
            source: ThresholdSource::Defaults,
            note: None,
        }
    }

    /// The threshold of a verify batch under `rule`.
    pub fn verify(&self, rule: VerifyRule) -> usize {
        match rule {
            VerifyRule::Strict => self.verify_strict,
            VerifyRule::Zip215 => self.verify_zip215,
        }
    }

    /// Thresholds from a calibration's break-even sizes; a stage the file does not cover
    /// keeps its default, a stage that never breaks even gets `usize::MAX` (always the
    /// CPU).
    pub fn from_calibration(cal: &Calibration, path: &str, defaults: &AutoThresholds) -> Self {
        let pick = |stage, default| match cal.break_even(stage) {
            None => default,
            Some(None) => usize::MAX,
            Some(Some(b)) => b,
        };
        AutoThresholds {
            verify_strict: pick(Stage::VerifyStrict, defaults.verify_strict),
            verify_zip215: pick(Stage::VerifyZip215, defaults.verify_zip215),
            hash: pick(Stage::Hash, defaults.hash),
            source: ThresholdSource::Calibration(path.to_string()),
            note: None,
        }
    }

    /// One line for a run summary, e.g. `auto thresholds (calibration x.json): verify
    /// strict >= 4096, zip215 >= 4096, hash >= 65536`.
    pub fn describe(&self) -> String {
        let n = |v: usize| {
            if v == usize::MAX {
                "never".to_string()
            } else {
                format!(">= {v}")
            }
        };
        let source = match &self.source {
            ThresholdSource::Defaults => "defaults, not calibrated".to_string(),
            ThresholdSource::Calibration(p) => format!("calibration {p}"),
        };
        format!(
            "auto sends to the GPU ({source}): verify strict {}, zip215 {}, hash {}",
            n(self.verify_strict),
            n(self.verify_zip215),
            n(self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_fits_the_gpu_overhead_and_refuses_another_adapter() {
        // GPU: 1 ms per call plus 1 µs per item; CPU 100k/s.
        let point = |batch: usize| CalibrationPoint {
            stage: Stage::VerifyStrict,
            batch,
            cpu_per_s: 100_000.0,
            gpu_per_s: batch as f64 / (0.001 + batch as f64 * 1e-6),
        };
        let cal = Calibration {
            adapter: "Test GPU".into(),
            machine: None,
            driver: None,
            rates: vec![point(1000), point(10_000), point(100_000)],
            break_even: Vec::new(),
        };
        let r = cal.rates(Stage::VerifyStrict).unwrap();
        assert!((r.gpu_overhead_s - 0.001).abs() < 1e-9, "{r:?}");
        assert!((r.gpu_per_s - 1e6).abs() < 1.0, "{r:?}");
        assert_eq!(cal.rates(Stage::Hash), None);
        let back = Calibration::from_json(&cal.to_json()).unwrap();
        assert_eq!(back, cal);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.json");
        std::fs::write(&path, cal.to_json()).unwrap();
        assert_eq!(Calibration::load(&path, Some("Test GPU")).unwrap(), cal);
        let err = Calibration::load(&path, Some("Other GPU")).unwrap_err();
        assert!(err.to_string().contains("not on \"Other GPU\""), "{err}");
        assert!(Calibration::from_json(r#"{"adapter": "x", "rates": [{"stage": "hash", "batch": 0, "cpu_per_s": 1, "gpu_per_s": 1}]}"#).is_err());
    }

    #[test]
    fn break_even_is_where_the_gpu_stays_ahead() {
        let pts = |v: &[(usize, f64, f64)]| break_even_of(v.iter().copied());
        assert_eq!(pts(&[]), None);
        assert_eq!(pts(&[(256, 10.0, 1.0), (4096, 10.0, 20.0)]), Some(4096));
        // Ahead at 1024, behind at 4096, ahead again after: the later crossing counts.
        let noisy = [
            (256, 10.0, 1.0),
            (1024, 10.0, 11.0),
            (4096, 10.0, 9.0),
            (16384, 10.0, 30.0),
            (65536, 10.0, 90.0),
        ];
        assert_eq!(pts(&noisy), Some(16384));
        assert_eq!(pts(&[(256, 10.0, 1.0), (4096, 10.0, 5.0)]), None);

        let point = |stage, batch, cpu_per_s, gpu_per_s| CalibrationPoint {
            stage,
            batch,
            cpu_per_s,
            gpu_per_s,
        };
        let mut cal = Calibration {
            adapter: "Test GPU".into(),
            machine: Some("test".into()),
            driver: None,
            rates: vec![
                point(Stage::VerifyStrict, 256, 100.0, 10.0),
                point(Stage::VerifyStrict, 4096, 100.0, 400.0),
                point(Stage::Hash, 256, 100.0, 10.0),
                point(Stage::Hash, 4096, 100.0, 50.0),
            ],
            break_even: Vec::new(),
        };
        let defaults = AutoThresholds::defaults(4096, 4096);
        let t = AutoThresholds::from_calibration(&cal, "c.json", &defaults);
        assert_eq!(t.verify_strict, 4096);
        assert_eq!(t.hash, usize::MAX, "never breaks even: always the CPU");
        assert_eq!(t.verify_zip215, 4096, "no points: the default stays");
        assert!(
            t.describe().contains("calibration c.json"),
            "{}",
            t.describe()
        );
        assert!(t.describe().contains("hash never"), "{}", t.describe());
        // An entry of the file's own wins over the points.
        cal.break_even.push(BreakEven {
            stage: Stage::Hash,
            batch: Some(1024),
            largest_measured: 4096,
        });
        let back = Calibration::from_json(&cal.to_json()).unwrap();
        assert_eq!(
            AutoThresholds::from_calibration(&back, "c", &defaults).hash,
            1024
        );
    }
}
