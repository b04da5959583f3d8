//! The engine: runs the pipeline stages on the chosen backend and reports what ran where.

use std::time::Instant;

use rayon::prelude::*;

use crate::commit::gpu::GpuMerkle;
use crate::commit::leaves::GpuStateLeaves;
use crate::commit::merkle_root;
use crate::commit::tree::MerkleTree;
use crate::error::{Error, Result};
use crate::exec::gpu::GpuExecutor;
use crate::exec::gpu_resolve::GpuResolver;
use crate::exec::{self, Receipt};
use crate::gpu::{GpuContext, GpuTimings};
use crate::hash::gpu::GpuHasher;
use crate::resolve::{self, Resolved};
use crate::state::State;
use crate::tx::{Action, Block, Tx};
use crate::verify::gpu::GpuVerifier;
use crate::verify::{self, SigCheck, VerifyRule};
use crate::{hash, schedule};

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

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Which backend runs the parallel stages.
    pub backend: Backend,
    /// Worker threads for CPU stages; `None` = one per core.
    pub threads: Option<usize>,
    /// Substring of the adapter name to use (else `TXWAVE_ADAPTER`, else the best one).
    /// With `Auto`, naming an adapter also allows a software (CPU-type) one.
    pub adapter: Option<String>,
    /// With `Auto`, `hash_many` batches smaller than this run on the CPU: a GPU round trip
    /// (upload, dispatch, readback; tens to hundreds of µs) costs more than the `blake3`
    /// crate needs for a few thousand small messages (about 0.1 µs each per core).
    pub auto_min_hash_batch: usize,
    /// With `Auto`, signature batches smaller than this (in `verify_signatures` and in a
    /// block) run on the CPU. Not yet calibrated on real GPU hardware (lavapipe, the only
    /// adapter available where this was written, never breaks even); 4096 is a
    /// conservative guess that keeps small blocks off a slow or busy device.
    pub auto_min_verify_batch: usize,
    /// With `Auto` and a GPU, `hash_many` and signature batches at least as large as the
    /// thresholds above are split between the GPU and the CPU pool in proportion to their
    /// rates ([`crate::split`]); `false` sends each such batch to the GPU whole.
    pub hybrid: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            backend: Backend::Auto,
            threads: None,
            adapter: None,
            auto_min_hash_batch: 4096,
            auto_min_verify_batch: 4096,
            hybrid: true,
        }
    }
}

/// The device a stage ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The CPU (rayon).
    Cpu,
    /// The GPU.
    Gpu,
    /// `Auto` tried the GPU, it failed, and the CPU finished the stage.
    CpuFallback,
    /// Split: the front of the batch on the GPU, the rest on the CPU, at the same time.
    Hybrid,
}

/// Wall time of every stage of one block, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageTimings {
    /// Header checks and tx decoding.
    pub decode_ns: u64,
    /// Tx ids.
    pub hash_ns: u64,
    /// Signature checks.
    pub verify_ns: u64,
    /// Account resolution.
    pub resolve_ns: u64,
    /// Wave scheduling.
    pub schedule_ns: u64,
    /// Execution.
    pub execute_ns: u64,
    /// Roots (tx, receipts, state) and the claimed-root check.
    pub commit_ns: u64,
    /// Whole `process_block` call.
    pub total_ns: u64,
}

impl StageTimings {
    /// Adds another block's timings to these.
    pub fn add(&mut self, o: &StageTimings) {
        self.decode_ns += o.decode_ns;
        self.hash_ns += o.hash_ns;
        self.verify_ns += o.verify_ns;
        self.resolve_ns += o.resolve_ns;
        self.schedule_ns += o.schedule_ns;
        self.execute_ns += o.execute_ns;
        self.commit_ns += o.commit_ns;
        self.total_ns += o.total_ns;
    }
}

/// GPU phase timings of each GPU stage of a block (zero for stages that ran on the CPU).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageGpuTimings {
    /// Tx ids and tx_root.
    pub hash: GpuTimings,
    /// Signature checks.
    pub verify: GpuTimings,
    /// Account lookups.
    pub resolve: GpuTimings,
    /// Execution.
    pub execute: GpuTimings,
    /// Receipts, accounts and pools roots.
    pub commit: GpuTimings,
}

impl StageGpuTimings {
    /// Adds another block's GPU timings to these.
    pub fn add(&mut self, o: &StageGpuTimings) {
        self.hash.add(&o.hash);
        self.verify.add(&o.verify);
        self.resolve.add(&o.resolve);
        self.execute.add(&o.execute);
        self.commit.add(&o.commit);
    }
}

/// Which device ran each parallel stage of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StageDevices {
    /// Tx ids.
    pub hash: Device,
    /// Signature checks.
    pub verify: Device,
    /// Account lookups (account creation is on the CPU, in the resolve order of docs/SPEC.md).
    pub resolve: Device,
    /// Execution.
    pub execute: Device,
    /// Roots.
    pub commit: Device,
}

/// Everything `process_block` reports about an accepted block.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    /// Block height.
    pub height: u64,
    /// One receipt per tx, block order.
    pub receipts: Vec<Receipt>,
    /// Merkle root of the tx ids.
    pub tx_root: [u8; 32],
    /// Merkle root of the receipt leaves.
    pub receipts_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
    /// Hash of the block (now the state's last block hash).
    pub block_hash: [u8; 32],
    /// Number of waves (the longest dependency chain; 0 when nothing executes).
    pub waves: usize,
    /// Txs in the largest wave.
    pub largest_wave: usize,
    /// Account leaves the commit stage hashed: the accounts the block touched or created,
    /// or every account when the engine's cached leaves were not this state's (first
    /// block, another state, a rolled-back block, a backend switch under `Auto`).
    pub accounts_rehashed: usize,
    /// Wall time per stage.
    pub timings: StageTimings,
    /// Device per stage.
    pub devices: StageDevices,
    /// Upload, dispatch, readback and device-pass time of the GPU stages.
    pub gpu_timings: StageGpuTimings,
    /// Messages from `Auto` about GPU failures it recovered from.
    pub fallbacks: Vec<String>,
    /// The waves the block executed in.
    pub schedule: schedule::Schedule,
}

impl BlockOutcome {
    /// Txs that executed (took a wave) divided by waves: the average parallelism.
    pub fn average_parallelism(&self, executed: usize) -> f64 {
        if self.waves == 0 {
            0.0
        } else {
            executed as f64 / self.waves as f64
        }
    }
}

/// The GPU side of an engine: one device and the pipelines compiled once for it.
struct GpuStages {
    ctx: GpuContext,
    hasher: GpuHasher,
    merkle: GpuMerkle,
    leaves: GpuStateLeaves,
    verifier: GpuVerifier,
    resolver: GpuResolver,
    exec: GpuExecutor,
}

impl GpuStages {
    fn open(ctx: GpuContext) -> Result<Self> {
        let hasher = GpuHasher::new(&ctx)?;
        let merkle = GpuMerkle::new(&ctx)?;
        let leaves = GpuStateLeaves::new(&ctx)?;
        let verifier = GpuVerifier::new(&ctx)?;
        let resolver = GpuResolver::new(&ctx)?;
        let exec = GpuExecutor::new(&ctx)?;
        Ok(GpuStages {
            ctx,
            hasher,
            merkle,
            leaves,
            verifier,
            resolver,
            exec,
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
/// - the device copy of the state ([`GpuExecutor`]): `process_block` on the GPU resolves,
///   executes and commits against one resident state, so GPU blocks of different states
///   take turns on it per stage (and each re-uploads its state);
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
    accounts_tree: std::sync::Mutex<Option<AccountsTree>>,
    // issue 14: per-stage CPU/GPU rates for the hybrid split, measured at first use.
    rates: crate::split::RateModel,
    rates_ready: std::sync::OnceLock<()>,
}

// issue 14: the engine is shared between threads (the verify service, validators).
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

/// The CPU commit's account Merkle tree, kept between blocks so a block rehashes only the
/// accounts it touched and the paths above them. Valid for the state whose sync tag it
/// records (any other state, or an edit made elsewhere, rebuilds it).
#[derive(Debug)]
struct AccountsTree {
    tag: (u64, u64),
    tree: MerkleTree,
}

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
        let pool = builder
            .build()
            .map_err(|e| Error::InvalidArgument(format!("cannot start thread pool: {e}")))?;
        let (gpu, note) = match config.backend {
            Backend::Cpu => (None, None),
            Backend::Gpu => {
                let ctx = GpuContext::new(config.adapter.as_deref())?;
                (Some(GpuStages::open(ctx)?), None)
            }
            Backend::Auto => match GpuContext::new(config.adapter.as_deref()) {
                Err(e) => (None, Some(format!("auto chose the CPU: {e}"))),
                Ok(ctx) if ctx.adapter.device_type == "Cpu" && config.adapter.is_none() => (
                    None,
                    Some(format!(
                        "auto chose the CPU: the only adapter, {}, is a software renderer (use --backend gpu to run on it)",
                        ctx.adapter.name
                    )),
                ),
                Ok(ctx) => match GpuStages::open(ctx) {
                    Ok(g) => (Some(g), None),
                    Err(e) => (None, Some(format!("auto chose the CPU: {e}"))),
                },
            },
        };
        Ok(Engine {
            config,
            pool,
            gpu,
            note,
            accounts_tree: std::sync::Mutex::new(None),
            rates: crate::split::RateModel::default(),
            rates_ready: std::sync::OnceLock::new(),
        })
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
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        self.gpu.as_ref().map(|g| &g.ctx)
    }

    /// Worker threads of the CPU stages.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs a stage on the GPU when there is one; under `Auto` a GPU error is recorded in
    /// `fallbacks` and the CPU finishes the stage, under `Gpu` the error is returned.
    fn staged<T>(
        &self,
        stage: &'static str,
        fallbacks: &mut Vec<String>,
        gpu: impl FnOnce(&GpuStages) -> Result<(T, GpuTimings)>,
        cpu: impl FnOnce() -> T,
    ) -> Result<Ran<T>> {
        let Some(g) = &self.gpu else {
            return Ok(Ran {
                value: cpu(),
                device: Device::Cpu,
                timings: GpuTimings::default(),
            });
        };
        match gpu(g) {
            Ok((value, timings)) => Ok(Ran {
                value,
                device: Device::Gpu,
                timings,
            }),
            Err(e) if self.config.backend == Backend::Auto => {
                fallbacks.push(format!("{stage}: {e}; the CPU finished it"));
                Ok(Ran {
                    value: cpu(),
                    device: Device::CpuFallback,
                    timings: GpuTimings::default(),
                })
            }
            Err(e) => Err(e),
        }
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

    /// The GPU executor, when the engine runs on a GPU (for its settings and sync report).
    pub fn gpu_executor(&self) -> Option<&GpuExecutor> {
        self.gpu.as_ref().map(|g| &g.exec)
    }

    /// Mutable access to the GPU executor's settings (e.g. the serial-segment threshold).
    pub fn gpu_executor_mut(&mut self) -> Option<&mut GpuExecutor> {
        self.gpu.as_mut().map(|g| &mut g.exec)
    }

    // ---- issue 14: accessors of the hybrid split (src/split.rs) and the service ----

    /// The per-stage CPU and GPU rates the hybrid split uses (see [`crate::split`]).
    pub fn rates(&self) -> &crate::split::RateModel {
        &self.rates
    }

    /// Runs `init` once, before the first split (loads or measures the rates).
    pub(crate) fn rates_once(&self, init: impl FnOnce()) {
        self.rates_ready.get_or_init(init);
    }

    /// Whether `Auto` splits batches above its thresholds between GPU and CPU.
    fn splits(&self) -> bool {
        self.config.backend == Backend::Auto && self.config.hybrid && self.gpu.is_some()
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

    // ---- end issue 14 accessors ----

    /// BLAKE3 of every message (any lengths). Under `Auto`, batches smaller than
    /// [`EngineConfig::auto_min_hash_batch`] and failed GPU calls run on the CPU.
    pub fn hash_many(&self, msgs: &[&[u8]]) -> Result<Vec<[u8; 32]>> {
        if self.config.backend == Backend::Auto && msgs.len() < self.config.auto_min_hash_batch {
            return Ok(self.pool.install(|| hash::cpu::hash_many(msgs)));
        }
        // issue 14: split between GPU and CPU by measured rates.
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
    /// Under `Auto`, batches smaller than [`EngineConfig::auto_min_verify_batch`] and
    /// failed GPU calls run on the CPU.
    pub fn verify_signatures(&self, items: &[SigCheck<'_>], rule: VerifyRule) -> Result<Vec<bool>> {
        let mut fallbacks = Vec::new();
        Ok(self.verify_staged(items, rule, &mut fallbacks)?.value)
    }

    /// Compile time of the GPU verifier's pipelines (zero on the CPU backend).
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
    ) -> Result<Ran<Vec<bool>>> {
        let cpu = || {
            self.pool
                .install(|| verify::cpu::verify_signatures(items, rule))
        };
        if self.config.backend == Backend::Auto && items.len() < self.config.auto_min_verify_batch {
            return Ok(Ran {
                value: cpu(),
                device: Device::Cpu,
                timings: GpuTimings::default(),
            });
        }
        // issue 14: split between GPU and CPU by measured rates.
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

    /// Applies one block to `state`. On any error the state is exactly as before.
    pub fn process_block(&self, state: &mut State, block: &Block) -> Result<BlockOutcome> {
        self.pool.install(|| self.process_block_inner(state, block))
    }

    fn process_block_inner(&self, state: &mut State, block: &Block) -> Result<BlockOutcome> {
        let t_start = Instant::now();
        let mut timings = StageTimings::default();
        let mut gpu_timings = StageGpuTimings::default();
        let mut fallbacks = Vec::new();
        let lap = |t: &mut Instant| {
            let ns = t.elapsed().as_nanos() as u64;
            *t = Instant::now();
            ns
        };
        let mut t = Instant::now();

        if let Some(g) = &self.gpu {
            g.exec.begin_block();
        }

        // Decode.
        exec::reference::check_header(state, block)?;
        let decoded: Vec<Option<Tx>> = (0..block.tx_count())
            .into_par_iter()
            .with_min_len(512)
            .map(|i| Tx::decode(block.tx_bytes(i)))
            .collect();
        timings.decode_ns = lap(&mut t);

        // Hash: tx ids and tx_root together (on the GPU the root is reduced on the device).
        let tx_msgs: Vec<&[u8]> = block.txs().collect();
        let hashed = self.staged(
            "hash",
            &mut fallbacks,
            |g| {
                g.merkle
                    .hash_and_root(&g.ctx, &g.hasher, &tx_msgs)
                    .map(|(ids, root, t)| ((ids, root), t))
            },
            || {
                let ids = hash::cpu::tx_ids(block);
                let root = merkle_root(&ids);
                (ids, root)
            },
        )?;
        let (tx_ids, tx_root) = hashed.value;
        gpu_timings.hash = hashed.timings;
        timings.hash_ns = lap(&mut t);

        // Verify.
        let (checks, check_of) = verify::block_checks(block, &decoded);
        let verified = self.verify_staged(&checks, state.verify_rule(), &mut fallbacks)?;
        let verify_device = verified.device;
        gpu_timings.verify = verified.timings;
        let verdicts = verified.value;
        let sig_ok = verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
        timings.verify_ns = lap(&mut t);

        // Resolve, with an undo log of everything the block may touch.
        let current = &*state;
        let looked_up = self.staged(
            "resolve",
            &mut fallbacks,
            |g| {
                let keys = resolve::lookup_keys(&decoded, &sig_ok);
                let (found, t) = g.exec.with_resident(&g.ctx, current, |cols, table| {
                    g.resolver.lookup(&g.ctx, cols.pubkeys, table, &keys)
                })?;
                let known =
                    resolve::known_from_lookups(&decoded, &sig_ok, &found).ok_or(Error::Gpu {
                        stage: "resolve readback",
                        what: format!("{} results for {} lookups", found.len(), keys.len()),
                    })?;
                Ok((known, t))
            },
            || resolve::known_accounts(current, &decoded, &sig_ok),
        )?;
        gpu_timings.resolve = looked_up.timings;
        let resolved = resolve::resolve_known(state, block, &decoded, &sig_ok, looked_up.value);
        let (touched_accounts, touched_pools) = touched(&resolved);
        let undo = state.undo_log(resolved.accounts_before, &touched_accounts, &touched_pools);
        timings.resolve_ns = lap(&mut t);

        // From here on the state changes: any error rolls it back.
        let after = self.execute_and_commit(
            state,
            block,
            &resolved,
            &touched_accounts,
            &tx_ids,
            &mut timings,
            &mut gpu_timings,
            &mut fallbacks,
        );
        let Executed {
            sched,
            receipts,
            roots: (receipts_root, state_root),
            accounts_rehashed,
            execute_device,
            commit_device,
        } = match after {
            Ok(v) => v,
            Err(e) => {
                state.rollback(undo);
                return Err(e);
            }
        };
        t = Instant::now();
        let block_hash = block.block_hash(&tx_root);
        state.set_tip(block.height, block_hash);
        timings.commit_ns += lap(&mut t);
        timings.total_ns = t_start.elapsed().as_nanos() as u64;

        Ok(BlockOutcome {
            height: block.height,
            receipts,
            tx_root,
            receipts_root,
            state_root,
            block_hash,
            waves: sched.wave_count(),
            largest_wave: sched.largest_wave(),
            accounts_rehashed,
            timings,
            devices: StageDevices {
                hash: hashed.device,
                verify: verify_device,
                resolve: looked_up.device,
                execute: execute_device,
                commit: commit_device,
            },
            gpu_timings,
            fallbacks,
            schedule: sched,
        })
    }

    /// Schedule, execute and commit. Mutates `state`; the caller rolls back on error.
    #[allow(clippy::too_many_arguments)]
    fn execute_and_commit(
        &self,
        state: &mut State,
        block: &Block,
        resolved: &resolve::ResolvedBlock,
        touched_accounts: &[u32],
        tx_ids: &[[u8; 32]],
        timings: &mut StageTimings,
        gpu_timings: &mut StageGpuTimings,
        fallbacks: &mut Vec<String>,
    ) -> Result<Executed> {
        let mut t = Instant::now();
        // Execution edits only `touched_accounts` (and appends nothing): the commit caches
        // rehash those when their copy matches the state as it is now.
        let since = state.sync_tag();
        let sched = schedule::Schedule::build(resolved, state.account_count());
        timings.schedule_ns = t.elapsed().as_nanos() as u64;
        t = Instant::now();

        // The GPU writes the host state only after it succeeded, so under Auto the CPU
        // executor starts from the untouched state.
        let executed = self.staged_mut(
            "execute",
            fallbacks,
            state,
            |g, state| g.exec.execute(&g.ctx, state, resolved, &sched),
            |state| exec::waves::execute_waves(state, resolved, &sched),
        )?;
        let results = executed.value;
        let execute_device = executed.device;
        gpu_timings.execute = executed.timings;
        timings.execute_ns = t.elapsed().as_nanos() as u64;
        t = Instant::now();

        let receipts: Vec<Receipt> = tx_ids
            .iter()
            .zip(&results)
            .map(|(&tx_id, &(status, amount_out))| Receipt {
                tx_id,
                status,
                amount_out,
            })
            .collect();
        let committed = self.staged(
            "commit",
            fallbacks,
            |g| commit_on_gpu(g, state, &receipts, since, touched_accounts),
            || {
                let leaves: Vec<[u8; 32]> = receipts
                    .par_iter()
                    .with_min_len(512)
                    .map(Receipt::leaf)
                    .collect();
                let (accounts_root, rehashed) =
                    self.accounts_root_cpu(state, since, touched_accounts);
                (
                    (
                        merkle_root(&leaves),
                        crate::state::state_root_of(&accounts_root, &state.pools_root()),
                    ),
                    rehashed,
                )
            },
        )?;
        let ((receipts_root, state_root), accounts_rehashed) = committed.value;
        gpu_timings.commit = committed.timings;
        if let Some(claimed) = block.claimed_root()
            && claimed != state_root
        {
            return Err(Error::StateRootMismatch {
                height: block.height,
                claimed: hex::encode(claimed),
                computed: hex::encode(state_root),
            });
        }
        timings.commit_ns = t.elapsed().as_nanos() as u64;
        Ok(Executed {
            sched,
            receipts,
            roots: (receipts_root, state_root),
            accounts_rehashed,
            execute_device,
            commit_device: committed.device,
        })
    }
}

impl Engine {
    /// accounts_root on the CPU from the cached tree: when the cache matches the state as
    /// it was at `since`, only `touched` and the accounts appended since are rehashed.
    fn accounts_root_cpu(
        &self,
        state: &State,
        since: (u64, u64),
        touched: &[u32],
    ) -> ([u8; 32], usize) {
        // issue 14: the lock is held only to take the tree out and to put it back, so
        // concurrent blocks never wait for each other's root (one that finds the tree
        // taken rebuilds its own). Updates happen outside the lock: nothing half-updated
        // is ever stored.
        let lock = || self.accounts_tree.lock().unwrap_or_else(|p| p.into_inner());
        let n = state.account_count();
        let kept = lock().take();
        let stale = crate::commit::stale_accounts(
            kept.as_ref().map(|c| (c.tag, c.tree.len())),
            since,
            touched,
            n,
        );
        let (tree, rehashed) = match (kept, stale) {
            (Some(c), Some(stale)) => {
                let mut tree = c.tree;
                let changed: Vec<(usize, [u8; 32])> = stale
                    .par_iter()
                    .with_min_len(256)
                    .map(|&i| (i as usize, state.account_leaf(i as usize)))
                    .collect();
                let rehashed = changed.len();
                tree.update(changed, n);
                (tree, rehashed)
            }
            _ => (MerkleTree::new(state.account_leaves()), n),
        };
        let root = tree.root();
        *lock() = Some(AccountsTree {
            tag: state.sync_tag(),
            tree,
        });
        (root, rehashed)
    }
}

/// (receipts_root, state_root).
type Roots = ([u8; 32], [u8; 32]);

/// What the state-changing half of the pipeline produced.
struct Executed {
    sched: schedule::Schedule,
    receipts: Vec<Receipt>,
    roots: Roots,
    accounts_rehashed: usize,
    execute_device: Device,
    commit_device: Device,
}

/// Receipts root and state root on the GPU, and the account leaves rehashed. The receipt
/// leaves are hashed from their messages (the block's receipts go up); the account and
/// pool leaves are hashed from the executor's resident columns, where only the accounts
/// `touched` since `since` (and new ones) are rehashed. Only the roots come back.
fn commit_on_gpu(
    g: &GpuStages,
    state: &State,
    receipts: &[Receipt],
    since: (u64, u64),
    touched: &[u32],
) -> Result<((Roots, usize), GpuTimings)> {
    let mut total = GpuTimings::default();
    let receipt_msgs: Vec<[u8; 41]> = receipts
        .par_iter()
        .with_min_len(1024)
        .map(|r| {
            let mut m = [0u8; 41];
            m[..32].copy_from_slice(&r.tx_id);
            m[32] = r.status as u8;
            m[33..].copy_from_slice(&r.amount_out.to_le_bytes());
            m
        })
        .collect();
    let refs: Vec<&[u8]> = receipt_msgs.iter().map(|m| &m[..]).collect();
    let (receipts_root, t) = g.merkle.root_of_messages(&g.ctx, &g.hasher, &refs)?;
    total.add(&t);
    let (leaves, t) = g.exec.with_resident(&g.ctx, state, |cols, _| {
        g.leaves
            .roots(&g.ctx, &g.merkle, state, cols, since, touched)
    })?;
    total.add(&t);
    Ok((
        (
            (
                receipts_root,
                crate::state::state_root_of(&leaves.accounts_root, &leaves.pools_root),
            ),
            leaves.accounts_rehashed,
        ),
        total,
    ))
}

/// Accounts and pools a resolved block may write (signers, recipients, fee collector,
/// swap pools), deduplicated.
fn touched(resolved: &resolve::ResolvedBlock) -> (Vec<u32>, Vec<u32>) {
    let mut accounts = Vec::new();
    let mut pools = Vec::new();
    for r in &resolved.txs {
        if let Resolved::Ready(tx) = r {
            accounts.push(tx.signer);
            if tx.recipient != resolve::NO_ACCOUNT {
                accounts.push(tx.recipient);
            }
            if let Action::Swap(s) = tx.tx.action {
                pools.push(s.pool);
            }
        }
    }
    if resolved.fee_collector != resolve::NO_ACCOUNT {
        accounts.push(resolved.fee_collector);
    }
    accounts.sort_unstable();
    accounts.dedup();
    pools.sort_unstable();
    pools.dedup();
    (accounts, pools)
}
