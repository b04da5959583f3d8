//! txwave: a batch processor for DeFi transactions (token transfers, constant-product
//! AMM swaps, liquidity with LP shares and routes of up to four pools) that gives the
//! same bytes as executing each block one tx at a time.
//!
//! ```text
//! decode ─► hash (tx ids) ─► verify signatures ─► resolve accounts ─► schedule waves ─► execute waves ─► commit roots
//!  tx         hash              verify               resolve            schedule          exec             commit
//! ```
//!
//! | step | module | what it owns |
//! |---|---|---|
//! | decode | `tx` | transaction and block-log formats ([`Block::decode`], [`Tx::decode`]) |
//! | hash | `hash` | tx ids and batch BLAKE3 |
//! | verify | `verify` | Ed25519 under [`VerifyRule::Strict`] or [`VerifyRule::Zip215`] |
//! | resolve | `resolve` | public keys → account indices (on the GPU too), account creation in block order |
//! | schedule | `schedule` | conflict-graph colouring into ASAP waves |
//! | execute | `exec` | the sequential reference (the oracle) and the parallel executors |
//! | commit | `commit` | BLAKE3 Merkle roots; account leaves kept between blocks, only touched ones rehashed |
//!
//! The public API is what this page lists. [`Engine`] runs blocks ([`Engine::process_block`],
//! [`Engine::process_stream`] over a [`LogReader`]), checks signatures and hashes batches
//! for a validator ([`Engine::verify_signatures`], [`Engine::hash_many`]);
//! [`VerifyService`] coalesces signature checks from many threads and answers each
//! submission through a [`VerifyHandle`] that also is a `Future`; [`State`] is the
//! structure-of-arrays ledger (genesis JSON, snapshots, roots); [`Block`] and [`Tx`] are the
//! binary formats; [`Receipt`] and [`Amounts`] what each tx did; [`Error`] every failure,
//! matchable. [`waves`] is the wave scheduler for any transaction type: a caller's access
//! lists in, ASAP waves out ([`WaveSchedule`]), and a runner on rayon.
//!
//! The library reads no environment variable and no file it is not handed: the adapter,
//! the calibration file and the pipeline-cache directory are [`EngineConfig`] fields.
//! The modules behind it (the GPU runtime, the CPU twins of every kernel, the stages) are
//! `txwave::internal`, hidden from these docs and not part of the API: the command line,
//! the tests and the benches use them, and they change without notice. Start with
//! [`Engine`].
#![warn(missing_docs)]

/// The crate's modules, for the command line, the tests and the benches. Not part of
/// the public API (see the crate docs): everything a caller needs is re-exported at the
/// crate root.
#[doc(hidden)]
#[path = "."]
pub mod internal {
    pub mod calibration;
    pub mod chain;
    pub mod commit;
    pub mod engine;
    pub mod error;
    pub mod exec;
    pub mod gpu;
    pub mod hash;
    pub mod index;
    pub mod merkle;
    pub mod reader;
    pub mod receipt;
    pub mod resolve;
    pub mod schedule;
    pub mod service;
    pub mod split;
    pub mod state;
    pub mod stream;
    pub mod tx;
    pub mod verify;
    #[cfg(feature = "gen")]
    pub mod workload;
    pub use crate::waves;
}

pub mod waves;

// Crate-internal paths (`crate::gpu::…`) name the modules above.
#[cfg(feature = "gen")]
#[allow(unused_imports)] // Only the crate's own tests use it.
use internal::workload;
use internal::{
    calibration, chain, commit, engine, error, exec, gpu, hash, merkle, reader, receipt, resolve,
    schedule, service, split, state, stream, tx, verify,
};

pub use calibration::AutoThresholds;
pub use engine::{
    Backend, BlockOutcome, Device, Engine, EngineConfig, Placement, StageDevices, StageGpuTimings,
    StageTimings,
};
pub use error::{Error, GpuErrorKind, Result};
pub use gpu::GpuTimings;
pub use gpu::tunables::GpuTunables;
pub use reader::LogReader;
pub use receipt::{Amounts, Receipt, Status};
pub use schedule::Schedule;
pub use service::{
    OwnedSigCheck, ServiceOptions, ServiceStats, SharedBytes, VerifyHandle, VerifyService,
};
pub use state::{AccountJson, GenesisJson, Pool, PoolJson, State};
pub use stream::{StageStats, StreamOptions, StreamSummary};
pub use tx::{
    Action, AddLiquidity, Block, DecodeLimits, Direction, RemoveLiquidity, Route, RouteMode, Swap,
    Transfer, Tx,
};
pub use verify::cache::CacheStats;
pub use verify::{SigCheck, VerifyRule};
pub use waves::{Access, AccessLists, Mode, RunOptions, WaveSchedule};
