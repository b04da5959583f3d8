//! txwave: a batch transaction processor (crate page is completed with the pipeline).
#![warn(missing_docs)]

pub mod commit;
pub mod engine;
pub mod error;
pub mod exec;
pub mod gpu;
pub mod hash;
pub mod resolve;
pub mod schedule;
pub mod state;
pub mod tx;
pub mod verify;
pub mod workload;

pub use engine::{Backend, BlockOutcome, Engine, EngineConfig};
pub use error::{Error, Result};
pub use exec::{Receipt, Status};
pub use state::State;
pub use tx::{Block, Tx};
pub use verify::{SigCheck, VerifyRule};
