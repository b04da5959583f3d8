//! `txwave index`, `replay`, `audit` and `plan`: a long history checked in ranges that
//! are independent of each other (docs/SPEC.md, Verifying a history in ranges). Thin:
//! the index format is `txwave::internal::index`, blocks are applied by the engine.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use txwave::internal::index::{BlockIndex, block_hash_of};
use txwave::internal::stream::DEFAULT_QUEUE_DEPTH;
use txwave::{Block, Engine, EngineConfig, LogReader, State, StreamOptions, Tx, VerifyRule};

use super::{
    BackendArg, CliResult, EXIT_REJECTED, EXIT_USAGE, Failure, load_state, write_atomically,
};

#[derive(clap::Args)]
pub struct IndexArgs {
    /// Block log files, in order.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// The index file to write.
    #[arg(long, value_name = "IDX")]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: super::LimitArgs,
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Genesis JSON or state snapshot the range starts from.
    #[arg(long, value_name = "SNAPSHOT_OR_GENESIS")]
    from: PathBuf,
    /// State snapshot the range must end on (state root, height, last block hash).
    #[arg(long, value_name = "SNAPSHOT")]
    to: PathBuf,
    /// Block log files, in order (all of the history's, or those holding the range).
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// Index of the logs (`txwave index`): seek to the range instead of reading up to it,
    /// and check every block against it.
    #[arg(long, value_name = "IDX")]
    index: Option<PathBuf>,
    /// Print the verdict as JSON (on failure too).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Block log files, in order.
    #[arg(required = true)]
    logs: Vec<PathBuf>,
    /// First height of the range.
    #[arg(long, value_name = "A")]
    from_height: u64,
    /// Last height of the range (inclusive).
    #[arg(long, value_name = "B")]
    to_height: u64,
    /// Index of the logs: seek to the range and check its edges against it.
    #[arg(long, value_name = "IDX")]
    index: Option<PathBuf>,
    /// The chain's signature rule.
    #[arg(long, value_enum)]
    rule: super::generate::RuleArg,
    /// Count transactions whose signature fails without failing the audit (a chain may
    /// hold them: they get the receipt `bad_signature`).
    #[arg(long)]
    tolerate_bad_signatures: bool,
    /// Print the verdict as JSON (on failure too).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Index of the history's logs (`txwave index`).
    #[arg(long, value_name = "IDX")]
    index: PathBuf,
    /// Directory of snapshots named `checkpoint-<height>.state` (`txwave run
    /// --checkpoint-dir`).
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// A snapshot file (repeatable), besides or instead of --snapshots.
    #[arg(long, value_name = "FILE")]
    snapshot: Vec<PathBuf>,
    /// Genesis JSON (or snapshot) the history starts from: the first range starts there.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
}

/// Engine options of `replay` and `audit`.
#[derive(clap::Args)]
struct EngineArgs {
    /// Where the parallel stages run.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Worker threads for CPU stages (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    limits: super::LimitArgs,
}

impl EngineArgs {
    fn engine(&self) -> anyhow::Result<Engine> {
        Engine::new(super::env::engine_config(EngineConfig {
            backend: self.backend.into(),
            threads: self.threads,
            placement: txwave::Placement {
                calibration: super::env::calibration(None, false),
                ..Default::default()
            },
            limits: self.limits.limits(),
            ..Default::default()
        }))
        .context("cannot start the engine")
    }
}

/// A failure with its exit code, from a message.
fn fail(code: i32, msg: String) -> Failure {
    Failure::with_code(code, anyhow::anyhow!(msg))
}

// ---------------------------------------------------------------------------------------
// Logs read from a block onwards

/// Where a block lies in the logs.
#[derive(Clone, Debug, Serialize)]
struct Place {
    file: String,
    /// Index of the block within its file (0-based).
    block_index: usize,
    /// Byte offset of the block in its file.
    offset: u64,
}

/// Where reading starts: a file, a byte offset in it and the index of the block there.
#[derive(Clone, Copy, Default)]
struct Start {
    file: usize,
    offset: u64,
    block_index: usize,
}

/// The logs as one sequence of blocks with their places, from a [`Start`].
struct Blocks {
    paths: Vec<PathBuf>,
    limits: txwave::DecodeLimits,
    next_file: usize,
    start: Start,
    reader: Option<(usize, LogReader<File>)>,
    done: bool,
}

impl Blocks {
    fn new(paths: &[PathBuf], start: Start, limits: txwave::DecodeLimits) -> Blocks {
        Blocks {
            paths: paths.to_vec(),
            limits,
            next_file: start.file,
            start,
            reader: None,
            done: false,
        }
    }

    fn path(&self, file: usize) -> String {
        self.paths[file].display().to_string()
    }

    /// The next block and its place, or the error that ends the logs (with the file it
    /// happened in).
    fn next_placed(&mut self) -> Option<Result<(Place, Block), (String, txwave::Error)>> {
        if self.done {
            return None;
        }
        loop {
            if let Some((file, r)) = &mut self.reader {
                let (offset, block_index) = (r.offset(), r.blocks_read());
                match r.next() {
                    Some(Ok(block)) => {
                        let place = Place {
                            file: self.paths[*file].display().to_string(),
                            block_index,
                            offset,
                        };
                        return Some(Ok((place, block)));
                    }
                    Some(Err(e)) => {
                        self.done = true;
                        return Some(Err((self.paths[*file].display().to_string(), e)));
                    }
                    None => self.reader = None,
                }
            }
            let file = self.next_file;
            if file >= self.paths.len() {
                self.done = true;
                return None;
            }
            self.next_file += 1;
            let (offset, index) = if file == self.start.file {
                (self.start.offset, self.start.block_index)
            } else {
                (0, 0)
            };
            let opened = File::open(&self.paths[file]).and_then(|mut f| {
                f.seek(SeekFrom::Start(offset))?;
                Ok(f)
            });
            let limits = self.limits;
            let opened = opened
                .map_err(|e| txwave::Error::Io { offset, source: e })
                .and_then(|f| LogReader::with_limits(f, limits));
            match opened {
                Ok(r) => self.reader = Some((file, r.at_block(offset, index))),
                Err(e) => {
                    self.done = true;
                    return Some(Err((self.path(file), e)));
                }
            }
        }
    }
}

/// Reads and validates an index, and checks that it describes `logs`: as many files, of
/// the lengths it records.
pub fn load_index(path: &Path, logs: &[PathBuf]) -> Result<BlockIndex, Failure> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let index = BlockIndex::decode(&bytes)
        .with_context(|| format!("{}: not a valid block index", path.display()))?;
    if index.files.len() != logs.len() {
        return Err(fail(
            EXIT_USAGE,
            format!(
                "{}: the index describes {} log files, {} were given: it is an index of other logs",
                path.display(),
                index.files.len(),
                logs.len()
            ),
        ));
    }
    for (f, log) in index.files.iter().zip(logs) {
        let len = std::fs::metadata(log)
            .with_context(|| format!("cannot read {}", log.display()))?
            .len();
        if len != f.len {
            return Err(fail(
                EXIT_USAGE,
                format!(
                    "{}: the index records {} ({} bytes), but {} has {len} bytes: it is an index of another log",
                    path.display(),
                    f.path,
                    f.len,
                    log.display()
                ),
            ));
        }
    }
    Ok(index)
}

/// Where `txwave run --index` starts reading after a state: the first block after its
/// height, and what is skipped to get there.
pub struct SeekAfter {
    /// File of the first block to read (the file count when there is none).
    pub file: usize,
    /// Its byte offset in that file.
    pub offset: u64,
    /// Its index within that file.
    pub block_index: usize,
    /// Blocks of each file before `file` (all of them are skipped).
    pub blocks_per_skipped_file: Vec<usize>,
    /// Blocks skipped in all.
    pub blocks_before: usize,
    /// Bytes skipped in all.
    pub bytes_before: u64,
}

/// Where the block after `state`'s height lies; the index's block at the state's height
/// must hash to the state's last block hash.
pub fn seek_after(index: &BlockIndex, state: &State) -> Result<SeekAfter, Failure> {
    let h = state.height();
    if let Some(e) = index.entry(h)
        && e.block_hash != state.last_block_hash()
    {
        return Err(fail(
            EXIT_REJECTED,
            format!(
                "--index: the log's block at height {h} hashes to {}, but the start state's last block hash is {}: the state does not come from this log",
                hex32(&e.block_hash),
                hex32(&state.last_block_hash())
            ),
        ));
    }
    if h.checked_add(1) < Some(index.first_height()) {
        return Err(fail(
            EXIT_REJECTED,
            format!(
                "--index: the logs start at height {}, after the start state's height {h} + 1",
                index.first_height()
            ),
        ));
    }
    let pos = if h < index.first_height() {
        0
    } else {
        index.position(h).map_or(index.entries.len(), |p| p + 1)
    };
    let (file, offset, block_index) = match index.entries.get(pos) {
        Some(e) => (e.file as usize, e.offset, index.block_in_file(pos)),
        None => (index.files.len(), 0, 0),
    };
    let mut blocks_per_skipped_file = vec![0usize; file];
    for e in &index.entries[..pos] {
        if let Some(n) = blocks_per_skipped_file.get_mut(e.file as usize) {
            *n += 1;
        }
    }
    Ok(SeekAfter {
        file,
        offset,
        block_index,
        blocks_per_skipped_file,
        blocks_before: pos,
        bytes_before: index.entries[..pos].iter().map(|e| e.len).sum(),
    })
}

/// Where the block at `height` starts, by the index.
fn start_of(index: &BlockIndex, height: u64) -> Option<Start> {
    let pos = index.position(height)?;
    let e = &index.entries[pos];
    Some(Start {
        file: e.file as usize,
        offset: e.offset,
        block_index: index.block_in_file(pos),
    })
}

fn hex32(h: &[u8; 32]) -> String {
    hex::encode(h)
}

fn per_s(n: u64, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        n as f64 * 1e9 / ns as f64
    }
}

// ---------------------------------------------------------------------------------------
// index

#[derive(Serialize)]
struct IndexSummary {
    out: String,
    files: usize,
    blocks: usize,
    txs: u64,
    bytes: u64,
    first_height: u64,
    last_height: u64,
    wall_ns: u64,
    blocks_per_s: f64,
    tx_per_s: f64,
    mib_per_s: f64,
}

pub fn index(args: IndexArgs) -> CliResult {
    let wall = Instant::now();
    let mut files = Vec::new();
    for p in &args.logs {
        let f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        files.push((p.display().to_string(), f));
    }
    // The library error stays inside the context, so it keeps its exit code.
    let index =
        BlockIndex::build_with_limits(files, args.limits.limits()).map_err(|(file, e)| {
            let path = args.logs[file].display();
            let context = match e {
                txwave::Error::WrongHeight { .. } | txwave::Error::WrongParent { .. } => {
                    format!("{path}: the logs do not chain")
                }
                _ => path.to_string(),
            };
            Failure::from(anyhow::Error::new(e).context(context))
        })?;
    write_atomically(&args.out, &index.encode())?;
    let wall_ns = wall.elapsed().as_nanos() as u64;
    let txs: u64 = index.entries.iter().map(|e| e.tx_count as u64).sum();
    let bytes: u64 = index.files.iter().map(|f| f.len).sum();
    let s = IndexSummary {
        out: args.out.display().to_string(),
        files: index.files.len(),
        blocks: index.entries.len(),
        txs,
        bytes,
        first_height: index.first_height(),
        last_height: index.last_height(),
        wall_ns,
        blocks_per_s: per_s(index.entries.len() as u64, wall_ns),
        tx_per_s: per_s(txs, wall_ns),
        mib_per_s: per_s(bytes, wall_ns) / (1u64 << 20) as f64,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "indexed {} blocks (heights {}..={}, {} txs, {} bytes in {} files) in {:.3} s: {:.0} tx/s, {:.1} MiB/s → {}",
            s.blocks,
            s.first_height,
            s.last_height,
            s.txs,
            s.bytes,
            s.files,
            wall_ns as f64 / 1e9,
            s.tx_per_s,
            s.mib_per_s,
            s.out
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Verdicts of replay and audit

/// The first block that failed, and why.
#[derive(Serialize, Clone, Debug)]
struct BlockFailure {
    /// Height of the block (`None`: it did not decode far enough to have one).
    height: Option<u64>,
    #[serde(flatten)]
    place: Option<Place>,
    /// Index of the failing transaction in the block, when one tx is to blame.
    tx_index: Option<usize>,
    reason: String,
}

#[derive(Serialize, Default)]
struct Verdict {
    command: &'static str,
    ok: bool,
    /// Height of the start state (replay) or the first height of the range (audit).
    from_height: Option<u64>,
    /// Height of the target snapshot (replay) or the last height of the range (audit).
    to_height: Option<u64>,
    /// Blocks checked or applied.
    blocks: u64,
    /// Transactions in those blocks.
    txs: u64,
    wall_ns: u64,
    tx_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_state_root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    computed_state_root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_last_block_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    computed_last_block_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    computed_height: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signatures_checked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_signatures: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    malformed_txs: Option<u64>,
    /// The first failing block (`None` when the failure is not a block's).
    failed_block: Option<BlockFailure>,
    /// Why the range failed (`None` when it passed).
    error: Option<String>,
    exit_code: i32,
}

/// Prints the verdict (JSON or one line) and turns it into the command's result.
fn finish(mut v: Verdict, wall: Instant, json: bool, result: Result<(), Failure>) -> CliResult {
    v.wall_ns = wall.elapsed().as_nanos() as u64;
    v.tx_per_s = per_s(v.txs, v.wall_ns);
    match &result {
        Ok(()) => {
            v.ok = true;
            v.exit_code = 0;
        }
        Err(f) => {
            v.ok = false;
            v.exit_code = f.code();
            v.error = Some(format!("{:#}", f.error()));
        }
    }
    let range = format!(
        "{}..={}",
        v.from_height.map_or("?".into(), |h| h.to_string()),
        v.to_height.map_or("?".into(), |h| h.to_string())
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if v.ok {
        println!(
            "{} ok: heights {range}, {} blocks, {} txs in {:.3} s ({:.0} tx/s)",
            v.command,
            v.blocks,
            v.txs,
            v.wall_ns as f64 / 1e9,
            v.tx_per_s
        );
    } else {
        println!("{} FAILED: heights {range}", v.command);
    }
    result
}

// ---------------------------------------------------------------------------------------
// replay

pub fn replay(args: ReplayArgs) -> CliResult {
    let wall = Instant::now();
    let mut v = Verdict {
        command: "replay",
        ..Default::default()
    };
    let result = replay_range(&args, &mut v);
    finish(v, wall, args.json, result)
}

/// A snapshot whose last block hash is not the log's block at its height (`at`).
fn not_of_this_chain(
    snapshot: &dyn std::fmt::Display,
    snapshot_hash: &[u8; 32],
    log_hash: &[u8; 32],
    at: &str,
) -> Failure {
    fail(
        EXIT_REJECTED,
        format!(
            "{snapshot}: its last block hash {} is not the hash {} of the log's block at {at}: the snapshot is not of this chain",
            hex32(snapshot_hash),
            hex32(log_hash)
        ),
    )
}

/// With an index: checks the start and target states against the index's block hashes at
/// their heights, and finds where the range's first block lies.
fn index_start(
    args: &ReplayArgs,
    idx: &BlockIndex,
    state: &txwave::State,
    target: &txwave::State,
) -> Result<Start, Failure> {
    let (from_h, to_h) = (state.height(), target.height());
    let mut start = Start::default();
    if from_h >= idx.first_height() {
        let Some(e) = idx.entry(from_h) else {
            return Err(fail(
                EXIT_REJECTED,
                format!(
                    "the start state is at height {from_h}, but the index ends at height {}",
                    idx.last_height()
                ),
            ));
        };
        if e.block_hash != state.last_block_hash() {
            return Err(not_of_this_chain(
                &args.from.display(),
                &state.last_block_hash(),
                &e.block_hash,
                &format!("height {from_h}"),
            ));
        }
    }
    if to_h > from_h {
        match idx.entry(to_h) {
            Some(e) if e.block_hash != target.last_block_hash() => {
                return Err(not_of_this_chain(
                    &args.to.display(),
                    &target.last_block_hash(),
                    &e.block_hash,
                    &format!("height {to_h}"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(fail(
                    EXIT_REJECTED,
                    format!(
                        "the target is at height {to_h}, but the index holds heights {}..={}",
                        idx.first_height(),
                        idx.last_height()
                    ),
                ));
            }
        }
        match start_of(idx, from_h + 1) {
            Some(s) => start = s,
            None => {
                return Err(fail(
                    EXIT_REJECTED,
                    format!(
                        "the index holds heights {}..={}, not the range's first height {}",
                        idx.first_height(),
                        idx.last_height(),
                        from_h + 1
                    ),
                ));
            }
        }
    }
    Ok(start)
}

/// Without an index: reads up to the start state's height, checking that heights follow
/// and that the block at that height is the one the start state ended with; returns the
/// first block after it.
fn skip_to_start(
    args: &ReplayArgs,
    blocks: &mut Blocks,
    v: &mut Verdict,
    state: &txwave::State,
) -> Result<Option<(Place, Block)>, Failure> {
    let from_h = state.height();
    let mut prev: Option<u64> = None;
    while let Some(item) = blocks.next_placed() {
        let (place, block) = item.map_err(|(file, e)| read_failure(v, file, e))?;
        if let Some(p) = prev
            && block.height != p + 1
            && block.height <= from_h + 1
        {
            return Err(gap_failure(v, &place, p, block.height));
        }
        prev = Some(block.height);
        if block.height > from_h {
            return Ok(Some((place, block)));
        }
        if block.height == from_h {
            let got = block_hash_of(&block);
            if got != state.last_block_hash() {
                return Err(not_of_this_chain(
                    &args.from.display(),
                    &state.last_block_hash(),
                    &got,
                    &format!(
                        "height {from_h} ({}, block {})",
                        place.file, place.block_index
                    ),
                ));
            }
        }
    }
    Ok(None)
}

fn replay_range(args: &ReplayArgs, v: &mut Verdict) -> Result<(), Failure> {
    let mut state = load_state(&args.from)?;
    let target = load_state(&args.to)?;
    let (from_h, to_h) = (state.height(), target.height());
    v.from_height = Some(from_h);
    v.to_height = Some(to_h);
    v.expected_state_root = Some(hex32(&target.state_root()));
    v.expected_last_block_hash = Some(hex32(&target.last_block_hash()));
    if to_h < from_h {
        return Err(fail(
            EXIT_USAGE,
            format!(
                "--to {} is at height {to_h}, below the start's height {from_h}",
                args.to.display()
            ),
        ));
    }
    if state.verify_rule() != target.verify_rule() || state.tokens() != target.tokens() {
        return Err(fail(
            EXIT_REJECTED,
            format!(
                "{} ({} rule, {} tokens) and {} ({} rule, {} tokens) are not states of one chain",
                args.from.display(),
                state.verify_rule().name(),
                state.tokens(),
                args.to.display(),
                target.verify_rule().name(),
                target.tokens()
            ),
        ));
    }
    let index = match &args.index {
        Some(p) => Some(load_index(p, &args.logs)?),
        None => None,
    };

    // Where to start reading, and the index's word on both ends.
    let start = match &index {
        Some(idx) => index_start(args, idx, &state, &target)?,
        None => Start::default(),
    };

    let mut blocks = Blocks::new(&args.logs, start, args.engine.limits.limits());
    // Without an index: read up to the start, checking heights follow and that the block
    // at the start's height is the one the start state ended with.
    let first = if index.is_none() {
        skip_to_start(args, &mut blocks, v, &state)?
    } else {
        None
    };
    if to_h == from_h {
        return compare_end(&state, &target, v);
    }

    let engine = args.engine.engine()?;
    engine.warm_key_cache(&state);
    // The blocks handed to the engine and where each lies; the read runs ahead of the
    // blocks accepted, so a failure is found by the count accepted.
    let places: Arc<Mutex<Vec<Place>>> = Arc::default();
    let read_error: Arc<Mutex<Option<String>>> = Arc::default();
    let feed = {
        let places = places.clone();
        let read_error = read_error.clone();
        let mut first = first;
        let mut finished = false;
        std::iter::from_fn(move || {
            if finished {
                return None;
            }
            let item = match first.take() {
                Some(x) => Some(Ok(x)),
                None => blocks.next_placed(),
            };
            match item? {
                Ok((place, block)) => {
                    finished = block.height >= to_h;
                    if let Ok(mut p) = places.lock() {
                        p.push(place);
                    }
                    Some(Ok(block))
                }
                Err((file, e)) => {
                    finished = true;
                    if let Ok(mut r) = read_error.lock() {
                        *r = Some(file);
                    }
                    Some(Err(e))
                }
            }
        })
    };
    let mut side: Option<(u64, String)> = None;
    let (_, stream_error) = engine.process_stream_with(
        &mut state,
        feed,
        &StreamOptions {
            queue_depth: DEFAULT_QUEUE_DEPTH,
        },
        |outcome, _| {
            v.blocks += 1;
            v.txs += outcome.receipts.len() as u64;
            if let Some(e) = index.as_ref().and_then(|i| i.entry(outcome.height))
                && e.block_hash != outcome.block_hash
            {
                side = Some((
                    outcome.height,
                    format!(
                        "the block hashes to {}, but the index says {}: the index is not of this log",
                        hex32(&outcome.block_hash),
                        hex32(&e.block_hash)
                    ),
                ));
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        },
    );
    let places = places.lock().map(|p| p.clone()).unwrap_or_default();
    if let Some(e) = stream_error {
        let file = read_error.lock().ok().and_then(|r| r.clone());
        let height = match &e {
            txwave::Error::WrongHeight { found: height, .. }
            | txwave::Error::WrongParent { height, .. }
            | txwave::Error::StateRootMismatch { height, .. } => Some(*height),
            _ => None,
        };
        let place = if file.is_some() {
            None
        } else {
            places.get(v.blocks as usize).cloned()
        };
        let context = match (&file, &place) {
            (Some(f), _) => f.clone(),
            (None, Some(p)) => format!("{}: block {} at byte {}", p.file, p.block_index, p.offset),
            (None, None) => "block".into(),
        };
        v.failed_block = Some(BlockFailure {
            height,
            place,
            tx_index: None,
            reason: e.to_string(),
        });
        v.computed_height = Some(state.height());
        v.computed_state_root = Some(hex32(&state.state_root()));
        return Err(Failure::from(anyhow::Error::new(e).context(context)));
    }
    if let Some((height, reason)) = side {
        let place = places.get(v.blocks as usize - 1).cloned();
        v.failed_block = Some(BlockFailure {
            height: Some(height),
            place,
            tx_index: None,
            reason: reason.clone(),
        });
        return Err(fail(
            EXIT_REJECTED,
            format!("block at height {height}: {reason}"),
        ));
    }
    if state.height() < to_h {
        v.computed_height = Some(state.height());
        return Err(fail(
            EXIT_REJECTED,
            format!(
                "the logs end at height {}, before the target's height {to_h}",
                state.height()
            ),
        ));
    }
    compare_end(&state, &target, v)
}

/// A gap in the logs at `place`: the block there follows height `prev`.
/// A block that could not be read or decoded: recorded in the verdict, and the failure.
fn read_failure(v: &mut Verdict, file: String, e: txwave::Error) -> Failure {
    v.failed_block = Some(BlockFailure {
        height: None,
        place: None,
        tx_index: None,
        reason: format!("{file}: {e}"),
    });
    Failure::from(anyhow::Error::new(e).context(file))
}

fn gap_failure(v: &mut Verdict, place: &Place, prev: u64, got: u64) -> Failure {
    let reason = format!(
        "block at height {got} follows the block at height {prev}: the log has a gap or is out of order"
    );
    v.failed_block = Some(BlockFailure {
        height: Some(got),
        place: Some(place.clone()),
        tx_index: None,
        reason: reason.clone(),
    });
    fail(
        EXIT_REJECTED,
        format!(
            "{}: block {} at byte {}: {reason}",
            place.file, place.block_index, place.offset
        ),
    )
}

/// The range ends well only on the target: height, state root and last block hash.
fn compare_end(state: &State, target: &State, v: &mut Verdict) -> Result<(), Failure> {
    let root = state.state_root();
    v.computed_height = Some(state.height());
    v.computed_state_root = Some(hex32(&root));
    v.computed_last_block_hash = Some(hex32(&state.last_block_hash()));
    let mut wrong = Vec::new();
    if state.height() != target.height() {
        wrong.push(format!(
            "height {} (target {})",
            state.height(),
            target.height()
        ));
    }
    if root != target.state_root() {
        wrong.push(format!(
            "state root {} (target {})",
            hex32(&root),
            hex32(&target.state_root())
        ));
    }
    if state.last_block_hash() != target.last_block_hash() {
        wrong.push(format!(
            "last block hash {} (target {})",
            hex32(&state.last_block_hash()),
            hex32(&target.last_block_hash())
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(fail(
            EXIT_REJECTED,
            format!(
                "the replayed range does not end on the target snapshot: {}",
                wrong.join(", ")
            ),
        ))
    }
}

// ---------------------------------------------------------------------------------------
// audit

pub fn audit(args: AuditArgs) -> CliResult {
    let wall = Instant::now();
    let mut v = Verdict {
        command: "audit",
        from_height: Some(args.from_height),
        to_height: Some(args.to_height),
        signatures_checked: Some(0),
        bad_signatures: Some(0),
        malformed_txs: Some(0),
        ..Default::default()
    };
    let result = audit_range(&args, &mut v);
    finish(v, wall, args.json, result)
}

/// Where an audit of heights `from_h..=to_h` starts reading, by the index, and the hash the
/// range's first block must name as its parent when the index knows it.
fn audit_start(
    idx: &BlockIndex,
    from_h: u64,
    to_h: u64,
) -> Result<(Start, Option<[u8; 32]>), Failure> {
    let not_in = |h: u64| {
        fail(
            EXIT_REJECTED,
            format!(
                "height {h} is not in the index (heights {}..={})",
                idx.first_height(),
                idx.last_height()
            ),
        )
    };
    let start = start_of(idx, from_h).ok_or_else(|| not_in(from_h))?;
    if idx.entry(to_h).is_none() {
        return Err(not_in(to_h));
    }
    let parent_edge = from_h
        .checked_sub(1)
        .and_then(|h| idx.entry(h))
        .map(|e| e.block_hash);
    Ok((start, parent_edge))
}

/// Checks every signature of `block` under `rule`, adds the counts to `v`, and names the
/// block's first tx whose signature is invalid, if any.
fn audit_signatures(
    engine: &Engine,
    rule: VerifyRule,
    block: &Block,
    place: &Place,
    v: &mut Verdict,
) -> Result<Option<BlockFailure>, Failure> {
    let decoded: Vec<Option<Tx>> = block.txs().map(Tx::decode).collect();
    let (checks, check_of) = txwave::internal::verify::block_checks(block, &decoded);
    let verdicts = engine
        .verify_signatures(&checks, rule)
        .context("signature verification failed to run")?;
    let ok = txwave::internal::verify::verdicts_per_tx(verdicts, &check_of, block.tx_count());
    let malformed = decoded.iter().filter(|t| t.is_none()).count() as u64;
    let bad: Vec<usize> = check_of.iter().copied().filter(|&i| !ok[i]).collect();
    *v.signatures_checked.get_or_insert(0) += checks.len() as u64;
    *v.malformed_txs.get_or_insert(0) += malformed;
    *v.bad_signatures.get_or_insert(0) += bad.len() as u64;
    Ok(bad.first().map(|&i| BlockFailure {
        height: Some(block.height),
        place: Some(place.clone()),
        tx_index: Some(i),
        reason: format!(
            "tx {i} (id {}): signature invalid under the {} rule",
            hex32(&blake3::hash(block.tx_bytes(i)).into()),
            rule.name()
        ),
    }))
}

fn audit_range(args: &AuditArgs, v: &mut Verdict) -> Result<(), Failure> {
    let (from_h, to_h) = (args.from_height, args.to_height);
    if from_h == 0 || to_h < from_h {
        return Err(fail(
            EXIT_USAGE,
            format!("--from-height {from_h} --to-height {to_h}: need 1 ≤ A ≤ B"),
        ));
    }
    let rule: VerifyRule = args.rule.into();
    let index = match &args.index {
        Some(p) => Some(load_index(p, &args.logs)?),
        None => None,
    };
    let (start, parent_edge) = match &index {
        Some(idx) => audit_start(idx, from_h, to_h)?,
        None => (Start::default(), None),
    };
    let engine = args.engine.engine()?;
    let mut blocks = Blocks::new(&args.logs, start, args.engine.limits.limits());
    let mut prev: Option<(u64, [u8; 32])> = None;
    let mut last_height = None;
    while let Some(item) = blocks.next_placed() {
        let (place, block) = item.map_err(|(file, e)| read_failure(v, file, e))?;
        if block.height < from_h {
            // Reading up to the range (no index): heights must still follow.
            if let Some((p, _)) = prev
                && block.height != p + 1
            {
                return Err(gap_failure(v, &place, p, block.height));
            }
            // The block just before the range ties its first parent hash.
            let hash = if block.height + 1 == from_h {
                block_hash_of(&block)
            } else {
                [0; 32]
            };
            prev = Some((block.height, hash));
            continue;
        }
        if block.height > to_h {
            break;
        }
        let block_fail = |v: &mut Verdict, reason: String| {
            v.failed_block = Some(BlockFailure {
                height: Some(block.height),
                place: Some(place.clone()),
                tx_index: None,
                reason: reason.clone(),
            });
            fail(
                EXIT_REJECTED,
                format!(
                    "{}: block {} at byte {}: height {}: {reason}",
                    place.file, place.block_index, place.offset, block.height
                ),
            )
        };
        let expected_height = prev.map_or(from_h, |(p, _)| p + 1);
        if block.height != expected_height {
            return Err(block_fail(
                v,
                format!("expected height {expected_height}: the log has a gap or is out of order"),
            ));
        }
        let parent = match prev {
            Some((h, hash)) if h + 1 >= from_h => Some(hash),
            _ => parent_edge,
        };
        if let Some(want) = parent
            && block.parent_hash != want
        {
            return Err(block_fail(
                v,
                format!(
                    "parent hash {} is not the hash {} of the block before it",
                    hex32(&block.parent_hash),
                    hex32(&want)
                ),
            ));
        }
        // With --tolerate-bad-signatures they are only counted.
        if let Some(f) = audit_signatures(&engine, rule, &block, &place, v)?
            && !args.tolerate_bad_signatures
        {
            v.blocks += 1;
            v.txs += block.tx_count() as u64;
            let message = format!(
                "{}: block {} at byte {}: height {}: {}",
                place.file, place.block_index, place.offset, block.height, f.reason
            );
            v.failed_block = Some(f);
            return Err(fail(EXIT_REJECTED, message));
        }
        // After the signatures: a tampered tx is named as such, not only as a block
        // whose hash changed.
        let hash = block_hash_of(&block);
        if let Some(e) = index.as_ref().and_then(|i| i.entry(block.height))
            && e.block_hash != hash
        {
            return Err(block_fail(
                v,
                format!(
                    "the block hashes to {}, but the index says {}: the index is not of this log",
                    hex32(&hash),
                    hex32(&e.block_hash)
                ),
            ));
        }
        v.blocks += 1;
        v.txs += block.tx_count() as u64;
        prev = Some((block.height, hash));
        last_height = Some(block.height);
        if block.height == to_h {
            break;
        }
    }
    if last_height != Some(to_h) {
        return Err(fail(
            EXIT_REJECTED,
            match last_height {
                Some(h) => format!("the logs end at height {h}, before the range's end {to_h}"),
                None => format!("the logs hold no block of heights {from_h}..={to_h}"),
            },
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// plan

#[derive(Serialize)]
struct PlannedRange {
    from: String,
    from_height: u64,
    to: String,
    to_height: u64,
    blocks: u64,
    txs: u64,
}

#[derive(Serialize)]
struct Plan {
    index: String,
    logs: Vec<String>,
    first_height: u64,
    last_height: u64,
    ranges: Vec<PlannedRange>,
    /// Heights after the last snapshot: no snapshot ends them, only `audit` checks them.
    unverified_tail: Option<(u64, u64)>,
}

pub fn plan(args: PlanArgs) -> CliResult {
    let bytes = std::fs::read(&args.index)
        .with_context(|| format!("cannot read {}", args.index.display()))?;
    let index = BlockIndex::decode(&bytes)
        .with_context(|| format!("{}: not a valid block index", args.index.display()))?;
    let mut files = args.snapshot.clone();
    if let Some(dir) = &args.snapshots {
        let listed = super::checkpoint::list(dir)?;
        if listed.is_empty() {
            return Err(fail(
                EXIT_USAGE,
                format!("{}: no checkpoint-<height>.state file", dir.display()),
            ));
        }
        files.extend(listed.into_iter().map(|(_, p)| p));
    }
    // Every point a range starts or ends at, by height.
    let mut points: BTreeMap<u64, (String, [u8; 32])> = BTreeMap::new();
    let mut add = |path: &Path, state: &State| -> Result<(), Failure> {
        let h = state.height();
        if let Some((other, _)) = points.get(&h) {
            return Err(fail(
                EXIT_USAGE,
                format!("{} and {other} are both at height {h}", path.display()),
            ));
        }
        points.insert(h, (path.display().to_string(), state.last_block_hash()));
        Ok(())
    };
    if let Some(g) = &args.genesis {
        add(g, &load_state(g)?)?;
    }
    for f in &files {
        add(f, &load_state(f)?)?;
    }
    if points.len() < 2 {
        return Err(fail(
            EXIT_USAGE,
            "a plan needs at least two states (a genesis or snapshots) to make a range".into(),
        ));
    }
    for (h, (path, hash)) in &points {
        // A start just before the first indexed block (a genesis) names no block.
        if *h + 1 == index.first_height() {
            continue;
        }
        match index.entry(*h) {
            None => {
                return Err(fail(
                    EXIT_REJECTED,
                    format!(
                        "{path} is at height {h}, outside the index's heights {}..={}",
                        index.first_height(),
                        index.last_height()
                    ),
                ));
            }
            Some(e) if e.block_hash != *hash => {
                return Err(not_of_this_chain(
                    &path,
                    hash,
                    &e.block_hash,
                    &format!("height {h}"),
                ));
            }
            Some(_) => {}
        }
    }
    let pts: Vec<_> = points.into_iter().collect();
    let ranges = pts
        .windows(2)
        .map(|w| PlannedRange {
            from: w[0].1.0.clone(),
            from_height: w[0].0,
            to: w[1].1.0.clone(),
            to_height: w[1].0,
            blocks: w[1].0 - w[0].0,
            txs: index.txs_between(w[0].0 + 1, w[1].0),
        })
        .collect::<Vec<_>>();
    let last_point = pts.last().map_or(0, |p| p.0);
    let plan = Plan {
        index: args.index.display().to_string(),
        logs: index.files.iter().map(|f| f.path.clone()).collect(),
        first_height: index.first_height(),
        last_height: index.last_height(),
        ranges,
        unverified_tail: (last_point < index.last_height())
            .then(|| (last_point + 1, index.last_height())),
    };
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(())
}
