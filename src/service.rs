//! A signature verification service for validators: many threads submit small batches,
//! the service coalesces them into device-sized batches and answers each submission with
//! exactly its own verdicts.
//!
//! ```text
//! submit ─► bounded queue (per rule) ─► flush: full, or oldest waited its budget ─► worker
//!                                                          Engine::verify_split: GPU front ‖ CPU rest
//! handle.wait() ◄─ verdicts of this submission, in its order ◄─────────────────────┘
//! ```
//!
//! - **Coalescing.** Submissions of one [`VerifyRule`] queue together; a worker takes a
//!   batch of up to [`ServiceOptions::max_batch`] signatures as soon as that many are
//!   queued, or when the oldest queued submission has waited
//!   [`ServiceOptions::latency_budget`]. A submission larger than a batch is spread over
//!   several. Rules are never mixed in one batch; both may be in flight at once.
//! - **Split.** Each batch goes through [`Engine::verify_split`]: the GPU takes a front
//!   share in proportion to the measured rates ([`crate::split`]) and the CPU pool the
//!   rest, at the same time; small batches stay on the CPU. A GPU error sends that part
//!   to the CPU and counts a failover; no GPU error reaches a caller.
//! - **Back-pressure.** At most [`ServiceOptions::queue_capacity`] signatures are held at
//!   once (queued or being verified). [`VerifyService::submit`] waits for room;
//!   [`VerifyService::try_submit`] returns [`Error::Busy`] instead.
//! - **Exactly once.** Every accepted submission is answered once, through its
//!   [`VerifyHandle`], with one verdict per signature in submission order. A batch that
//!   cannot finish (a panic inside the verifier) answers its submissions with [`Error::Internal`] (never [`Error::Closed`]).
//! - **Shutdown.** [`VerifyService::close`] refuses new submissions with [`Error::Closed`];
//!   [`VerifyService::shutdown`] (and dropping the service) closes, lets the workers
//!   verify everything already accepted, and joins them.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::verify::{SigCheck, VerifyRule};

/// Message bytes shared with the caller, never copied: a range of a buffer the caller
/// already has (a `Vec<u8>`, an `Arc<[u8]>`, a packet type of its own), kept alive by a
/// reference count. Many messages can be ranges of one packet buffer.
///
/// ```
/// use std::sync::Arc;
/// use txwave::SharedBytes;
/// let packet = SharedBytes::from(b"first|second".to_vec()); // moved, not copied
/// let a = packet.slice(0..5).unwrap();
/// let b = packet.slice(6..12).unwrap();
/// assert_eq!((a.as_slice(), b.as_slice()), (&b"first"[..], &b"second"[..]));
/// assert!(packet.slice(6..13).is_none());
/// ```
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    end: usize,
}

impl SharedBytes {
    /// All the bytes of `owner`.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> SharedBytes {
        let end = (*owner).as_ref().len();
        SharedBytes {
            owner,
            start: 0,
            end,
        }
    }

    /// The bytes `range` of these (relative to them), sharing the same buffer; `None`
    /// when the range is not inside them.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<SharedBytes> {
        let start = self.start.checked_add(range.start)?;
        let end = self.start.checked_add(range.end)?;
        (start <= end && end <= self.end).then(|| SharedBytes {
            owner: self.owner.clone(),
            start,
            end,
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.owner).as_ref()[self.start..self.end]
    }
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.end - self.start)
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SharedBytes {}

impl From<Vec<u8>> for SharedBytes {
    /// Takes the vector over (no copy).
    fn from(v: Vec<u8>) -> Self {
        SharedBytes::new(Arc::new(v))
    }
}

impl From<Arc<[u8]>> for SharedBytes {
    fn from(v: Arc<[u8]>) -> Self {
        SharedBytes::new(Arc::new(v))
    }
}

impl From<&'static [u8]> for SharedBytes {
    fn from(v: &'static [u8]) -> Self {
        SharedBytes::new(Arc::new(v))
    }
}

/// One signature to check, holding its message as [`SharedBytes`] (a submission outlives
/// the caller's call, and its message is shared, not copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSigCheck {
    /// Signer public key (compressed Edwards point A).
    pub public_key: [u8; 32],
    /// Signature R ‖ S.
    pub signature: [u8; 64],
    /// Signed message.
    pub message: SharedBytes,
}

impl OwnedSigCheck {
    /// The borrowed form the verifiers take.
    pub fn as_check(&self) -> SigCheck<'_> {
        SigCheck {
            public_key: self.public_key,
            signature: self.signature,
            message: self.message.as_slice(),
        }
    }
}

impl From<SigCheck<'_>> for OwnedSigCheck {
    /// Copies the borrowed message (the one copy; build [`SharedBytes`] from a buffer
    /// you own to avoid it).
    fn from(c: SigCheck<'_>) -> Self {
        OwnedSigCheck {
            public_key: c.public_key,
            signature: c.signature,
            message: c.message.to_vec().into(),
        }
    }
}

/// How a [`VerifyService`] batches and bounds its work.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Longest a queued submission waits for more work to share its batch before its
    /// batch is flushed anyway (default 1 ms).
    pub latency_budget: Duration,
    /// Most signatures in one device batch (default 4096).
    pub max_batch: usize,
    /// Most signatures held at once, queued or being verified (default 65536). A single
    /// submission larger than this is refused.
    pub queue_capacity: usize,
    /// Batches verified at the same time, one thread each (default 2: one can be packed
    /// and answered while the other runs).
    pub workers: usize,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            latency_budget: Duration::from_millis(1),
            max_batch: 4096,
            queue_capacity: 65536,
            workers: 2,
        }
    }
}

/// Counters of a [`VerifyService`] since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Submissions accepted.
    pub submissions: u64,
    /// Signatures accepted.
    pub signatures: u64,
    /// Submissions answered.
    pub answered: u64,
    /// Device batches verified.
    pub batches: u64,
    /// Batches flushed because they were full.
    pub full_flushes: u64,
    /// Batches flushed because their oldest submission waited the latency budget (or at
    /// shutdown).
    pub timed_flushes: u64,
    /// Signatures verified on the CPU pool (failovers included).
    pub cpu_signatures: u64,
    /// Signatures the GPU verified successfully.
    pub gpu_signatures: u64,
    /// Batches the GPU took part in.
    pub gpu_batches: u64,
    /// GPU parts that failed and were verified again on the CPU.
    pub failovers: u64,
    /// `try_submit` calls refused because the queue was full.
    pub busy: u64,
    /// Most signatures held at once (never above `queue_capacity`).
    pub peak_held: u64,
}

/// What a submission's handle waits on.
struct Answer {
    rule: VerifyRule,
    slot: Mutex<Slot>,
    ready: Condvar,
}

struct Slot {
    verdicts: Vec<bool>,
    remaining: usize,
    failure: Option<String>,
    /// The task awaiting the handle as a future, woken when `remaining` reaches 0.
    waker: Option<std::task::Waker>,
    /// The answer was handed out (to `poll`).
    taken: bool,
}

impl Answer {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The answer to one submission: its verdicts, in its order, once its batches ran.
pub struct VerifyHandle {
    answer: Arc<Answer>,
}

impl std::fmt::Debug for VerifyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyHandle")
            .field("rule", &self.answer.rule)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl VerifyHandle {
    /// The rule the submission is checked under.
    pub fn rule(&self) -> VerifyRule {
        self.answer.rule
    }

    /// Whether the answer is there ([`VerifyHandle::wait`] will not block).
    pub fn is_ready(&self) -> bool {
        self.answer.lock().remaining == 0
    }

    fn take(slot: &mut Slot) -> Result<Vec<bool>> {
        slot.taken = true;
        match slot.failure.take() {
            Some(what) => Err(Error::Internal {
                stage: "verify service",
                what,
            }),
            None => Ok(std::mem::take(&mut slot.verdicts)),
        }
    }

    /// Blocks until the submission is verified; `out[i]` is the verdict of its
    /// signature `i`. An error only when its batch could not finish (see the module
    /// documentation).
    pub fn wait(self) -> Result<Vec<bool>> {
        let mut slot = self.answer.lock();
        while slot.remaining > 0 {
            slot = self
                .answer
                .ready
                .wait(slot)
                .unwrap_or_else(|p| p.into_inner());
        }
        Self::take(&mut slot)
    }

    /// [`VerifyHandle::wait`] for at most `timeout`; gives the handle back when the
    /// answer is not there by then.
    pub fn wait_timeout(self, timeout: Duration) -> std::result::Result<Result<Vec<bool>>, Self> {
        let deadline = Instant::now() + timeout;
        {
            let mut slot = self.answer.lock();
            loop {
                if slot.remaining == 0 {
                    return Ok(Self::take(&mut slot));
                }
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                slot = self
                    .answer
                    .ready
                    .wait_timeout(slot, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        Err(self)
    }

    /// The answer if it is there, else the handle back.
    pub fn try_get(self) -> std::result::Result<Result<Vec<bool>>, Self> {
        self.wait_timeout(Duration::ZERO)
    }
}

/// Awaiting a handle gives the same answer as [`VerifyHandle::wait`], without blocking a
/// thread: the service's worker wakes the task when the last batch holding the
/// submission is done. Needs no particular runtime.
impl std::future::Future for VerifyHandle {
    type Output = Result<Vec<bool>>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut slot = self.answer.lock();
        if slot.remaining > 0 {
            if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                slot.waker = Some(cx.waker().clone());
            }
            return std::task::Poll::Pending;
        }
        if slot.taken {
            return std::task::Poll::Ready(Err(Error::InvalidArgument(
                "this handle's answer was already taken".into(),
            )));
        }
        std::task::Poll::Ready(Self::take(&mut slot))
    }
}

/// A submission in the queue: its signatures from `next` on are not yet in a batch.
struct Pending {
    checks: Arc<Vec<OwnedSigCheck>>,
    answer: Arc<Answer>,
    next: usize,
    since: Instant,
}

/// Part of a submission inside one batch.
struct Segment {
    checks: Arc<Vec<OwnedSigCheck>>,
    answer: Arc<Answer>,
    start: usize,
    len: usize,
}

struct Queue {
    pending: [VecDeque<Pending>; 2],
    queued: [usize; 2],
    held: usize,
    closed: bool,
}

#[derive(Default)]
struct Counters {
    submissions: AtomicU64,
    signatures: AtomicU64,
    answered: AtomicU64,
    batches: AtomicU64,
    full_flushes: AtomicU64,
    timed_flushes: AtomicU64,
    cpu_signatures: AtomicU64,
    gpu_signatures: AtomicU64,
    gpu_batches: AtomicU64,
    failovers: AtomicU64,
    busy: AtomicU64,
    peak_held: AtomicU64,
}

struct Shared {
    engine: Arc<Engine>,
    options: ServiceOptions,
    queue: Mutex<Queue>,
    /// Submitters wait here for room.
    room: Condvar,
    /// Workers wait here for work.
    work: Condvar,
    counters: Counters,
}

fn rule_index(rule: VerifyRule) -> usize {
    match rule {
        VerifyRule::Strict => 0,
        VerifyRule::Zip215 => 1,
    }
}

const RULES: [VerifyRule; 2] = [VerifyRule::Strict, VerifyRule::Zip215];

/// A batch taken from the queue. Dropping it answers its segments: with the verdicts
/// once they are set, else with a failure; either way its signatures leave the queue's
/// count. So every segment is answered exactly once, even when verification panics.
struct Batch<'a> {
    shared: &'a Shared,
    rule: VerifyRule,
    segments: Vec<Segment>,
    total: usize,
    verdicts: Option<Vec<bool>>,
    /// The message of a panic that stopped its verification.
    panicked: Option<String>,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // Verdicts of the wrong length (not expected) answer as a failure too.
        let verdicts = self.verdicts.take().filter(|v| v.len() == self.total);
        let mut at = 0;
        for seg in &self.segments {
            let mut slot = seg.answer.lock();
            match &verdicts {
                Some(v) => {
                    slot.verdicts[seg.start..seg.start + seg.len]
                        .copy_from_slice(&v[at..at + seg.len]);
                }
                _ => {
                    slot.failure.get_or_insert_with(|| match &self.panicked {
                        Some(why) => format!(
                            "the {} batch holding this submission panicked: {why}",
                            self.rule.name()
                        ),
                        None => format!(
                            "the {} batch holding this submission did not finish",
                            self.rule.name()
                        ),
                    });
                }
            }
            at += seg.len;
            slot.remaining -= seg.len;
            if slot.remaining == 0 {
                self.shared
                    .counters
                    .answered
                    .fetch_add(1, Ordering::Relaxed);
                seg.answer.ready.notify_all();
                // Woken outside the lock: the waker may run the task's executor code.
                if let Some(w) = slot.waker.take() {
                    drop(slot);
                    w.wake();
                }
            }
        }
        // Free the signatures before making room for more.
        self.segments.clear();
        let mut q = self.shared.lock();
        q.held -= self.total;
        drop(q);
        self.shared.room.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue's invariants hold between statements: a panicking holder (none is
        // expected) leaves it usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rule whose batch should go now, and whether it is full.
    fn ready(&self, q: &Queue, now: Instant) -> Option<(VerifyRule, bool)> {
        let mut best: Option<(VerifyRule, bool, Instant)> = None;
        for rule in RULES {
            let i = rule_index(rule);
            let Some(front) = q.pending[i].front() else {
                continue;
            };
            let full = q.queued[i] >= self.options.max_batch;
            let due = full || q.closed || now >= front.since + self.options.latency_budget;
            if due && best.is_none_or(|(_, _, since)| front.since < since) {
                best = Some((rule, full, front.since));
            }
        }
        best.map(|(rule, full, _)| (rule, full))
    }

    /// When the oldest queued submission's budget runs out.
    fn next_deadline(&self, q: &Queue) -> Option<Instant> {
        q.pending
            .iter()
            .filter_map(|p| p.front().map(|f| f.since + self.options.latency_budget))
            .min()
    }

    /// Takes up to `max_batch` signatures of `rule` from the front of its queue.
    fn take(&self, q: &mut Queue, rule: VerifyRule) -> Vec<Segment> {
        let i = rule_index(rule);
        let mut room = self.options.max_batch;
        let mut segments = Vec::new();
        while room > 0 {
            let Some(front) = q.pending[i].front_mut() else {
                break;
            };
            let left = front.checks.len() - front.next;
            let len = left.min(room);
            segments.push(Segment {
                checks: front.checks.clone(),
                answer: front.answer.clone(),
                start: front.next,
                len,
            });
            front.next += len;
            room -= len;
            q.queued[i] -= len;
            if front.next == front.checks.len() {
                q.pending[i].pop_front();
            }
        }
        segments
    }

    /// The next batch, waiting for one; `None` once closed and drained.
    fn next_batch(&self) -> Option<Batch<'_>> {
        let mut q = self.lock();
        loop {
            let now = Instant::now();
            if let Some((rule, full)) = self.ready(&q, now) {
                let segments = self.take(&mut q, rule);
                let more = self.ready(&q, now).is_some();
                drop(q);
                if more {
                    self.work.notify_one();
                }
                let c = &self.counters;
                if full {
                    c.full_flushes.fetch_add(1, Ordering::Relaxed);
                } else {
                    c.timed_flushes.fetch_add(1, Ordering::Relaxed);
                }
                let total = segments.iter().map(|s| s.len).sum();
                return Some(Batch {
                    shared: self,
                    rule,
                    segments,
                    total,
                    verdicts: None,
                    panicked: None,
                });
            }
            if q.closed && q.pending.iter().all(VecDeque::is_empty) {
                return None;
            }
            q = match self.next_deadline(&q) {
                Some(deadline) => {
                    self.work
                        .wait_timeout(q, deadline.saturating_duration_since(now))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.work.wait(q).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    fn run(&self, batch: &mut Batch<'_>) {
        self.engine
            .fault_point(crate::engine::PanicPoint::Service, 0);
        let checks: Vec<SigCheck<'_>> = batch
            .segments
            .iter()
            .flat_map(|s| s.checks[s.start..s.start + s.len].iter())
            .map(OwnedSigCheck::as_check)
            .collect();
        let run = self.engine.verify_split(
            &checks,
            batch.rule,
            self.engine.config().placement.min_gpu_share,
        );
        let c = &self.counters;
        c.batches.fetch_add(1, Ordering::Relaxed);
        if run.gpu_items > 0 {
            c.gpu_batches.fetch_add(1, Ordering::Relaxed);
        }
        let (gpu, cpu) = if run.gpu_error.is_some() {
            c.failovers.fetch_add(1, Ordering::Relaxed);
            (0, checks.len())
        } else {
            (run.gpu_items, run.cpu_items)
        };
        c.gpu_signatures.fetch_add(gpu as u64, Ordering::Relaxed);
        c.cpu_signatures.fetch_add(cpu as u64, Ordering::Relaxed);
        batch.verdicts = Some(run.value);
    }

    fn worker(&self) {
        while let Some(mut batch) = self.next_batch() {
            // A panic (none is expected) drops the batch, which answers its submissions
            // with an internal error; the worker goes on with the next batch.
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| self.run(&mut batch)));
            if let Err(p) = ran
                && let Error::Internal { what, .. } =
                    Error::from_panic("verify service", p.as_ref())
            {
                batch.panicked = Some(what);
            }
            drop(batch);
        }
    }
}

/// Coalescing, back-pressured signature verification on an [`Engine`]; see the
/// [module documentation](self). Share it between threads by reference (or in an `Arc`):
/// every method takes `&self` except [`VerifyService::shutdown`].
pub struct VerifyService {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for VerifyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyService")
            .field("options", &self.shared.options)
            .field("stats", &self.stats())
            .finish()
    }
}

impl VerifyService {
    /// Starts the workers. Where work goes is the engine's
    /// [`Placement`](crate::engine::Placement): its calibration's rates (loaded with the
    /// engine), or else, when the engine has a GPU and no rates yet, rates measured now
    /// (see [`Engine::measure_rates`]).
    pub fn new(engine: Arc<Engine>, options: ServiceOptions) -> Result<VerifyService> {
        if options.max_batch == 0 || options.workers == 0 {
            return Err(Error::InvalidArgument(format!(
                "service: max_batch ({}) and workers ({}) must be at least 1",
                options.max_batch, options.workers
            )));
        }
        if options.queue_capacity < options.max_batch {
            return Err(Error::InvalidArgument(format!(
                "service: queue_capacity ({}) must hold at least one batch (max_batch {})",
                options.queue_capacity, options.max_batch
            )));
        }
        if engine.gpu_context().is_some() {
            engine.ensure_rates();
        }
        let shared = Arc::new(Shared {
            engine,
            options,
            queue: Mutex::new(Queue {
                pending: [VecDeque::new(), VecDeque::new()],
                queued: [0; 2],
                held: 0,
                closed: false,
            }),
            room: Condvar::new(),
            work: Condvar::new(),
            counters: Counters::default(),
        });
        let mut workers = Vec::with_capacity(shared.options.workers);
        for i in 0..shared.options.workers {
            let s = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("txwave-verify-{i}"))
                .spawn(move || s.worker());
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    let service = VerifyService { shared, workers };
                    drop(service);
                    return Err(Error::InvalidArgument(format!(
                        "service: cannot start worker thread {i}: {e}"
                    )));
                }
            }
        }
        Ok(VerifyService { shared, workers })
    }

    /// The options the service runs with.
    pub fn options(&self) -> &ServiceOptions {
        &self.shared.options
    }

    /// The engine the service verifies on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// Queues `batch` under `rule`, waiting while the queue has no room for it.
    /// [`Error::Closed`] once the service is closed (also for a caller waiting for room
    /// when it closes); [`Error::InvalidArgument`] for a batch larger than the whole
    /// queue.
    pub fn submit(&self, batch: Vec<OwnedSigCheck>, rule: VerifyRule) -> Result<VerifyHandle> {
        self.enqueue(batch, rule, true)
    }

    /// [`VerifyService::submit`] without waiting: [`Error::Busy`] when the queue has no
    /// room for the batch now.
    pub fn try_submit(&self, batch: Vec<OwnedSigCheck>, rule: VerifyRule) -> Result<VerifyHandle> {
        self.enqueue(batch, rule, false)
    }

    fn enqueue(
        &self,
        batch: Vec<OwnedSigCheck>,
        rule: VerifyRule,
        block: bool,
    ) -> Result<VerifyHandle> {
        let s = &*self.shared;
        let n = batch.len();
        let capacity = s.options.queue_capacity;
        if n > capacity {
            return Err(Error::InvalidArgument(format!(
                "a batch of {n} signatures exceeds the service's queue capacity of {capacity}"
            )));
        }
        let answer = Arc::new(Answer {
            rule,
            slot: Mutex::new(Slot {
                verdicts: vec![false; n],
                remaining: n,
                failure: None,
                waker: None,
                taken: false,
            }),
            ready: Condvar::new(),
        });
        let mut q = s.lock();
        loop {
            if q.closed {
                return Err(Error::Closed(
                    "the verify service is shut down and takes no more submissions".into(),
                ));
            }
            if q.held + n <= capacity {
                break;
            }
            if !block {
                s.counters.busy.fetch_add(1, Ordering::Relaxed);
                return Err(Error::Busy(format!(
                    "{} of {capacity} signatures held; {n} more do not fit",
                    q.held
                )));
            }
            q = s.room.wait(q).unwrap_or_else(|p| p.into_inner());
        }
        s.counters.submissions.fetch_add(1, Ordering::Relaxed);
        s.counters.signatures.fetch_add(n as u64, Ordering::Relaxed);
        if n == 0 {
            s.counters.answered.fetch_add(1, Ordering::Relaxed);
            return Ok(VerifyHandle { answer });
        }
        q.held += n;
        s.counters
            .peak_held
            .fetch_max(q.held as u64, Ordering::Relaxed);
        let i = rule_index(rule);
        q.queued[i] += n;
        q.pending[i].push_back(Pending {
            checks: Arc::new(batch),
            answer: answer.clone(),
            next: 0,
            since: Instant::now(),
        });
        drop(q);
        s.work.notify_one();
        Ok(VerifyHandle { answer })
    }

    /// Signatures held now (queued or being verified).
    pub fn held(&self) -> usize {
        self.shared.lock().held
    }

    /// Refuses every later submission with [`Error::Closed`]; what was accepted is still
    /// verified and answered.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.room.notify_all();
        self.shared.work.notify_all();
    }

    /// The counters so far.
    pub fn stats(&self) -> ServiceStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServiceStats {
            submissions: get(&c.submissions),
            signatures: get(&c.signatures),
            answered: get(&c.answered),
            batches: get(&c.batches),
            full_flushes: get(&c.full_flushes),
            timed_flushes: get(&c.timed_flushes),
            cpu_signatures: get(&c.cpu_signatures),
            gpu_signatures: get(&c.gpu_signatures),
            gpu_batches: get(&c.gpu_batches),
            failovers: get(&c.failovers),
            busy: get(&c.busy),
            peak_held: get(&c.peak_held),
        }
    }

    /// Closes, verifies and answers everything accepted, stops the workers and returns
    /// the final counters.
    pub fn shutdown(mut self) -> ServiceStats {
        self.stop();
        self.stats()
    }

    fn stop(&mut self) {
        self.close();
        for h in self.workers.drain(..) {
            // A worker catches panics of its batches; a join error leaves nothing to do.
            let _ = h.join();
        }
    }
}

impl Drop for VerifyService {
    /// Same as [`VerifyService::shutdown`]: drains, then stops the workers.
    fn drop(&mut self) {
        self.stop();
    }
}
