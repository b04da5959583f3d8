//! `txwave run`: stream block logs through the engine onto a state and report what
//! happened; checkpoints, `--resume`, Ctrl-C and partial results.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use txwave::internal::engine::{StageGpuTimings, StageTimings};
use txwave::internal::stream::DEFAULT_QUEUE_DEPTH;
use txwave::{Block, Engine, EngineConfig, LogReader, Status, StreamOptions};

use super::summary::{Pipeline, Summary, add_block, per_s, print_summary};
use super::{
    BackendArg, CliResult, EXIT_REJECTED, Failure, checkpoint, load_state, tmp_path,
    write_atomically,
};

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Genesis JSON or state snapshot to start from.
    genesis_or_state: PathBuf,
    /// Block log files, applied in order.
    #[arg(required = true)]
    blocks: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Write every receipt, one JSON object per line, block order.
    #[arg(long, value_name = "FILE.jsonl")]
    receipts: Option<PathBuf>,
    /// Write the final state as a binary snapshot.
    #[arg(long, value_name = "FILE")]
    out_state: Option<PathBuf>,
    /// Where the parallel stages run.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Worker threads for CPU stages (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// GPU adapter to use: a substring of its name (see `txwave devices`).
    #[arg(long)]
    adapter: Option<String>,
    /// Calibration file for `--backend auto` (written by `txwave calibrate`): its
    /// break-even sizes decide what runs on the GPU. Default: $TXWAVE_CALIBRATION, else
    /// $XDG_CONFIG_HOME/txwave/calibration.json (~/.config/…) when it exists.
    #[arg(long, value_name = "FILE", conflicts_with = "no_calibration")]
    calibration: Option<PathBuf>,
    /// Use no calibration file: the fixed thresholds.
    #[arg(long)]
    no_calibration: bool,
    #[command(flatten)]
    gpu: super::GpuArgs,
    /// Blocks ready ahead of each pipeline stage (memory: at most 2 × N + 3 blocks in
    /// flight).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE_DEPTH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1024))]
    queue_depth: usize,
    /// Signer keys the engine keeps decompressed between blocks (0: none). A full cache
    /// takes about 220 bytes a key; it is filled from the state's keys at start (see
    /// `--no-warm-keys`), then keeps the signers met most, up to this bound.
    #[arg(long, value_name = "N", default_value_t = txwave::internal::verify::cache::DEFAULT_KEY_CACHE_ENTRIES)]
    key_cache: usize,
    /// Leave the key cache empty at start (by default it is filled from the state's
    /// account keys, up to `--key-cache`, before the first block).
    #[arg(long)]
    no_warm_keys: bool,
    /// Write a checkpoint (a state snapshot) after every N accepted blocks.
    #[arg(long, value_name = "N", requires = "checkpoint_dir",
          value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Directory of the checkpoints (`checkpoint-<height>.state`).
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Checkpoints kept in the directory (the newest ones).
    #[arg(long, value_name = "K", default_value_t = 2,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    keep_checkpoints: usize,
    /// Start from the newest valid checkpoint in --checkpoint-dir (GENESIS_OR_STATE when
    /// there is none) and skip the log's blocks up to its height; the block at that
    /// height must hash to the checkpoint's last block hash.
    #[arg(long, requires = "checkpoint_dir")]
    resume: bool,
    /// When a block fails or the run is interrupted, still write --out-state (the state
    /// after the last accepted block) and --receipts (those of the accepted blocks).
    #[arg(long)]
    keep_partial: bool,
    #[command(flatten)]
    limits: super::LimitArgs,
    /// Test hook: panic at STAGE:HEIGHT (read, prepare, apply), to check that a panic
    /// becomes a failure with exit code 3.
    #[arg(long, hide = true, value_name = "STAGE:HEIGHT", value_parser = super::parse_panic_point)]
    inject_panic: Vec<(txwave::internal::engine::PanicPoint, u64)>,
    /// Index of the logs (`txwave index`): start reading at the block after the start
    /// state's height (a snapshot's, or --resume's checkpoint's) instead of reading up to
    /// it; the index's block at that height must hash to the state's last block hash.
    #[arg(long, value_name = "IDX")]
    index: Option<PathBuf>,
}

#[derive(Serialize)]
struct ReceiptLine<'a> {
    block: u64,
    index: usize,
    tx_id: &'a str,
    status: &'static str,
    /// The kind's amount fields: `amount_out`; `amount_in`, `amount_out`; or
    /// `amount_a`, `amount_b`, `liquidity`.
    #[serde(flatten)]
    amounts: txwave::Amounts,
}

/// Set by the SIGINT handler; checked after every block.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C sets [`INTERRUPTED`] (the run stops after the current block); a second one
/// ends the process at once.
fn catch_ctrl_c() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe;
    // SA_RESETHAND restores the default disposition after the first signal, so a second
    // Ctrl-C ends the process as usual.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

pub fn run(args: RunArgs) -> CliResult {
    let wall = Instant::now();
    // Open every log first: a missing file is a usage error before any work.
    let mut files = Vec::new();
    let mut total_bytes = 0u64;
    for p in &args.blocks {
        let f = std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        total_bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
        files.push((p.clone(), f));
    }
    let mut resumed_from = None;
    let mut state = if args.resume {
        let dir = args
            .checkpoint_dir
            .as_deref()
            .unwrap_or(std::path::Path::new("."));
        let (found, passed_over) = checkpoint::newest(dir)?;
        for line in passed_over {
            eprintln!("txwave: passing over checkpoint {line}");
        }
        match found {
            Some((path, state)) => {
                eprintln!(
                    "txwave: resuming from {} (height {})",
                    path.display(),
                    state.height()
                );
                resumed_from = Some(path.display().to_string());
                state
            }
            None => {
                eprintln!(
                    "txwave: no checkpoint in {}; starting from {}",
                    dir.display(),
                    args.genesis_or_state.display()
                );
                load_state(&args.genesis_or_state)?
            }
        }
    } else {
        load_state(&args.genesis_or_state)?
    };
    let engine = Engine::new(super::env::engine_config(EngineConfig {
        backend: args.backend.into(),
        threads: args.threads,
        adapter: args.adapter.clone(),
        gpu: args.gpu.tunables()?,
        placement: super::env::placement(args.calibration.as_deref(), args.no_calibration),
        key_cache_entries: args.key_cache,
        limits: args.limits.limits(),
        ..Default::default()
    }))
    .context("cannot start the engine")?;
    for &(point, height) in &args.inject_panic {
        engine.inject_panic(point, height);
    }
    let warm_started = std::time::Instant::now();
    let warmed = if args.no_warm_keys {
        0
    } else {
        engine.warm_key_cache(&state)
    };
    let warm_ns = warm_started.elapsed().as_nanos() as u64;

    let mut receipts_out = match &args.receipts {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(tmp_path(p))
                .with_context(|| format!("cannot create {}", tmp_path(p).display()))?,
        )),
        None => None,
    };
    catch_ctrl_c();
    let result = process_all(
        &args,
        &engine,
        &mut state,
        files,
        total_bytes,
        resumed_from,
        receipts_out.as_mut(),
    );
    let (mut summary, failure) = match result {
        Ok(v) => v,
        Err(f) => {
            drop(receipts_out);
            if let Some(p) = &args.receipts {
                let _ = std::fs::remove_file(tmp_path(p));
            }
            return Err(f);
        }
    };
    let keep_outputs = failure.is_none() || args.keep_partial;
    match (&args.receipts, receipts_out) {
        (Some(p), Some(mut w)) if keep_outputs => {
            w.flush()
                .with_context(|| format!("cannot write {}", tmp_path(p).display()))?;
            drop(w);
            std::fs::rename(tmp_path(p), p)
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        (Some(p), w) => {
            drop(w);
            let _ = std::fs::remove_file(tmp_path(p));
        }
        _ => {}
    }
    if let Some(p) = &args.out_state
        && keep_outputs
    {
        write_atomically(p, &state.to_snapshot())?;
    }
    summary.keys_warmed = warmed;
    summary.key_warm_ns = warm_ns;
    summary.wall_ns = wall.elapsed().as_nanos() as u64;
    summary.wall_tx_per_s = per_s(summary.txs, summary.wall_ns);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).context("cannot encode summary")?
        );
    } else {
        print_summary(&summary);
    }
    match failure {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

/// Blocks read from each log file so far, shared with the stream's read thread (for
/// naming the file and block of an error, and for progress).
#[derive(Default)]
struct Position {
    /// Blocks yielded per file (files not reached yet: absent).
    per_file: Vec<usize>,
    /// Encoded sizes of the blocks read but not yet counted by the progress bar.
    sizes: std::collections::VecDeque<u64>,
}

/// The log files as one block iterator, recording where it is in `pos`.
struct Logs {
    files: std::vec::IntoIter<std::fs::File>,
    limits: txwave::DecodeLimits,
    current: Option<LogReader<std::fs::File>>,
    pos: Arc<Mutex<Position>>,
    /// Where the first file is read from (`--index`): byte offset and block index.
    start: Option<(u64, usize)>,
}

impl Iterator for Logs {
    type Item = txwave::Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = &mut self.current {
                if let Some(item) = r.next() {
                    if let Ok(block) = &item
                        && let Ok(mut p) = self.pos.lock()
                    {
                        if let Some(n) = p.per_file.last_mut() {
                            *n += 1;
                        }
                        p.sizes.push_back(block.encoded_len());
                    }
                    return Some(item);
                }
                self.current = None;
            }
            let mut f = self.files.next()?;
            let (offset, first) = self.start.take().unwrap_or((0, 0));
            if let Ok(mut p) = self.pos.lock() {
                p.per_file.push(first);
            }
            if offset > 0
                && let Err(e) = std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))
            {
                return Some(Err(txwave::Error::Io { offset, source: e }));
            }
            self.current = Some(match LogReader::with_limits(f, self.limits) {
                Ok(r) => r.at_block(offset, first),
                Err(e) => return Some(Err(e)),
            });
        }
    }
}

/// Blocks read on a thread of their own, handed over through a queue, so that Ctrl-C
/// ends the run even while a read waits for input (a pipe, stdin): the iterator ends when
/// the run is interrupted, and the thread, still waiting, goes with the process.
struct Detached {
    rx: std::sync::mpsc::Receiver<txwave::Result<Block>>,
}

impl Detached {
    /// The thread holds at most one block: it hands each over when the stream's own read
    /// stage asks (that stage and its queue do the reading ahead).
    fn spawn(mut logs: Logs) -> Detached {
        let (tx, rx) = std::sync::mpsc::sync_channel(0);
        std::thread::spawn(move || {
            loop {
                // A panic while reading must end the run as a failure, not as the end of
                // the logs (the channel closing would look like one).
                let item = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| logs.next()))
                    .unwrap_or_else(|p| {
                        Some(Err(txwave::Error::from_panic("log read", p.as_ref())))
                    });
                let Some(item) = item else { break };
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    break;
                }
            }
        });
        Detached { rx }
    }
}

impl Iterator for Detached {
    type Item = txwave::Result<Block>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::sync::mpsc::RecvTimeoutError;
        loop {
            match self.rx.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(item) => return Some(item),
                Err(RecvTimeoutError::Timeout) if INTERRUPTED.load(Ordering::SeqCst) => {
                    return None;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// The file and in-file index of the `global`-th block read (0-based).
fn locate(paths: &[PathBuf], pos: &Position, global: usize) -> Option<(String, usize)> {
    let mut left = global;
    for (i, &n) in pos.per_file.iter().enumerate() {
        if left < n {
            return Some((paths[i].display().to_string(), left));
        }
        left -= n;
    }
    None
}

/// A progress bar over the log bytes on stderr, drawn only when stderr is a terminal:
/// blocks, txs, tx/s and the ETA from the bytes left.
fn progress(total_bytes: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total_bytes);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {msg} (ETA {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}

fn block_hash(block: &Block) -> [u8; 32] {
    let ids = txwave::internal::hash::cpu::tx_ids(block);
    block.block_hash(&txwave::internal::merkle::merkle_root(&ids))
}

/// Runs the stream. `Err`: nothing ran (the run writes nothing). `Ok((summary, Some))`:
/// the run stopped early (a failed block, Ctrl-C, a checkpoint that could not be written)
/// after the blocks the summary reports.
#[allow(clippy::too_many_arguments)]
impl Summary {
    /// Writes a checkpoint of `state` into `dir` and records it.
    fn write_checkpoint(
        &mut self,
        dir: &std::path::Path,
        state: &txwave::State,
        keep: usize,
    ) -> Result<(), Failure> {
        let p = checkpoint::write(dir, state, keep)
            .map_err(|e| Failure::from(e.context("cannot write a checkpoint")))?;
        self.checkpoints_written += 1;
        self.last_checkpoint = Some(p.display().to_string());
        Ok(())
    }

    /// Fills in what the stream and the final state say, once the stream has ended.
    fn finish(&mut self, stream: &txwave::StreamSummary, state: &txwave::State) {
        self.pipeline = Pipeline {
            queue_depth: stream.queue_depth,
            read: stream.read,
            prepare: stream.prepare,
            apply: stream.apply,
            output_ns: stream.on_block_ns,
            stream_wall_ns: stream.wall_ns,
            bound_by: stream.bottleneck(),
        };
        self.average_parallelism = if self.waves == 0 {
            0.0
        } else {
            self.executed as f64 / self.waves as f64
        };
        self.pipeline_tx_per_s = per_s(self.txs, stream.wall_ns);
        self.height = state.height();
        self.accounts = state.account_count();
        self.state_root = match self.per_block.last() {
            Some(b) => b.state_root.clone(),
            None => hex::encode(state.state_root()),
        };
    }

    /// The summary of a run that has applied nothing yet.
    fn start(
        args: &RunArgs,
        engine: &Engine,
        state: &txwave::State,
        resumed_from: Option<String>,
    ) -> Summary {
        Summary {
            backend: engine.backend(),
            device: engine.device_name(),
            backend_note: engine.backend_note().map(str::to_string),
            auto_thresholds: matches!(args.backend, BackendArg::Auto)
                .then(|| engine.auto_thresholds().clone()),
            gpu_compile_ns: engine.verifier_compile_time().as_nanos() as u64,
            threads: engine.threads(),
            devices: None,
            blocks: 0,
            txs: 0,
            statuses: Status::ALL.iter().map(|s| (s.name(), 0)).collect(),
            executed: 0,
            waves: 0,
            largest_wave: 0,
            average_parallelism: 0.0,
            accounts: 0,
            accounts_rehashed: 0,
            key_cache: Default::default(),
            keys_warmed: 0,
            key_warm_ns: 0,
            timings_ns: StageTimings::default(),
            gpu_timings_ns: StageGpuTimings::default(),
            pipeline_tx_per_s: 0.0,
            wall_tx_per_s: 0.0,
            wall_ns: 0,
            height: state.height(),
            state_root: String::new(),
            fallbacks: Vec::new(),
            complete: false,
            stopped: None,
            resumed_from,
            skipped_blocks: 0,
            checkpoints_written: 0,
            last_checkpoint: None,
            pipeline: Pipeline::default(),
            per_block: Vec::new(),
        }
    }
}

/// `--resume`: reads past the blocks the checkpoint (`state`) already holds; the one at
/// its height must be the block the checkpoint's state ended with. Returns the first
/// block after it (if any), and the blocks and bytes skipped.
fn skip_to_checkpoint(
    logs: &mut Logs,
    pos: &Arc<Mutex<Position>>,
    paths: &[PathBuf],
    state: &txwave::State,
) -> Result<(Option<txwave::Block>, usize, u64), Failure> {
    let h = state.height();
    let (mut blocks, mut bytes) = (0usize, 0u64);
    for item in logs.by_ref() {
        let block = item.map_err(|e| {
            let p = pos.lock().map(|p| p.per_file.len()).unwrap_or(1);
            Failure::from(
                anyhow::Error::new(e).context(paths[p.saturating_sub(1)].display().to_string()),
            )
        })?;
        if block.height > h {
            return Ok((Some(block), blocks, bytes));
        }
        blocks += 1;
        bytes += pos
            .lock()
            .ok()
            .and_then(|mut p| p.sizes.pop_front())
            .unwrap_or(0);
        if block.height == h {
            let got = block_hash(&block);
            if got != state.last_block_hash() {
                return Err(Failure {
                    code: EXIT_REJECTED,
                    err: anyhow::anyhow!(
                        "--resume: the log's block at height {h} hashes to {}, but the checkpoint's last block hash is {}: the checkpoint does not come from this log",
                        hex::encode(got),
                        hex::encode(state.last_block_hash())
                    ),
                });
            }
        }
    }
    Ok((None, blocks, bytes))
}

/// Appends a block's receipts to the receipts file, one JSON object per line.
fn write_receipts(w: &mut impl Write, outcome: &txwave::BlockOutcome) -> anyhow::Result<()> {
    for (index, r) in outcome.receipts.iter().enumerate() {
        let line = ReceiptLine {
            block: outcome.height,
            index,
            tx_id: &hex::encode(r.tx_id),
            status: r.status.name(),
            amounts: r.amounts,
        };
        serde_json::to_writer(&mut *w, &line)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn process_all(
    args: &RunArgs,
    engine: &Engine,
    state: &mut txwave::State,
    files: Vec<(PathBuf, std::fs::File)>,
    total_bytes: u64,
    resumed_from: Option<String>,
    mut receipts: Option<&mut std::io::BufWriter<std::fs::File>>,
) -> Result<(Summary, Option<Failure>), Failure> {
    let (paths, mut files): (Vec<PathBuf>, Vec<std::fs::File>) = files.into_iter().unzip();
    let pos = Arc::new(Mutex::new(Position::default()));
    // --index: the blocks the start state holds are skipped by seeking past them.
    let mut start = None;
    let mut index_skipped = (0usize, 0u64);
    if let Some(idx_path) = &args.index {
        let idx = super::history::load_index(idx_path, &paths)?;
        let seek = super::history::seek_after(&idx, state)?;
        if let Ok(mut p) = pos.lock() {
            p.per_file = seek.blocks_per_skipped_file;
        }
        files.drain(..seek.file.min(files.len()));
        start = Some((seek.offset, seek.block_index));
        index_skipped = (seek.blocks_before, seek.bytes_before);
    }
    let mut logs = Logs {
        files: files.into_iter(),
        limits: args.limits.limits(),
        current: None,
        pos: pos.clone(),
        start,
    };
    let mut s = Summary::start(args, engine, state, resumed_from);

    s.skipped_blocks = index_skipped.0;
    let mut skipped_bytes = index_skipped.1;
    let first = if args.index.is_none() && args.resume && state.height() > 0 {
        let (first, blocks, bytes) = skip_to_checkpoint(&mut logs, &pos, &paths, state)?;
        s.skipped_blocks += blocks;
        skipped_bytes += bytes;
        first
    } else {
        None
    };
    let skipped = s.skipped_blocks;

    let bar = progress(total_bytes);
    bar.set_position(skipped_bytes);
    let started = Instant::now();
    let mut since_checkpoint = 0u64;
    let mut side_failure: Option<Failure> = None;
    let mut interrupted = false;
    let blocks = first.map(Ok).into_iter().chain(Detached::spawn(logs));
    let (stream, stream_error) = engine.process_stream_with(
        state,
        blocks,
        &StreamOptions {
            queue_depth: args.queue_depth,
        },
        |outcome, state| {
            if let Some(w) = receipts.as_deref_mut()
                && let Err(e) = write_receipts(w, outcome)
            {
                side_failure = Some(Failure::from(e.context("cannot write receipts")));
                return ControlFlow::Break(());
            }
            add_block(&mut s, outcome);
            since_checkpoint += 1;
            let stop = INTERRUPTED.load(Ordering::SeqCst);
            if let (Some(every), Some(dir)) = (args.checkpoint_every, &args.checkpoint_dir)
                && (since_checkpoint >= every || stop)
            {
                if let Err(f) = s.write_checkpoint(dir, state, args.keep_checkpoints) {
                    side_failure = Some(f);
                    return ControlFlow::Break(());
                }
                since_checkpoint = 0;
            }
            let size = pos
                .lock()
                .ok()
                .and_then(|mut p| p.sizes.pop_front())
                .unwrap_or(0);
            bar.inc(size);
            let secs = started.elapsed().as_secs_f64();
            bar.set_message(format!(
                "{} blocks, {} txs, {:.0} tx/s",
                s.blocks,
                s.txs,
                if secs > 0.0 { s.txs as f64 / secs } else { 0.0 }
            ));
            if stop {
                interrupted = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        },
    );
    bar.finish_and_clear();
    // Interrupted while waiting for input: the stream ended without a block to stop after.
    if !interrupted
        && stream_error.is_none()
        && side_failure.is_none()
        && INTERRUPTED.load(Ordering::SeqCst)
    {
        interrupted = true;
        if let Some(dir) = &args.checkpoint_dir
            && args.checkpoint_every.is_some()
            && since_checkpoint > 0
            && let Err(f) = s.write_checkpoint(dir, state, args.keep_checkpoints)
        {
            side_failure = Some(f);
        }
    }

    s.finish(&stream, state);
    let failure = if let Some(e) = stream_error {
        let pos = pos
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let context = match &e {
            // Decode and read errors name the block within its file already.
            txwave::Error::BlockDecode { .. }
            | txwave::Error::BlockTooLarge { .. }
            | txwave::Error::Io { .. } => paths
                .get(pos.per_file.len().saturating_sub(1))
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            _ => match locate(&paths, &pos, skipped + s.blocks) {
                Some((file, i)) => format!("{file}: block {i}"),
                None => String::from("block"),
            },
        };
        s.stopped = Some(format!("{context}: {e}"));
        Some(Failure::from(anyhow::Error::new(e).context(context)))
    } else if let Some(f) = side_failure {
        s.stopped = Some(format!("{:#}", f.err));
        Some(f)
    } else if interrupted {
        let what = match &s.last_checkpoint {
            Some(p) if args.checkpoint_every.is_some() => {
                format!("interrupted at height {}; checkpoint {p}", s.height)
            }
            _ => format!("interrupted at height {}", s.height),
        };
        s.stopped = Some(what.clone());
        Some(Failure {
            code: EXIT_INTERRUPTED,
            err: anyhow::anyhow!(what),
        })
    } else {
        s.complete = true;
        None
    };
    Ok((s, failure))
}
