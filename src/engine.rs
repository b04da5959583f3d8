//! The engine: runs the pipeline stages on the chosen backend and reports what ran where.

use std::time::Instant;

use rayon::prelude::*;

use crate::commit::merkle_root;
use crate::error::{Error, Result};
use crate::exec::{self, Receipt};
use crate::resolve::{self, Resolved};
use crate::state::State;
use crate::tx::{Action, Block, Tx};
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
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Which backend runs the parallel stages.
    pub backend: Backend,
    /// Worker threads for CPU stages; `None` = one per core.
    pub threads: Option<usize>,
    /// Substring of the adapter name to use (else `TXWAVE_ADAPTER`, else the best one).
    pub adapter: Option<String>,
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

/// Which device ran each parallel stage of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StageDevices {
    /// Tx ids.
    pub hash: Device,
    /// Signature checks.
    pub verify: Device,
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
    /// Wall time per stage.
    pub timings: StageTimings,
    /// Device per stage.
    pub devices: StageDevices,
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

/// The batch processor. Build one per process and reuse it: it owns the thread pool and,
/// on the GPU, the compiled pipelines and buffers.
pub struct Engine {
    config: EngineConfig,
    pool: rayon::ThreadPool,
    backend: Backend,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("backend", &self.backend)
            .finish()
    }
}

impl Engine {
    /// Creates an engine. `Backend::Gpu` fails if no adapter opens; `Auto` then uses the CPU.
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
        let backend = match config.backend {
            Backend::Cpu | Backend::Auto => Backend::Cpu,
            Backend::Gpu => {
                return Err(Error::NoAdapter(
                    "this build has no GPU stages yet; use --backend cpu".into(),
                ));
            }
        };
        Ok(Engine {
            config,
            pool,
            backend,
        })
    }

    /// The backend actually in use (`Auto` resolved to `Cpu` or `Gpu`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Name of the device running the parallel stages.
    pub fn device_name(&self) -> String {
        "CPU (rayon)".to_string()
    }

    /// Worker threads of the CPU stages.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// BLAKE3 of every message (any lengths).
    pub fn hash_many(&self, msgs: &[&[u8]]) -> Result<Vec<[u8; 32]>> {
        Ok(self.pool.install(|| hash::cpu::hash_many(msgs)))
    }

    /// Checks every signature under `rule`; `out[i]` says whether `items[i]` is accepted.
    pub fn verify_signatures(&self, items: &[SigCheck<'_>], rule: VerifyRule) -> Result<Vec<bool>> {
        Ok(self
            .pool
            .install(|| verify::cpu::verify_signatures(items, rule)))
    }

    /// Applies one block to `state`. On any error the state is exactly as before.
    pub fn process_block(&self, state: &mut State, block: &Block) -> Result<BlockOutcome> {
        self.pool.install(|| self.process_block_inner(state, block))
    }

    fn process_block_inner(&self, state: &mut State, block: &Block) -> Result<BlockOutcome> {
        let t_start = Instant::now();
        let mut timings = StageTimings::default();
        let lap = |t: &mut Instant| {
            let ns = t.elapsed().as_nanos() as u64;
            *t = Instant::now();
            ns
        };
        let mut t = Instant::now();

        // Decode.
        exec::reference::check_header(state, block)?;
        let decoded: Vec<Option<Tx>> = (0..block.tx_count())
            .into_par_iter()
            .with_min_len(512)
            .map(|i| Tx::decode(block.tx_bytes(i)))
            .collect();
        timings.decode_ns = lap(&mut t);

        // Hash.
        let tx_ids = hash::cpu::tx_ids(block);
        timings.hash_ns = lap(&mut t);

        // Verify.
        let (checks, check_of): (Vec<SigCheck<'_>>, Vec<usize>) = decoded
            .iter()
            .enumerate()
            .filter_map(|(i, tx)| {
                tx.as_ref().map(|tx| {
                    (
                        SigCheck {
                            public_key: tx.signer,
                            signature: tx.signature,
                            message: &block.tx_bytes(i)[64..],
                        },
                        i,
                    )
                })
            })
            .unzip();
        let verdicts = verify::cpu::verify_signatures(&checks, state.verify_rule());
        let mut sig_ok = vec![false; block.tx_count()];
        for (&i, ok) in check_of.iter().zip(verdicts) {
            sig_ok[i] = ok;
        }
        timings.verify_ns = lap(&mut t);

        // Resolve, with an undo log of everything the block may touch.
        let resolved = resolve::resolve(state, block, &decoded, &sig_ok);
        let (touched_accounts, touched_pools) = touched(&resolved);
        let undo = state.undo_log(resolved.accounts_before, &touched_accounts, &touched_pools);
        timings.resolve_ns = lap(&mut t);

        // Schedule.
        let sched = schedule::Schedule::build(&resolved, state.account_count());
        timings.schedule_ns = lap(&mut t);

        // Execute.
        let results = exec::waves::execute_waves(state, &resolved, &sched);
        timings.execute_ns = lap(&mut t);

        // Commit.
        let receipts: Vec<Receipt> = tx_ids
            .iter()
            .zip(&results)
            .map(|(&tx_id, &(status, amount_out))| Receipt {
                tx_id,
                status,
                amount_out,
            })
            .collect();
        let tx_root = merkle_root(&tx_ids);
        let leaves: Vec<[u8; 32]> = receipts
            .par_iter()
            .with_min_len(512)
            .map(Receipt::leaf)
            .collect();
        let receipts_root = merkle_root(&leaves);
        let state_root = state.state_root();
        if let Some(claimed) = block.claimed_root() {
            if claimed != state_root {
                state.rollback(undo);
                return Err(Error::StateRootMismatch {
                    height: block.height,
                    claimed: hex::encode(claimed),
                    computed: hex::encode(state_root),
                });
            }
        }
        let block_hash = block.block_hash(&tx_root);
        state.set_tip(block.height, block_hash);
        timings.commit_ns = lap(&mut t);
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
            timings,
            devices: StageDevices {
                hash: Device::Cpu,
                verify: Device::Cpu,
                execute: Device::Cpu,
                commit: Device::Cpu,
            },
            fallbacks: Vec::new(),
            schedule: sched,
        })
    }
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
