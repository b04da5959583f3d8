//! txwave: a batch processor for DeFi transactions (token transfers and constant-product
//! AMM swaps) that gives the same bytes as executing each block one tx at a time.
//!
//! ```text
//! decode ─► hash (tx ids) ─► verify signatures ─► resolve accounts ─► schedule waves ─► execute waves ─► commit roots
//!  tx         hash              verify               resolve            schedule          exec             commit
//! ```
//!
//! | step | module | what it owns |
//! |---|---|---|
//! | decode | [`tx`] | transaction and block-log formats ([`Block::decode`], [`Tx::decode`]) |
//! | hash | [`hash`] | tx ids and batch BLAKE3 |
//! | verify | [`verify`] | Ed25519 under [`VerifyRule::Strict`] or [`VerifyRule::Zip215`] |
//! | resolve | [`resolve`] | public keys → account indices (on the GPU too), account creation in block order |
//! | schedule | [`schedule`] | conflict-graph colouring into ASAP waves |
//! | execute | [`exec`] | the sequential reference (the oracle) and the parallel executors |
//! | commit | [`commit`] | BLAKE3 Merkle roots; account leaves kept between blocks, only touched ones rehashed |
//!
//! [`reader`] streams block logs one block at a time ([`LogReader`]), [`index`] records
//! where each block of a log lies and what it hashes to ([`index::BlockIndex`]), and
//! [`stream`] runs many blocks with the state-free stages of later blocks overlapped with
//! the state stages of earlier ones ([`Engine::process_stream`]).
//!
//! [`state`] holds the structure-of-arrays ledger, [`receipt`] the receipts every
//! executor produces, [`merkle`] the tree shape of every root, [`engine`] runs the stages on a
//! backend and rolls a failed block back, [`gpu`] is the wgpu runtime and [`workload`]
//! generates seeded test blocks. [`waves`] is the scheduler for any transaction type: a
//! caller's access lists in, ASAP waves out ([`WaveSchedule`]), and a runner on rayon. [`service`] is the coalescing verify service for
//! validators ([`VerifyService`]), [`split`] the CPU/GPU rate model it and `Auto` split
//! batches by, and [`calibration`] the measured rates and break-even sizes `Auto` reads.
//! Start with [`Engine`].
#![warn(missing_docs)]

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
pub mod waves;
#[cfg(feature = "gen")]
pub mod workload;

pub use engine::{Backend, BlockOutcome, Engine, EngineConfig, Placement};
pub use error::{Error, GpuErrorKind, Result};
pub use reader::LogReader;
pub use receipt::{Amounts, Receipt, Status};
pub use service::{
    OwnedSigCheck, ServiceOptions, ServiceStats, SharedBytes, VerifyHandle, VerifyService,
};
pub use state::State;
pub use stream::{StageStats, StreamOptions, StreamSummary};
pub use tx::{Block, DecodeLimits, Tx};
pub use verify::{SigCheck, VerifyRule};
pub use waves::{Access, AccessLists, Mode, RunOptions, WaveSchedule};
