//! The hybrid split on an engine: one batch divided between the CPU pool and the GPU by
//! the rates of [`crate::split::RateModel`], both halves run at once, results in order.
//! Also how the rates are measured at start-up.

use std::ops::Range;
use std::path::Path;

use std::time::{Duration, Instant};

use super::{Device, Engine};
use crate::calibration::Calibration;
use crate::error::{Error, Result};
use crate::gpu::GpuTimings;
use crate::split::*;
use crate::verify::{SigCheck, VerifyRule};

/// Time budget of the GPU part of [`Engine::measure_rates`], per stage.
const MEASURE_GPU_BUDGET: Duration = Duration::from_millis(150);

/// What one split batch did.
#[derive(Debug)]
pub struct SplitRun<T> {
    /// One result per item, in the batch's order.
    pub value: Vec<T>,
    /// Items the GPU was given (the front of the batch).
    pub gpu_items: usize,
    /// Items the CPU was given (the rest).
    pub cpu_items: usize,
    /// The GPU's error, when its part failed and the CPU verified it again.
    pub gpu_error: Option<Error>,
    /// What the GPU part reported (zero when it did not run or failed).
    pub gpu_timings: GpuTimings,
}

impl<T> SplitRun<T> {
    /// The device the batch ran on, as `process_block` reports it.
    pub fn device(&self) -> Device {
        match (self.gpu_items, self.cpu_items, &self.gpu_error) {
            (0, _, _) => Device::Cpu,
            (_, _, Some(_)) => Device::CpuFallback,
            (_, 0, None) => Device::Gpu,
            _ => Device::Hybrid,
        }
    }
}

/// Runs the first `gpu_n` items with `gpu` on a thread of its own while the CPU pool runs
/// the rest with `cpu`, then concatenates. A GPU error sends its items to `cpu` too.
fn run_split<T: Send>(
    engine: &Engine,
    stage: Stage,
    n: usize,
    gpu_n: usize,
    gpu: impl Fn(Range<usize>) -> Option<Result<(Vec<T>, GpuTimings)>> + Sync,
    cpu: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> SplitRun<T> {
    let gpu_n = gpu_n.min(n);
    let timed_cpu = |r: Range<usize>| {
        let len = r.len();
        let t = Instant::now();
        let out = engine.pool().install(|| cpu(r));
        engine.rates().observe(stage, Side::Cpu, len, t.elapsed());
        out
    };
    let timed_gpu = |r: Range<usize>| {
        let len = r.len();
        let t = Instant::now();
        let out = gpu(r).unwrap_or_else(|| {
            Err(Error::gpu(
                "split",
                crate::error::GpuErrorKind::Internal,
                "the engine has no GPU",
            ))
        });
        let out = out.and_then(|(v, timings)| {
            if v.len() == len {
                Ok((v, timings))
            } else {
                Err(Error::gpu(
                    "split readback",
                    crate::error::GpuErrorKind::Readback,
                    format!("{} results for {len} items", v.len()),
                ))
            }
        });
        if out.is_ok() {
            engine.rates().observe(stage, Side::Gpu, len, t.elapsed());
        }
        out
    };
    if gpu_n == 0 {
        return SplitRun {
            value: timed_cpu(0..n),
            gpu_items: 0,
            cpu_items: n,
            gpu_error: None,
            gpu_timings: GpuTimings::default(),
        };
    }
    let (gpu_out, cpu_out) = if gpu_n == n {
        (timed_gpu(0..n), Vec::new())
    } else {
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .name("txwave-split-gpu".into())
                .spawn_scoped(s, || timed_gpu(0..gpu_n));
            match handle {
                Ok(h) => {
                    let cpu_out = timed_cpu(gpu_n..n);
                    let gpu_out = h.join().unwrap_or_else(|_| {
                        Err(Error::gpu(
                            "split",
                            crate::error::GpuErrorKind::Internal,
                            "the GPU thread panicked",
                        ))
                    });
                    (gpu_out, cpu_out)
                }
                // No thread to spare: run the GPU part here, then the CPU part.
                Err(_) => (timed_gpu(0..gpu_n), timed_cpu(gpu_n..n)),
            }
        })
    };
    let (mut value, gpu_error, gpu_timings) = match gpu_out {
        Ok((v, t)) => (v, None, t),
        Err(e) => (timed_cpu(0..gpu_n), Some(e), GpuTimings::default()),
    };
    value.extend(cpu_out);
    SplitRun {
        value,
        gpu_items: gpu_n,
        cpu_items: n - gpu_n,
        gpu_error,
        gpu_timings,
    }
}

/// Deterministic sample signatures for [`Engine::measure_rates`]: `distinct` keys, each
/// signing a 64-byte message.
fn sample_signatures(distinct: usize) -> Vec<([u8; 32], [u8; 64], Vec<u8>)> {
    use ed25519_dalek::Signer;
    (0..distinct)
        .map(|i| {
            let mut seed = [0x5au8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let msg: Vec<u8> = (0..64u8).map(|b| b ^ (i as u8)).collect();
            let sig = key.sign(&msg).to_bytes();
            (key.verifying_key().to_bytes(), sig, msg)
        })
        .collect()
}

/// Seconds one run of `f` takes.
fn time_s<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed().as_secs_f64().max(1e-9), out)
}

/// GPU overhead and rate from a 1-item call and calls of growing size within the budget.
fn measure_gpu<T>(
    mut run: impl FnMut(usize) -> Option<Result<T>>,
    start: usize,
    max: usize,
) -> Result<(f64, f64)> {
    run(1).transpose()?; // warm-up: buffers are allocated on first use.
    let (t1, r) = time_s(|| run(1));
    r.transpose()?;
    let began = Instant::now();
    let mut n = start;
    loop {
        let (tn, r) = time_s(|| run(n));
        r.transpose()?;
        let done = tn > 0.02 || n >= max || began.elapsed() > MEASURE_GPU_BUDGET;
        if done {
            let (overhead, rate) = fit_overhead(&[(1.0, t1), (n as f64, tn)]);
            return Ok((overhead, rate));
        }
        n *= 2;
    }
}

impl Engine {
    /// Splits `items` between the GPU and the CPU pool by the [`RateModel`] of the rule's
    /// stage and verifies both parts at once: `value[i]` is the verdict of `items[i]`.
    /// Without a GPU, or when the GPU's share would be below `min_gpu` items, everything
    /// runs on the CPU. A GPU error is never returned: the CPU verifies that part again
    /// and [`SplitRun::gpu_error`] says what failed. Loads or measures the rates on first
    /// use (see [`Engine::measure_rates`]).
    #[doc(hidden)]
    pub fn verify_split(
        &self,
        items: &[SigCheck<'_>],
        rule: VerifyRule,
        min_gpu: usize,
    ) -> SplitRun<bool> {
        let stage = Stage::verify(rule);
        let gpu_n = if self.gpu_context().is_some() {
            self.ensure_rates();
            self.rates().gpu_share(stage, items.len(), min_gpu)
        } else {
            0
        };
        run_split(
            self,
            stage,
            items.len(),
            gpu_n,
            |r| self.gpu_verify(&items[r], rule),
            |r| crate::verify::cpu::verify_signatures_cached(&items[r], rule, self.key_cache()).0,
        )
    }

    /// [`Engine::verify_split`] for BLAKE3 of many messages: `value[i]` is the hash of
    /// `msgs[i]`; the GPU takes a share of at least [`MIN_GPU_SHARE`] messages or none.
    /// What `hash_many` runs under `Auto` with a GPU (see [`crate::Placement::hybrid`]).
    #[doc(hidden)]
    pub fn hash_split(&self, msgs: &[&[u8]]) -> SplitRun<[u8; 32]> {
        self.ensure_rates();
        let gpu_n = self
            .rates()
            .gpu_share(Stage::Hash, msgs.len(), MIN_GPU_SHARE);
        run_split(
            self,
            Stage::Hash,
            msgs.len(),
            gpu_n,
            |r| self.gpu_hash(&msgs[r]),
            |r| crate::hash::cpu::hash_many(&msgs[r]),
        )
    }

    /// Loads a calibration file measured on this engine's adapter into
    /// [`Engine::rates`]; refuses one from another adapter.
    #[doc(hidden)]
    pub fn load_calibration(&self, path: &Path) -> Result<()> {
        self.apply_calibration_file(path)?;
        // Rates are known now: the first split need not measure.
        self.rates_once(|| {});
        Ok(())
    }

    fn apply_calibration_file(&self, path: &Path) -> Result<()> {
        let adapter = self.gpu_context().map(|c| c.adapter.name.clone());
        let cal = Calibration::load(path, adapter.as_deref())?;
        self.rates()
            .apply_calibration(&cal.stage_rates(), &path.display().to_string());
        Ok(())
    }

    /// Measures the CPU and GPU rates of every stage and stores them in
    /// [`Engine::rates`]: 512 signatures per rule and 8192 messages on the CPU pool, and
    /// on the GPU a 1-item call (its fixed cost) and calls of growing size until one
    /// takes 20 ms or the stage's 150 ms budget is spent. About 20 ms on a 2-core CPU
    /// without a GPU. A GPU error leaves its rate at zero (the split then uses the CPU
    /// only) and is returned after the CPU rates are stored.
    #[doc(hidden)]
    pub fn measure_rates(&self) -> Result<()> {
        let samples = sample_signatures(512);
        let checks: Vec<SigCheck<'_>> = samples
            .iter()
            .map(|(k, s, m)| SigCheck {
                public_key: *k,
                signature: *s,
                message: m,
            })
            .collect();
        let blobs: Vec<[u8; 128]> = (0..8192u32)
            .map(|i| {
                let mut b = [0u8; 128];
                b[..4].copy_from_slice(&i.to_le_bytes());
                b
            })
            .collect();
        let msgs: Vec<&[u8]> = blobs.iter().map(|b| &b[..]).collect();
        let cpu_rate = |rule: VerifyRule| {
            let (t, _) = time_s(|| {
                self.pool()
                    .install(|| crate::verify::cpu::verify_signatures(&checks, rule))
            });
            checks.len() as f64 / t
        };
        let strict_cpu = cpu_rate(VerifyRule::Strict);
        let zip_cpu = cpu_rate(VerifyRule::Zip215);
        let (t, _) = time_s(|| self.pool().install(|| crate::hash::cpu::hash_many(&msgs)));
        let hash_cpu = msgs.len() as f64 / t;

        let mut error = None;
        let mut gpu = |r: Result<(f64, f64)>| match r {
            Ok(v) => v,
            Err(e) => {
                error.get_or_insert(e);
                (0.0, 0.0)
            }
        };
        let (verify_o, verify_g, hash_o, hash_g) = if self.gpu_context().is_some() {
            let repeated = |n: usize| -> Vec<SigCheck<'_>> {
                (0..n).map(|i| checks[i % checks.len()]).collect()
            };
            let (vo, vg) = gpu(measure_gpu(
                |n| self.gpu_verify(&repeated(n), VerifyRule::Strict),
                64,
                1 << 16,
            ));
            let (ho, hg) = gpu(measure_gpu(
                |n| {
                    let batch: Vec<&[u8]> = (0..n).map(|i| msgs[i % msgs.len()]).collect();
                    self.gpu_hash(&batch)
                },
                1024,
                1 << 20,
            ));
            (vo, vg, ho, hg)
        } else {
            (0.0, 0.0, 0.0, 0.0)
        };
        let rates = |cpu_per_s, gpu_per_s, gpu_overhead_s| DeviceRates {
            cpu_per_s,
            gpu_per_s,
            gpu_overhead_s,
        };
        // The rule changes a few checks of the same shader: one GPU rate for both.
        self.rates().set_measured([
            (Stage::VerifyStrict, rates(strict_cpu, verify_g, verify_o)),
            (Stage::VerifyZip215, rates(zip_cpu, verify_g, verify_o)),
            (Stage::Hash, rates(hash_cpu, hash_g, hash_o)),
        ]);
        error.map_or(Ok(()), Err)
    }

    /// Before the first split: rates already known (from
    /// [`Placement::calibration`](super::Placement::calibration) or
    /// [`Engine::load_calibration`]) stay; else they are measured.
    pub(crate) fn ensure_rates(&self) {
        self.rates_once(|| {
            if self.rates().is_known() {
                return;
            }
            if let Err(e) = self.measure_rates() {
                self.rates().set_note(format!(
                    "measuring the GPU failed ({e}); the split uses the CPU"
                ));
            }
        });
    }
}
