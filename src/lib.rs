//! txwave: a batch transaction processor (crate page is completed with the pipeline).
#![warn(missing_docs)]

pub mod commit;
pub mod error;
pub mod gpu;
pub mod hash;
pub mod verify;

pub use error::{Error, Result};
pub use verify::{SigCheck, VerifyRule};
