//! The engine: runs the pipeline stages on the chosen backend, one call per stage
//! (`block.rs`: one block, rolled back when it fails), splits big batches between CPU and
//! GPU (`hybrid.rs`) and reports what ran where (`report.rs`).

use crate::calibration::{AutoThresholds, Calibration};
use crate::commit::cpu::CpuCommit;
use crate::commit::gpu::GpuCommit;
use crate::error::{Error, Result};
use crate::exec::gpu::GpuExecutor;
use crate::gpu::resident::ResidentState;
use crate::gpu::tunables::GpuTunables;
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash;
use crate::hash::gpu::GpuHasher;
use crate::resolve::gpu::GpuResolver;
use crate::verify::gpu::GpuVerifier;
use crate::verify::{self, SigCheck, VerifyRule};

mod block;
mod hybrid;
mod report;

pub(crate) use block::PreparedBlock;

pub use hybrid::SplitRun;

pub use report::{BlockOutcome, Device, StageDevices, StageGpuTimings, StageTimings};

/// Where the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// rayon and the `blake3` / ed25519 crates.
    Cpu,
    /// wgpu and WGSL.
    Gpu,
    /// The GPU when an adapter opens, else the CPU; the outcome says which ran.
    #[default]
    Auto,
}

/// Where work goes: which device runs a batch under `Auto`, and how a large batch is
/// split between the GPU and the CPU pool. One value, [`EngineConfig::placement`], read by
/// the engine and by every [`crate::VerifyService`] built on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// A calibration file (written by `txwave calibrate`; docs/FORMATS.md) measured on this
    /// machine: under `Auto` its break-even sizes replace the `auto_min_*` guesses, and
    /// on any engine with a GPU its rates seed the CPU+GPU split. One that is missing,
    /// unreadable, malformed or from another adapter is refused with a note
    /// ([`Engine::auto_thresholds`], [`crate::split::RateModel::note`]) and the defaults are
    /// used. `None` (the default): the guesses, and rates measured at first use. The
    /// library reads no other file and no environment variable.
    pub calibration: Option<std::path::PathBuf>,
    /// With `Auto` and no calibration, `hash_many` batches smaller than this run on the
    /// CPU: a GPU round trip (upload, dispatch, readback; tens to hundreds of µs) costs
    /// more than the `blake3` crate needs for a few thousand small messages (about 0.1 µs
    /// each per core).
    pub auto_min_hash_batch: usize,
    /// With `Auto`, signature batches smaller than this (in `verify_signatures` and in a
    /// block) run on the CPU. A fixed guess (4096 keeps small blocks off a slow or busy
    /// device), used when no calibration is loaded.
    pub auto_min_verify_batch: usize,
    /// With `Auto` and a GPU, `hash_many` and signature batches at least as large as the
    /// thresholds above are split between the GPU and the CPU pool in proportion to their
    /// rates ([`crate::split`]); `false` sends each such batch to the GPU whole.
    pub hybrid: bool,
    /// Smallest GPU share of a split worth a GPU call ([`Engine::verify_split`], the
    /// verify service); smaller shares stay on the CPU (default 256).
    pub min_gpu_share: usize,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            calibration: None,
            auto_min_hash_batch: 4096,
            auto_min_verify_batch: 4096,
            hybrid: true,
            min_gpu_share: crate::split::MIN_GPU_SHARE,
        }
    }
}

/// Engine settings. Everything the engine uses is here: it reads no environment
/// variable and no file that is not named here.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Which backend runs the parallel stages.
    pub backend: Backend,
    /// Worker threads for CPU stages; `None` = one per core.
    pub threads: Option<usize>,
    /// Substring of the adapter name to use (`None`: the best one). With `Auto`, naming
    /// an adapter also allows a software (CPU-type) one.
    pub adapter: Option<String>,
    /// wgpu backends to look for adapters on, a comma list as `WGPU_BACKEND` takes
    /// (`"vulkan"`, `"metal,dx12"`); `None`: Vulkan, Metal and DX12. GL is never used.
    pub wgpu_backends: Option<String>,
    /// Where the GPU verifier keeps the driver's compiled pipeline between processes
    /// (Vulkan's pipeline cache); `None` (the default): no disk cache.
    pub pipeline_cache_dir: Option<std::path::PathBuf>,
    /// Where work goes under `Auto` and how batches are split ([`Placement`]).
    pub placement: Placement,
    /// Bound of the engine's cache of decompressed signer keys, in entries (0 turns it
    /// off); see [`verify::cache::KeyCache`].
    pub key_cache_entries: usize,
    /// Workgroup sizes and the verifier's variant on the GPU
    /// ([`crate::gpu::tunables`]); the defaults are the shapes txwave has always run.
    pub gpu: GpuTunables,
    /// Bounds on a block's size and tx count: a block over them is refused by
    /// `process_block` and `process_stream` with [`Error::BlockTooLarge`] before any
    /// work (readers of logs have their own, [`crate::LogReader::with_limits`]).
    pub limits: crate::tx::DecodeLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            backend: Backend::Auto,
            threads: None,
            adapter: None,
            wgpu_backends: None,
            pipeline_cache_dir: None,
            placement: Placement::default(),
            key_cache_entries: verify::cache::DEFAULT_KEY_CACHE_ENTRIES,
            gpu: GpuTunables::default(),
            limits: crate::tx::DecodeLimits::default(),
        }
    }
}

/// Where [`Engine::inject_panic`] makes the engine panic: one point of each thread
/// txwave owns, to test that a panic becomes an [`Error::Internal`] and never looks like
/// success.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicPoint {
    /// The stream's read thread, after it pulled the block at the height.
    Read,
    /// A rayon job of the engine's pool while the block at the height is prepared.
    Prepare,
    /// The apply stage of the block at the height, after execution changed the state.
    Apply,
    /// A verify service worker, in the next batch it runs (the height is not used).
    Service,
}

/// Panics armed by [`Engine::inject_panic`], each fired once.
#[derive(Debug, Default)]
struct Faults(std::sync::Mutex<Vec<(PanicPoint, u64)>>);

impl Faults {
    /// Panics when `(point, height)` was armed (disarming it first).
    fn fire(&self, point: PanicPoint, height: u64) {
        let mut armed = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let hit = armed
            .iter()
            .position(|&(p, h)| p == point && (h == height || point == PanicPoint::Service));
        if let Some(i) = hit {
            armed.swap_remove(i);
            drop(armed);
            panic!("injected panic ({point:?} at height {height})");
        }
    }
}

/// The GPU side of an engine: one device, the state copy its stages share and the
/// pipelines compiled once for it.
struct GpuStages {
    ctx: GpuContext,
    resident: ResidentState,
    hasher: GpuHasher,
    verifier: GpuVerifier,
    resolver: GpuResolver,
    exec: GpuExecutor,
    commit: GpuCommit,
}

impl GpuStages {
    fn open(
        ctx: GpuContext,
        tunables: &GpuTunables,
        pipeline_cache_dir: Option<&std::path::Path>,
    ) -> Result<Self> {
        tunables.check(&ctx.limits)?;
        let resident = ResidentState::new(&ctx);
        let hasher = GpuHasher::new(&ctx, tunables)?;
        let commit = GpuCommit::new(&ctx, tunables)?;
        let verifier =
            GpuVerifier::with_pipeline_cache_dir(&ctx, tunables.verify, pipeline_cache_dir)?;
        let resolver = GpuResolver::new(&ctx, tunables)?;
        let exec = GpuExecutor::new(&ctx, tunables)?;
        Ok(GpuStages {
            ctx,
            resident,
            hasher,
            verifier,
            resolver,
            exec,
            commit,
        })
    }
}

/// The batch processor. Build one per process and reuse it: it owns the thread pool and,
/// on the GPU, the compiled pipelines and buffers.
///
/// # Concurrency
///
/// `Engine` is `Send + Sync`: share it (`Arc<Engine>`) and call `&self` methods from any
/// number of threads at once. What concurrent calls share:
/// - the rayon pool: CPU work of all callers is interleaved on its threads;
/// - the GPU queue: every GPU stage keeps its buffers behind its own lock, held for one
///   device submission and its readback (the verifier: one chunk; the hasher, Merkle and
///   leaf stages: one call), so two callers of one stage take turns per submission and
///   callers of different stages do not wait for each other;
/// - the device copy of the state ([`ResidentState`]): `process_block` on the GPU
///   resolves, executes and commits against one resident state, so GPU blocks of
///   different states take turns on it per stage (and each re-uploads its state);
/// - the CPU commit's cached account tree: taken out under a short lock and put back
///   after the root is computed, so concurrent blocks never wait on it (a block that
///   finds it taken rebuilds its tree);
/// - the [`crate::split::RateModel`]: a few numbers behind a short lock.
///
/// `verify_signatures`, `hash_many`, [`Engine::verify_split`] and `process_block` (on
/// different states) may all run concurrently; none holds a lock while waiting for
/// another. Only `&mut self` methods (e.g. [`Engine::gpu_executor_mut`]) need exclusive
/// access.
pub struct Engine {
    config: EngineConfig,
    pool: rayon::ThreadPool,
    gpu: Option<GpuStages>,
    note: Option<String>,
    cpu_commit: CpuCommit,
    key_cache: verify::cache::KeyCache,
    // Per-stage CPU/GPU rates for the hybrid split, measured at first use.
    rates: crate::split::RateModel,
    rates_ready: std::sync::OnceLock<()>,
    auto: AutoThresholds,
    faults: Faults,
}

// The engine is shared between threads (the verify service, validators).
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("backend", &self.backend())
            .field("device", &self.device_name())
            .finish()
    }
}

/// Which device a stage ran on, and what the GPU reported if it ran there.
struct Ran<T> {
    value: T,
    device: Device,
    timings: GpuTimings,
}

impl Engine {
    /// Creates an engine. `Backend::Gpu` fails if no adapter opens or a pipeline does not
    /// compile; `Auto` then uses the CPU and [`Engine::backend_note`] says why. `Auto`
    /// passes over software adapters (lavapipe, llvmpipe) unless `adapter` names one.
    pub fn new(config: EngineConfig) -> Result<Engine> {
        let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("txwave-{i}"));
        if let Some(n) = config.threads {
            if n == 0 {
                return Err(Error::InvalidArgument("threads must be at least 1".into()));
            }
            builder = builder.num_threads(n);
        }
        config.limits.check()?;
        let pool = builder
            .build()
            .map_err(|e| Error::InvalidArgument(format!("cannot start thread pool: {e}")))?;
        let open_ctx =
            || GpuContext::open(config.adapter.as_deref(), config.wgpu_backends.as_deref());
        let cache_dir = config.pipeline_cache_dir.as_deref();
        let (gpu, note) = match config.backend {
            Backend::Cpu => (None, None),
            Backend::Gpu => {
                let ctx = open_ctx()?;
                (Some(GpuStages::open(ctx, &config.gpu, cache_dir)?), None)
            }
            Backend::Auto => match open_ctx() {
                Err(e) => (None, Some(format!("auto chose the CPU: {e}"))),
                Ok(ctx) if ctx.adapter.is_software() && config.adapter.is_none() => (
                    None,
                    Some(format!(
                        "auto chose the CPU: the only adapter, {}, is a software renderer (use --backend gpu to run on it)",
                        ctx.adapter.name
                    )),
                ),
                Ok(ctx) => match GpuStages::open(ctx, &config.gpu, cache_dir) {
                    Ok(g) => (Some(g), None),
                    Err(e) => (None, Some(format!("auto chose the CPU: {e}"))),
                },
            },
        };
        let key_cache = verify::cache::KeyCache::new(config.key_cache_entries);
        let rates = crate::split::RateModel::default();
        let auto = Self::auto_thresholds_for(&config, gpu.as_ref().map(|g| &g.ctx), &rates);
        Ok(Engine {
            config,
            pool,
            gpu,
            note,
            cpu_commit: CpuCommit::new(),
            key_cache,
            rates,
            rates_ready: std::sync::OnceLock::new(),
            auto,
            faults: Faults::default(),
        })
    }

    /// `Auto`'s thresholds: from the chosen calibration when it loads and was measured on
    /// this adapter (its rates then also seed the split), else the config's guesses with
    /// a note saying why the file was refused.
    fn auto_thresholds_for(
        config: &EngineConfig,
        ctx: Option<&GpuContext>,
        rates: &crate::split::RateModel,
    ) -> AutoThresholds {
        let placement = &config.placement;
        let mut defaults = AutoThresholds::defaults(
            placement.auto_min_verify_batch,
            placement.auto_min_hash_batch,
        );
        let Some(path) = &placement.calibration else {
            return defaults;
        };
        let shown = path.display().to_string();
        let Some(ctx) = ctx else {
            if config.backend == Backend::Auto {
                defaults.note = Some(match Calibration::load(path, None) {
                    Ok(_) => format!("calibration {shown} not used: auto runs on the CPU"),
                    Err(e) => format!("{e}; not used"),
                });
            }
            return defaults;
        };
        match Calibration::load(path, Some(&ctx.adapter.name)) {
            Ok(cal) => {
                // The rates seed the split on any engine with a GPU (the verify service
                // splits on Gpu engines too); the thresholds are Auto's alone.
                rates.apply_calibration(&cal.stage_rates(), &shown);
                if config.backend == Backend::Auto {
                    AutoThresholds::from_calibration(&cal, &shown, &defaults)
                } else {
                    defaults
                }
            }
            Err(e) => {
                rates.set_note(format!("{e}; the rates are measured"));
                defaults.note = Some(format!("{e}; using the default thresholds"));
                defaults
            }
        }
    }

    /// Test hook: the next time the engine reaches `point` for the block at `height`, it
    /// panics there (once). What must follow is an [`Error::Internal`], never success.
    #[doc(hidden)]
    pub fn inject_panic(&self, point: PanicPoint, height: u64) {
        self.faults
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((point, height));
    }

    /// Fires an armed [`Engine::inject_panic`] at `point`.
    pub(crate) fn fault_point(&self, point: PanicPoint, height: u64) {
        self.faults.fire(point, height);
    }

    /// The smallest batches `Auto` sends to the GPU, and where they came from.
    pub fn auto_thresholds(&self) -> &AutoThresholds {
        &self.auto
    }

    /// The backend actually in use (`Auto` resolved to `Cpu` or `Gpu`).
    pub fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    /// Why `Auto` chose what it chose, when it passed over the GPU.
    pub fn backend_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Name of the device running the parallel stages.
    pub fn device_name(&self) -> String {
        match &self.gpu {
            Some(g) => format!(
                "{} ({}, {})",
                g.ctx.adapter.name, g.ctx.adapter.backend, g.ctx.adapter.device_type
            ),
            None => format!("CPU (rayon, {} threads)", self.threads()),
        }
    }

    /// The GPU context, when the engine runs on a GPU.
    #[doc(hidden)]
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        self.gpu.as_ref().map(|g| &g.ctx)
    }

    /// Worker threads of the CPU stages.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs a stage on the GPU when there is one; under `Auto` a GPU error is recorded in
    /// `fallbacks` and the CPU finishes the stage, under `Gpu` the error is returned.
    /// [`Engine::staged`], or the CPU alone when `cpu_only`.
    fn staged_unless<T>(
        &self,
        cpu_only: bool,
        stage: &'static str,
        fallbacks: &mut Vec<String>,
        gpu: impl FnOnce(&GpuStages) -> Result<(T, GpuTimings)>,
        cpu: impl FnOnce() -> T,
    ) -> Result<Ran<T>> {
        if cpu_only {
            return Ok(Ran {
                value: cpu(),
                device: Device::Cpu,
                timings: GpuTimings::default(),
            });
        }
        self.staged(stage, fallbacks, gpu, cpu)
    }

    fn staged<T>(
        &self,
        stage: &'static str,
        fallbacks: &mut Vec<String>,
        gpu: impl FnOnce(&GpuStages) -> Result<(T, GpuTimings)>,
        cpu: impl FnOnce() -> T,
    ) -> Result<Ran<T>> {
        self.staged_mut(stage, fallbacks, &mut (), |g, _| gpu(g), |_| cpu())
    }

    /// [`Engine::staged`] for a stage that changes `target`: the GPU closure must leave it
    /// untouched when it fails, so that the CPU closure starts from the same value.
    fn staged_mut<S: ?Sized, T>(
        &self,
        stage: &'static str,
        fallbacks: &mut Vec<String>,
        target: &mut S,
        gpu: impl FnOnce(&GpuStages, &mut S) -> Result<(T, GpuTimings)>,
        cpu: impl FnOnce(&mut S) -> T,
    ) -> Result<Ran<T>> {
        let Some(g) = &self.gpu else {
            return Ok(Ran {
                value: cpu(target),
                device: Device::Cpu,
                timings: GpuTimings::default(),
            });
        };
        match gpu(g, target) {
            Ok((value, timings)) => Ok(Ran {
                value,
                device: Device::Gpu,
                timings,
            }),
            Err(e) if self.config.backend == Backend::Auto => {
                fallbacks.push(format!("{stage}: {e}; the CPU finished it"));
                Ok(Ran {
                    value: cpu(target),
                    device: Device::CpuFallback,
                    timings: GpuTimings::default(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The GPU verifier, when the engine runs on a GPU (benches time it alone).
    #[doc(hidden)]
    pub fn gpu_verifier(&self) -> Option<&GpuVerifier> {
        self.gpu.as_ref().map(|g| &g.verifier)
    }

    /// The GPU hasher, when the engine runs on a GPU (benches time it alone).
    #[doc(hidden)]
    pub fn gpu_hasher(&self) -> Option<&GpuHasher> {
        self.gpu.as_ref().map(|g| &g.hasher)
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The GPU executor, when the engine runs on a GPU (for its settings and sync report).
    #[doc(hidden)]
    pub fn gpu_executor(&self) -> Option<&GpuExecutor> {
        self.gpu.as_ref().map(|g| &g.exec)
    }

    /// Mutable access to the GPU executor's settings (e.g. the serial-segment threshold).
    #[doc(hidden)]
    pub fn gpu_executor_mut(&mut self) -> Option<&mut GpuExecutor> {
        self.gpu.as_mut().map(|g| &mut g.exec)
    }

    /// The device-resident state copy that the GPU resolve, execute and commit stages
    /// share, when the engine runs on a GPU (for its sync report).
    #[doc(hidden)]
    pub fn gpu_resident(&self) -> Option<&ResidentState> {
        self.gpu.as_ref().map(|g| &g.resident)
    }

    /// The per-stage CPU and GPU rates the hybrid split uses (see [`crate::split`]).
    #[doc(hidden)]
    pub fn rates(&self) -> &crate::split::RateModel {
        &self.rates
    }

    /// Runs `init` once, before the first split (loads or measures the rates).
    pub(crate) fn rates_once(&self, init: impl FnOnce()) {
        self.rates_ready.get_or_init(init);
    }

    /// Whether `Auto` splits batches above its thresholds between GPU and CPU.
    fn splits(&self) -> bool {
        self.config.backend == Backend::Auto && self.config.placement.hybrid && self.gpu.is_some()
    }

    /// The CPU pool.
    pub(crate) fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Signatures on the GPU alone; `None` without a GPU.
    pub(crate) fn gpu_verify(
        &self,
        items: &[SigCheck<'_>],
        rule: VerifyRule,
    ) -> Option<Result<(Vec<bool>, GpuTimings)>> {
        let g = self.gpu.as_ref()?;
        Some(g.verifier.verify(&g.ctx, items, rule))
    }

    /// Messages on the GPU alone; `None` without a GPU.
    pub(crate) fn gpu_hash(&self, msgs: &[&[u8]]) -> Option<Result<(Vec<[u8; 32]>, GpuTimings)>> {
        let g = self.gpu.as_ref()?;
        Some(g.hasher.hash_many(&g.ctx, msgs))
    }

    /// BLAKE3 of every message (any lengths). Under `Auto`, batches smaller than
    /// [`Engine::auto_thresholds`] (a calibration's break-even size, else
    /// [`Placement::auto_min_hash_batch`]) and failed GPU calls run on the CPU.
    pub fn hash_many(&self, msgs: &[&[u8]]) -> Result<Vec<[u8; 32]>> {
        if self.config.backend == Backend::Auto && msgs.len() < self.auto.hash {
            return Ok(self.pool.install(|| hash::cpu::hash_many(msgs)));
        }
        // Split between GPU and CPU by measured rates.
        if self.splits() {
            return Ok(self.hash_split(msgs).value);
        }
        let mut fallbacks = Vec::new();
        let ran = self.staged(
            "hash",
            &mut fallbacks,
            |g| g.hasher.hash_many(&g.ctx, msgs),
            || self.pool.install(|| hash::cpu::hash_many(msgs)),
        )?;
        Ok(ran.value)
    }

    /// Checks every signature under `rule`; `out[i]` says whether `items[i]` is accepted.
    /// Under `Auto`, batches smaller than [`Engine::auto_thresholds`] (a calibration's
    /// break-even size, else [`Placement::auto_min_verify_batch`]) and failed GPU calls
    /// run on the CPU.
    pub fn verify_signatures(&self, items: &[SigCheck<'_>], rule: VerifyRule) -> Result<Vec<bool>> {
        let mut fallbacks = Vec::new();
        let mut stats = verify::cache::CacheStats::default();
        Ok(self
            .verify_staged(items, rule, &mut fallbacks, &mut stats)?
            .value)
    }

    /// The engine's cache of decompressed signer keys (shared by both rules).
    #[doc(hidden)]
    pub fn key_cache(&self) -> &verify::cache::KeyCache {
        &self.key_cache
    }

    /// Fills the key cache from `state`'s account keys (in account order, up to the
    /// cache's bound; see [`verify::cache::KeyCache::warm`]) on the engine's pool and
    /// returns how many keys it decompressed. Nothing on the GPU backend, whose verifier
    /// decompresses keys on the device and uses the cache only to finish a failed call.
    /// Verdicts never depend on it; it moves the cost of the first lookups to one
    /// parallel pass at start-up and makes the cache's memory independent of how many
    /// signers the blocks that follow meet.
    pub fn warm_key_cache(&self, state: &crate::state::State) -> usize {
        if self.config.backend == Backend::Gpu {
            return 0;
        }
        self.pool.install(|| self.key_cache.warm(state.pubkeys()))
    }

    /// Compile time of the GPU verifier's pipelines (zero on the CPU backend).
    #[doc(hidden)]
    pub fn verifier_compile_time(&self) -> std::time::Duration {
        self.gpu
            .as_ref()
            .map(|g| g.verifier.compile_time())
            .unwrap_or_default()
    }

    fn verify_staged(
        &self,
        items: &[SigCheck<'_>],
        rule: VerifyRule,
        fallbacks: &mut Vec<String>,
        stats: &mut verify::cache::CacheStats,
    ) -> Result<Ran<Vec<bool>>> {
        let mut cpu = || {
            let (ok, s) = self
                .pool
                .install(|| verify::cpu::verify_signatures_cached(items, rule, &self.key_cache));
            *stats = s;
            ok
        };
        if self.config.backend == Backend::Auto && items.len() < self.auto.verify(rule) {
            return Ok(Ran {
                value: cpu(),
                device: Device::Cpu,
                timings: GpuTimings::default(),
            });
        }
        // Split between GPU and CPU by measured rates.
        if self.splits() {
            let run = self.verify_split(items, rule, crate::split::MIN_GPU_SHARE);
            if let Some(e) = &run.gpu_error {
                fallbacks.push(format!("verify: {e}; the CPU finished it"));
            }
            return Ok(Ran {
                device: run.device(),
                timings: run.gpu_timings,
                value: run.value,
            });
        }
        self.staged(
            "verify",
            fallbacks,
            |g| g.verifier.verify(&g.ctx, items, rule),
            cpu,
        )
    }
}
