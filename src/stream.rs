//! Streams of blocks through the engine with the blocks overlapped:
//! [`Engine::process_stream`].
//!
//! ```text
//! read (caller's iterator, e.g. LogReader) ─► queue ─► prepare (decode, tx ids, signatures) ─► queue ─► apply (header, resolve … commit), in block order
//!      its own thread                                   its own thread, the engine's pool                 the calling thread, the engine's pool
//! ```
//!
//! The prepare stage needs no state, so it works on blocks N+1, N+2, … while block N is
//! applied; on the GPU backend the device checks block N+1's signatures while the CPU
//! resolves and schedules block N. Both engine stages run inside the engine's one rayon
//! pool, so the CPU backend never runs more worker threads than the engine was built with
//! (the read thread does I/O and the block checksum). The queues are bounded
//! ([`StreamOptions::queue_depth`]): at most `depth` blocks read ahead (the one the read
//! thread holds and `depth − 1` queued), one being prepared, at most `depth` prepared
//! and waiting, one being applied; so at most `2 × depth + 2` blocks are in memory
//! whatever the length of the stream.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use crate::engine::{
    BlockOutcome, Engine, PanicPoint, PreparedBlock, StageGpuTimings, StageTimings,
};
use crate::error::{Error, Result, catch_panic};
use crate::state::State;
use crate::tx::Block;
use crate::verify::VerifyRule;

/// Default [`StreamOptions::queue_depth`]: two blocks ready before each stage, enough
/// to absorb one slow block without holding many in memory.
pub const DEFAULT_QUEUE_DEPTH: usize = 2;

/// Settings of [`Engine::process_stream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Blocks ready ahead of each engine stage (at least 1; default
    /// [`DEFAULT_QUEUE_DEPTH`]): read ahead of prepare (counting the one the read thread
    /// holds), and prepared ahead of apply. Larger smooths out uneven blocks, smaller
    /// saves memory.
    pub queue_depth: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            queue_depth: DEFAULT_QUEUE_DEPTH,
        }
    }
}

/// Where one pipeline stage spent its time, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageStats {
    /// Working on blocks.
    pub busy_ns: u64,
    /// Waiting for the stage before it to hand over a block (the read stage: zero, its
    /// waiting on the source is busy time).
    pub wait_input_ns: u64,
    /// Waiting for room in the queue to the stage after it (the apply stage: zero).
    pub wait_output_ns: u64,
}

/// What [`Engine::process_stream`] did.
#[derive(Debug, Default)]
pub struct StreamSummary {
    /// Blocks accepted and applied.
    pub blocks: usize,
    /// Txs in those blocks.
    pub txs: usize,
    /// Height of the state at the end.
    pub height: u64,
    /// State root after the last accepted block (`None` when none was).
    pub state_root: Option<[u8; 32]>,
    /// Per-block stage times of the accepted blocks, added up (they overlap in a stream:
    /// their sum exceeds the wall time when the pipeline overlaps).
    pub timings: StageTimings,
    /// GPU phase times of the accepted blocks, added up.
    pub gpu_timings: StageGpuTimings,
    /// The read stage: pulling blocks from the caller's iterator (I/O, decoding).
    pub read: StageStats,
    /// The prepare stage: decode, tx ids, signature checks.
    pub prepare: StageStats,
    /// The apply stage: header check, resolve, schedule, execute, commit.
    pub apply: StageStats,
    /// Time in the caller's `on_block` callback (part of the apply thread's time, not of
    /// `apply.busy_ns`).
    pub on_block_ns: u64,
    /// Queue depth used.
    pub queue_depth: usize,
    /// Wall time of the whole call.
    pub wall_ns: u64,
    /// The `on_block` callback asked to stop; the blocks after the one it saw were not
    /// applied.
    pub stopped_early: bool,
}

impl StreamSummary {
    /// The stage with the most busy time: "read", "prepare" or "apply" (what bounds the
    /// pipeline when its stages overlap).
    pub fn bottleneck(&self) -> &'static str {
        let stages = [
            ("read", self.read.busy_ns),
            ("prepare", self.prepare.busy_ns),
            ("apply", self.apply.busy_ns + self.on_block_ns),
        ];
        stages
            .iter()
            .max_by_key(|(_, ns)| *ns)
            .map_or("apply", |(name, _)| name)
    }
}

/// What the prepare stage hands the apply stage.
enum Prepared {
    Ready(Box<PreparedBlock<'static>>),
    /// The read stage failed (I/O, a damaged or truncated block).
    ReadFailed(Error),
    /// Preparing failed (a GPU error under `Backend::Gpu`); the header (an empty block
    /// with the same header fields) decides whether a header error comes first, as in
    /// `process_block`.
    PrepareFailed(Block, Error),
}

fn ns_since(t: Instant) -> u64 {
    t.elapsed().as_nanos() as u64
}

// The pipeline shares one engine between its threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Engine>();
};

impl Engine {
    /// Applies `blocks` to `state` in order, with the state-free stages of later blocks
    /// (decode, tx ids, signature checks) overlapped with the execution and commit of
    /// earlier ones (see the module docs). Results equal [`Engine::process_block`] called
    /// block by block: the same receipts, roots and final state. The first error (an
    /// item of `blocks` that is an error, or a block that is rejected) stops the stream;
    /// the state is then the one after the last accepted block, and nothing of the blocks
    /// after it has reached it.
    ///
    /// ```
    /// use txwave::{Action, Backend, Block, Engine, EngineConfig, LogReader, State};
    /// use txwave::{StreamOptions, Transfer, Tx};
    /// // One funded account (its key derived from the seed [1; 32]) sends to another.
    /// let alice = Tx::signed(&[1; 32], 0, 0, Action::Transfer(Transfer { to: [0; 32], token: 0, amount: 0 })).signer;
    /// let genesis = format!(r#"{{"verify_rule": "strict", "tokens": 1,
    ///     "accounts": [{{"pubkey": "{}", "nonce": 0, "balances": [100]}}], "pools": []}}"#,
    ///     alice.iter().map(|b| format!("{b:02x}")).collect::<String>());
    /// let mut state = State::from_genesis_json(&genesis)?;
    /// let mut log = Vec::new();
    /// let mut parent = [0; 32];
    /// let mut expected = state.clone();
    /// for (height, nonce) in [(1, 0), (2, 1), (3, 2)] {
    ///     let mut block = Block::new(height, parent, [9; 32], [0; 32]);
    ///     let pay = Transfer { to: [7; 32], token: 0, amount: 10 };
    ///     block.push_tx_bytes(&Tx::signed(&[1; 32], nonce, 1, Action::Transfer(pay)).encode())?;
    ///     let engine = Engine::new(EngineConfig { backend: Backend::Cpu, ..Default::default() })?;
    ///     parent = engine.process_block(&mut expected, &block)?.block_hash;
    ///     log.extend_from_slice(&block.encode());
    /// }
    /// let engine = Engine::new(EngineConfig { backend: Backend::Cpu, ..Default::default() })?;
    /// let summary = engine.process_stream(&mut state, LogReader::new(&log[..]), &StreamOptions::default())?;
    /// assert_eq!(summary.blocks, 3);
    /// assert_eq!(summary.state_root, Some(expected.state_root()));
    /// # Ok::<(), txwave::Error>(())
    /// ```
    pub fn process_stream<I>(
        &self,
        state: &mut State,
        blocks: I,
        options: &StreamOptions,
    ) -> Result<StreamSummary>
    where
        I: IntoIterator<Item = Result<Block>>,
        I::IntoIter: Send,
    {
        let (summary, error) =
            self.process_stream_with(state, blocks, options, |_, _| ControlFlow::Continue(()));
        match error {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    /// [`Engine::process_stream`] that hands every accepted block's outcome, with the
    /// state right after it, to `on_block` (in block order, on the calling thread) before
    /// the next block is applied, and returns the summary of the work done with the error
    /// that ended the stream, if one did (a block that failed to read, decode or apply;
    /// the state is then the one after the last accepted block).
    /// `on_block` returning `Break` stops the stream after that block
    /// ([`StreamSummary::stopped_early`]).
    pub fn process_stream_with<I, F>(
        &self,
        state: &mut State,
        blocks: I,
        options: &StreamOptions,
        mut on_block: F,
    ) -> (StreamSummary, Option<Error>)
    where
        I: IntoIterator<Item = Result<Block>>,
        I::IntoIter: Send,
        F: FnMut(&BlockOutcome, &State) -> ControlFlow<()>,
    {
        let wall = Instant::now();
        let mut summary = StreamSummary {
            queue_depth: options.queue_depth,
            height: state.height(),
            ..Default::default()
        };
        let mut error = None;
        if options.queue_depth == 0 {
            let e = Error::InvalidArgument("stream queue depth must be at least 1".into());
            return (summary, Some(e));
        }
        let depth = options.queue_depth;
        let rule = state.verify_rule();
        // Set when the apply stage is done: the stages before it stop early.
        let stop = AtomicBool::new(false);
        let iter = blocks.into_iter();

        std::thread::scope(|scope| {
            // The read thread's own block counts toward the read-ahead.
            let (raw_tx, raw_rx) = sync_channel::<Result<Block>>(depth - 1);
            let (prep_tx, prep_rx) = sync_channel::<Prepared>(depth);
            let stop = &stop;

            let reader = scope.spawn(move || self.read_stage(iter, raw_tx, stop));
            let preparer = scope.spawn(move || self.prepare_stage(raw_rx, prep_tx, stop, rule));

            // The apply stage, on the calling thread.
            loop {
                let t = Instant::now();
                let Ok(msg) = prep_rx.recv() else { break };
                summary.apply.wait_input_ns += ns_since(t);
                let prepared = match msg {
                    Prepared::Ready(p) => p,
                    Prepared::ReadFailed(e) => {
                        error = Some(e);
                        break;
                    }
                    Prepared::PrepareFailed(header, e) => {
                        error = Some(
                            header
                                .check_follows(state.height(), state.last_block_hash())
                                .err()
                                .unwrap_or(e),
                        );
                        break;
                    }
                };
                let t = Instant::now();
                // apply_prepared rolls the state back on a panic inside it; this catch is
                // for what is left (the pool handing the job over).
                let applied = catch_panic("stream apply", || {
                    self.in_pool(|| self.apply_prepared(state, *prepared))
                });
                summary.apply.busy_ns += ns_since(t);
                let outcome = match applied {
                    Ok(o) => o,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                };
                summary.blocks += 1;
                summary.txs += outcome.receipts.len();
                summary.state_root = Some(outcome.state_root);
                summary.timings.add(&outcome.timings);
                summary.gpu_timings.add(&outcome.gpu_timings);
                let t = Instant::now();
                let flow = on_block(&outcome, state);
                summary.on_block_ns += ns_since(t);
                if flow.is_break() {
                    summary.stopped_early = true;
                    break;
                }
            }
            // Unblock and stop the stages before: their sends fail once the queue is gone.
            stop.store(true, Ordering::Relaxed);
            drop(prep_rx);
            // The stages catch their panics; one that escaped (in their own bookkeeping)
            // still fails the stream rather than passing for its end.
            summary.prepare = preparer.join().unwrap_or_else(|p| {
                error.get_or_insert(Error::from_panic("stream prepare", p.as_ref()));
                StageStats::default()
            });
            summary.read = reader.join().unwrap_or_else(|p| {
                error.get_or_insert(Error::from_panic("stream read", p.as_ref()));
                StageStats::default()
            });
        });
        summary.height = state.height();
        summary.wall_ns = ns_since(wall);
        (summary, error)
    }

    /// The read stage: pulls blocks from `iter` into `out` until the input ends, an item
    /// is an error (sent on, then the stage stops) or `stop` is set.
    fn read_stage(
        &self,
        mut iter: impl Iterator<Item = Result<Block>>,
        out: SyncSender<Result<Block>>,
        stop: &AtomicBool,
    ) -> StageStats {
        let mut stats = StageStats::default();
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            // A panic in the caller's iterator (or here) ends the stream with an internal
            // error, never with what looks like the end of the input.
            let item = catch_panic("stream read", || {
                let item = iter.next();
                if let Some(Ok(block)) = &item {
                    self.fault_point(PanicPoint::Read, block.height);
                }
                Ok(item)
            })
            .unwrap_or_else(|e| Some(Err(e)));
            stats.busy_ns += ns_since(t);
            let Some(item) = item else { break };
            let failed = item.is_err();
            let t = Instant::now();
            if out.send(item).is_err() {
                break;
            }
            stats.wait_output_ns += ns_since(t);
            if failed {
                break;
            }
        }
        stats
    }

    /// The prepare stage: checks each block against the bounds and runs its state-free
    /// stages (decode, hash, verify), in block order; the first failure is sent on and
    /// ends the stage.
    fn prepare_stage(
        &self,
        input: Receiver<Result<Block>>,
        out: SyncSender<Prepared>,
        stop: &AtomicBool,
        rule: VerifyRule,
    ) -> StageStats {
        let mut stats = StageStats::default();
        let mut index = 0usize;
        loop {
            let t = Instant::now();
            let Ok(item) = input.recv() else { break };
            stats.wait_input_ns += ns_since(t);
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let t = Instant::now();
            let (msg, last) = match item {
                Err(e) => (Prepared::ReadFailed(e), true),
                Ok(block) => {
                    let header = Block::new(
                        block.height,
                        block.parent_hash,
                        block.fee_collector,
                        block.claimed_state_root,
                    );
                    let prepared = self
                        .config()
                        .limits
                        .check_block(&block, index)
                        .and_then(|()| {
                            catch_panic("stream prepare", || {
                                self.in_pool(|| self.prepare_block(Cow::Owned(block), rule))
                            })
                        });
                    index += 1;
                    match prepared {
                        Ok(p) => (Prepared::Ready(Box::new(p)), false),
                        Err(e) => (Prepared::PrepareFailed(header, e), true),
                    }
                }
            };
            stats.busy_ns += ns_since(t);
            let t = Instant::now();
            if out.send(msg).is_err() {
                break;
            }
            stats.wait_output_ns += ns_since(t);
            if last {
                break;
            }
        }
        stats
    }
}
