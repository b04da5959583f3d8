//! What the engine reports about a block: which device ran each stage, how long each
//! stage took (wall time, and upload, dispatch and readback on the GPU), and the outcome
//! of an accepted block.

use crate::gpu::GpuTimings;
use crate::receipt::Receipt;
use crate::schedule;

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
    /// Key cache hits and misses of the block's CPU signature checks (zero on the GPU).
    pub key_cache: crate::verify::cache::CacheStats,
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
