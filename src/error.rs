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
    /// Reading input (a block log stream) failed.
    #[error("read error at byte {offset}: {what}")]
    Io {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The error the operating system reported.
        what: String,
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
    /// A GPU call failed: the work exceeds a device limit, the device ran out of memory,
    /// rejected a call, was lost, or a readback failed. Never a wrong answer: the caller
    /// (or `Auto`) can redo the work on the CPU. [`GpuErrorKind`] says which.
    #[error("GPU error during {stage}: {what}")]
    Gpu {
        /// Pipeline stage or operation that failed.
        stage: &'static str,
        /// What kind of failure, for callers that match on it.
        kind: GpuErrorKind,
        /// The error the GPU runtime reported, or what did not fit.
        what: String,
    },
    /// A bounded queue is full and the caller asked not to wait.
    #[error("busy: {0}")]
    Busy(String),
    /// A service was shut down and takes no more work.
    #[error("closed: {0}")]
    Closed(String),
    /// A block index (docs/FORMATS.md, Block index) could not be decoded or does not
    /// describe a chained log.
    #[error("block index at byte {offset}: {what}")]
    Index {
        /// Byte offset of the problem in the index file.
        offset: usize,
        /// What was wrong.
        what: String,
    },
}

/// The kinds of [`Error::Gpu`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GpuErrorKind {
    /// The work does not fit a limit of the adapter (binding or buffer size, dispatch
    /// size, a driver's loop limit): it never will on this device, the CPU can do it.
    LimitExceeded,
    /// The device could not allocate memory.
    OutOfMemory,
    /// wgpu rejected a call (validation error, shader or pipeline creation failure).
    Validation,
    /// The device was lost; every later call on it fails.
    DeviceLost,
    /// Mapping or reading results back failed, or they came back inconsistent.
    Readback,
    /// Opening the device failed.
    DeviceRequest,
    /// A fault injected by a test (`GpuContext::inject_fault` and the like).
    Injected,
    /// A buffer that should exist did not (a bug, reported rather than panicking).
    Internal,
}

impl Error {
    /// An [`Error::Gpu`].
    pub fn gpu(stage: &'static str, kind: GpuErrorKind, what: impl Into<String>) -> Error {
        Error::Gpu {
            stage,
            kind,
            what: what.into(),
        }
    }

    /// The kind of a GPU error, `None` for every other error.
    pub fn gpu_kind(&self) -> Option<GpuErrorKind> {
        match self {
            Error::Gpu { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
