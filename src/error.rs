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
    /// A block (or a field inside it) declares a size or count above a bound of
    /// [`crate::DecodeLimits`]: refused before the bytes it declares are read.
    #[error(
        "block {block} at byte {offset}: {field} declares {declared}, above the bound of {bound} ({setting})"
    )]
    BlockTooLarge {
        /// Index of the block in the log (0-based).
        block: usize,
        /// Byte offset in the log of the field that went over the bound.
        offset: u64,
        /// The field and what it declares ("tx_count", "block size").
        field: &'static str,
        /// The declared value (a block size: the bytes the block needs up to the field
        /// that went over, checksum included).
        declared: u64,
        /// The bound it went over.
        bound: u64,
        /// The setting that holds the bound (`--max-block-bytes`, `--max-block-txs`).
        setting: &'static str,
    },
    /// A block's height is not the state's height + 1.
    #[error("block at height {found} rejected: height field: expected {expected}, found {found}")]
    WrongHeight {
        /// The height the state needs next.
        expected: u64,
        /// The height the block claims.
        found: u64,
    },
    /// A block's parent hash is not the state's last block hash.
    #[error(
        "block at height {height} rejected: parent_hash field: expected {}, found {}",
        hex::encode(expected),
        hex::encode(found)
    )]
    WrongParent {
        /// Height of the block.
        height: u64,
        /// The state's last block hash.
        expected: [u8; 32],
        /// The parent hash the block claims.
        found: [u8; 32],
    },
    /// The computed state root differs from the one the block claims.
    #[error(
        "block at height {height}: state root mismatch: block claims {}, computed {}",
        hex::encode(claimed),
        hex::encode(computed)
    )]
    StateRootMismatch {
        /// Height of the block.
        height: u64,
        /// The root the block claims.
        claimed: [u8; 32],
        /// The root txwave computed.
        computed: [u8; 32],
    },
    /// Reading input (a block log stream) failed.
    #[error("read error at byte {offset}: {source}")]
    Io {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The error the operating system reported.
        #[source]
        source: std::io::Error,
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
    /// A bug inside txwave, not a fault of the input: a panic caught in a thread txwave
    /// owns (a stream stage, a service worker, the engine's rayon pool). The work it
    /// interrupted was abandoned as a failed block is (the state is the one before it).
    #[error("internal error in {stage} (a bug in txwave, please report it): {what}")]
    Internal {
        /// Where it happened ("stream read", "stream prepare", "stream apply",
        /// "verify service", ...).
        stage: &'static str,
        /// The panic message.
        what: String,
    },
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

impl Error {
    /// An [`Error::Internal`] naming `stage` from a caught panic's payload (its message
    /// when it is a string), for threads of a program built on txwave as for its own.
    pub fn from_panic(stage: &'static str, payload: &(dyn std::any::Any + Send)) -> Error {
        let what = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic with a payload that is not a message".to_string()
        };
        Error::Internal { stage, what }
    }
}

/// Runs `f`, turning a panic inside it (or inside rayon jobs it waits for, which rayon
/// hands back to the caller) into an [`Error::Internal`] naming `stage`.
pub(crate) fn catch_panic<T>(stage: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(Error::from_panic(stage, payload.as_ref())),
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
