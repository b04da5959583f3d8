//! Errors returned by every stage of the pipeline; the library never panics on input.

use thiserror::Error;

/// Everything that can go wrong in txwave, with enough context to find the cause.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A block log could not be decoded.
    #[error("block {block} at byte {offset}: {what}")]
    BlockDecode {
        /// Index of the block in the log (0-based).
        block: usize,
        /// Byte offset in the log where the problem was found.
        offset: usize,
        /// What was wrong.
        what: String,
    },
    /// A block decoded but was rejected against the current state.
    #[error("block at height {height} rejected: {what}")]
    BlockRejected {
        /// Height the block claims.
        height: u64,
        /// What was wrong (field, expected vs found).
        what: String,
    },
    /// The computed state root differs from the one the block claims.
    #[error(
        "block at height {height}: state root mismatch: block claims {claimed}, computed {computed}"
    )]
    StateRootMismatch {
        /// Height of the block.
        height: u64,
        /// Claimed root (hex).
        claimed: String,
        /// Computed root (hex).
        computed: String,
    },
    /// The genesis JSON is invalid.
    #[error("genesis: {0}")]
    Genesis(String),
    /// A state snapshot could not be decoded.
    #[error("state snapshot at byte {offset}: {what}")]
    Snapshot {
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        what: String,
    },
    /// A caller passed an argument outside what the function accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No GPU adapter could be found or opened.
    #[error("no usable GPU adapter: {0}")]
    NoAdapter(String),
    /// The GPU reported an error (validation, out of memory, device loss, map failure).
    #[error("GPU error during {stage}: {what}")]
    Gpu {
        /// Pipeline stage or operation that failed.
        stage: &'static str,
        /// The error the GPU runtime reported.
        what: String,
    },
    /// A bounded queue is full and the caller asked not to wait (issue 14).
    #[error("busy: {0}")]
    Busy(String),
    /// A service was shut down and takes no more work (issue 14).
    #[error("closed: {0}")]
    Closed(String),
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
