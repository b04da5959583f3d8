//! GPU backend of the execute stage: a block's waves run in WGSL over state kept resident
//! on the device across blocks.
//!
//! Shaders: `shaders/shared/u64.wgsl` (u64 as u32 pairs, the exact swap formula in 32-bit limbs)
//! and `shaders/shared/wide.wgsl` (the exact wide arithmetic of the liquidity and route
//! kinds: hop inputs, quotes, square roots of 128-bit products) followed by
//! `shaders/stages/exec.wgsl` (entry points `exec_segment` and `gather_changed`, every
//! kind). CPU twins: [`super::twin`], which also runs a whole block through the same plan
//! on the CPU so the plan and the kernels can be checked without a GPU, and
//! [`super::twin_wide`].
//!
//! # Resident state
//! The block runs over the device-resident copy of the state that [`ResidentState`] owns
//! (shared with the GPU resolve and commit stages; see [`crate::gpu::resident`] for what
//! is on the device and when it is trusted). Per block only the block's ready txs go up;
//! the receipts and, for every account and pool the block may write (signers, recipients,
//! the fee collector, swap pools), the nonce, balances and reserves come back, and those
//! accounts and pools are written into the host [`State`], which stays the source of
//! truth. The host is written only after the whole GPU call succeeded, so a failure leaves
//! it untouched (and drops the device copy) and `Auto` can run the CPU executor on it.
//!
//! # Dispatches and hot chains
//! All segments of a block are recorded in one compute pass and one submit; each segment is
//! one dispatch of `exec_segment`, which finds its [`Segment`] (first entry of the wave-order
//! index list, count, mode) through a dynamic offset into a uniform buffer. wgpu puts a
//! barrier between dispatches that share a read_write buffer, so each segment sees the
//! previous one's writes. A wave of more than `serial_wave_max` ready txs is a parallel
//! segment (one invocation per tx). Consecutive waves of at most `serial_wave_max` txs are
//! merged into one serial segment that a single invocation runs in order (waves in order,
//! block order inside each, which is serial-equivalent), up to [`SERIAL_SEGMENT_MAX_TXS`]
//! txs per segment (lavapipe's loop limiter and driver watchdogs; see there).
//!
//! Why: a hot pool makes a chain of one-tx waves (every swap of the pool depends on the
//! previous one), and a dispatch plus its barrier costs more than one invocation executing
//! a tx (~46 µs per dispatch in a pass of 1000 one-workgroup dispatches on lavapipe; ~2 µs CPU-side
//! per dispatch on real GPUs, wgpu issue 5766, before the barrier's own cost; a tx is a few hundred
//! arithmetic instructions). A rough guide, measured on lavapipe — a software adapter on 2
//! CPU cores, so CPU timings and not GPU speed, and noisy (±20% between runs) — with
//! `benches/exec_gpu.rs` (4096-tx blocks, dispatch + readback, ms, median; 128-tx serial
//! segments):
//!
//! | workload (waves, largest) | serial_max 0 | 1 | 4 | 16 | 64 | CPU in order |
//! |---|---|---|---|---|---|---|
//! | uniform (134, 468) | 9.4 | 4.2 | 3.8 | 6.6 | 4.8 | 0.04 |
//! | hot pool 30% (839, 331) | 51.2 | 44.1 | 18.9 | 4.6 | 5.3 | 0.05 |
//! | all one pool (4034, 1) | 124.2 | 6.0 | 7.4 | 7.8 | 5.4 | 0.06 |
//!
//! The all-one-pool chain goes from 4034 dispatches to 32 serial segments: about 20× on
//! lavapipe, where one dispatch costs about 30 µs and one invocation runs a tx in about
//! 1.2 µs, so waves up to ~25 txs are cheaper serial there ([`SOFTWARE_SERIAL_WAVE_MAX`]).
//! On a GPU one thread is far slower than a CPU core and a dispatch far cheaper, so the
//! break-even is a few txs ([`DEFAULT_SERIAL_WAVE_MAX`]); that value is an estimate not yet
//! measured on a GPU — [`GpuExecutor::set_serial_wave_max`] overrides it, and the bench
//! prints the curve for whatever adapter runs it.
//!
//! # Limits
//! A wave or gather list larger than one dispatch is split over several dispatches (nothing
//! in a wave conflicts). The balance columns must fit one storage binding
//! (`tokens × account_cap × 8` bytes), the pubkeys too (`account_cap × 32`), and so must a
//! block's txs and read-back words; a larger state or block fails with [`Error::Gpu`] and
//! `Auto` runs that block on the CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, GpuErrorKind, Result};
use crate::exec::ExecResult;
use crate::gpu::pass::{
    bind_and_dispatch, bind_group, dispatch, entry, entry_range, layout_entry, run_pass,
    stage_pipelines, upload,
};
use crate::gpu::pool::allocated;
use crate::gpu::pool::{
    BatchLimits, GrowBuffer, PassTimer, Readback, clear_all, limits_accessors, lock_or_reset,
    words_le,
};
use crate::gpu::shaders;
use crate::gpu::tunables::{DEFAULT_WORKGROUP_SIZE, GpuTunables};
use crate::gpu::{GpuContext, GpuTimings};
use crate::resolve::ResolvedBlock;
use crate::schedule::Schedule;
use crate::state::State;

use super::layout::*;
use super::plan::BlockPlan;
use crate::gpu::resident::{ResidentColumns, ResidentState, join};

fn gpu_err(stage: &'static str, kind: GpuErrorKind, what: String) -> Error {
    Error::gpu(stage, kind, what)
}

/// What the executor keeps between blocks (the state's columns are [`ResidentState`]'s).
#[derive(Debug)]
struct ExecBuffers {
    params: GrowBuffer,
    segments: GrowBuffer,
    txs: GrowBuffer,
    order: GrowBuffer,
    gather: GrowBuffer,
    out: GrowBuffer,
    readback: Readback,
    timer: Option<PassTimer>,
}

impl ExecBuffers {
    /// Drops every buffer.
    fn clear(&mut self) {
        clear_all([
            &mut self.params,
            &mut self.segments,
            &mut self.txs,
            &mut self.order,
            &mut self.gather,
            &mut self.out,
        ]);
        self.readback = Readback::default();
    }
}

/// Executes blocks on the GPU over resident state, bit-identical to the reference.
#[derive(Debug)]
pub struct GpuExecutor {
    exec: wgpu::ComputePipeline,
    gather: wgpu::ComputePipeline,
    limits: BatchLimits,
    workgroup_size: u32,
    segment_stride: u64,
    serial_wave_max: usize,
    buffers: Mutex<ExecBuffers>,
    fault_after_dispatch: AtomicBool,
}

impl GpuExecutor {
    /// Compiles the execution pipelines for the device behind `ctx`, with workgroups of
    /// `tunables.exec_workgroup_size`.
    pub fn new(ctx: &GpuContext, tunables: &GpuTunables) -> Result<Self> {
        use wgpu::BufferBindingType as B;
        let storage = |read_only| B::Storage { read_only };
        let workgroup_size = tunables.exec_workgroup_size;
        let pipeline_layout = ctx.scoped("exec.wgsl", || {
            let dev = &ctx.device;
            let layout = dev.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("exec"),
                entries: &[
                    layout_entry(0, B::Uniform, true),
                    layout_entry(1, B::Uniform, false),
                    layout_entry(2, storage(true), false),
                    layout_entry(3, storage(true), false),
                    layout_entry(4, storage(false), false),
                    layout_entry(5, storage(false), false),
                    layout_entry(6, storage(false), false),
                    layout_entry(7, storage(false), false),
                    layout_entry(8, storage(true), false),
                ],
            });
            dev.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("exec"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            })
        })?;
        let [exec, gather] = stage_pipelines(
            ctx,
            &shaders::EXEC,
            ["exec_segment", "gather_changed"],
            workgroup_size,
            Some(&pipeline_layout),
        )?;
        let timer = ctx.scoped("exec timer", || PassTimer::new(ctx))?;
        Ok(Self {
            exec,
            gather,
            limits: BatchLimits::of(ctx),
            workgroup_size,
            segment_stride: u64::from(ctx.limits.min_uniform_buffer_offset_alignment)
                .max(std::mem::size_of::<Segment>() as u64),
            serial_wave_max: if ctx.adapter.is_software() {
                SOFTWARE_SERIAL_WAVE_MAX
            } else {
                DEFAULT_SERIAL_WAVE_MAX
            },
            buffers: Mutex::new(ExecBuffers {
                params: GrowBuffer::uniform("exec params"),
                segments: GrowBuffer::uniform("exec segments"),
                txs: GrowBuffer::input("exec txs"),
                order: GrowBuffer::input("exec order"),
                gather: GrowBuffer::input("exec gather"),
                out: GrowBuffer::output("exec out"),
                readback: Readback::default(),
                timer,
            }),
            fault_after_dispatch: AtomicBool::new(false),
        })
    }

    /// Waves of at most this many ready txs join serial segments (0: every wave is its own
    /// parallel dispatch).
    pub fn serial_wave_max(&self) -> usize {
        self.serial_wave_max
    }

    /// Sets the wave size up to which waves join serial segments (see the module docs).
    pub fn set_serial_wave_max(&mut self, n: usize) {
        self.serial_wave_max = n;
    }

    limits_accessors!();

    fn lock(&self) -> MutexGuard<'_, ExecBuffers> {
        // A panic while holding the lock could leave half-written buffers: drop them.
        lock_or_reset(&self.buffers, |g| g.clear())
    }

    /// Makes the next block fail with [`Error::Gpu`] after its dispatch and readback, when
    /// the device columns already hold the block's effects but the host does not, so tests
    /// can check that the host stays untouched and the device copy is dropped.
    #[doc(hidden)]
    pub fn inject_fault_after_dispatch(&self) {
        self.fault_after_dispatch.store(true, Ordering::SeqCst);
    }

    /// Executes the ready txs of `resolved` in the waves of `sched` over the resident copy
    /// of `state` and writes what changed into `state`; returns (status, amount_out) per
    /// tx of the block. On error `state` is untouched and the device copy dropped.
    pub fn execute(
        &self,
        ctx: &GpuContext,
        resident: &ResidentState,
        state: &mut State,
        resolved: &ResolvedBlock,
        sched: &Schedule,
    ) -> Result<(Vec<ExecResult>, GpuTimings)> {
        let mut timings = GpuTimings::default();
        let plan = BlockPlan::build(
            resolved,
            sched,
            state.account_count(),
            state.pools().len(),
            self.serial_wave_max,
            usize::try_from(self.limits.max_invocations(self.workgroup_size)).unwrap_or(usize::MAX),
        )?;
        if plan.txs.is_empty() {
            // Nothing executes; appended accounts are picked up by the next upload.
            return Ok((plan.results(resolved, &[])?, timings));
        }
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let result = resident.update(ctx, state, |cols, state| {
            let out = self.run(ctx, bufs, cols, state, &plan, &mut timings)?;
            let results = plan.results(resolved, &out)?;
            plan.write_back(state, &out)?;
            Ok(results)
        });
        if result.is_err() {
            bufs.clear();
        }
        result.map(|r| (r, timings))
    }

    /// Runs `plan` over the resident copy of `state` and returns the output words as read
    /// back (receipts, then the gathered columns) without applying them to any host state;
    /// the device copy is dropped afterwards. For parity tests that compare the kernel's
    /// raw output with [`crate::exec::twin::run_plan`] on plans a block cannot produce
    /// (an injected kind).
    #[doc(hidden)]
    pub fn run_plan_words(
        &self,
        ctx: &GpuContext,
        resident: &ResidentState,
        state: &State,
        plan: &BlockPlan,
    ) -> Result<Vec<u32>> {
        let mut guard = self.lock();
        let bufs = &mut *guard;
        let mut scratch = state.clone();
        let mut timings = GpuTimings::default();
        let out = resident.update(ctx, &mut scratch, |cols, st| {
            self.run(ctx, bufs, cols, st, plan, &mut timings)
        });
        // The device columns now hold changes no host state has.
        resident.invalidate();
        if out.is_err() {
            bufs.clear();
        }
        out
    }

    fn run(
        &self,
        ctx: &GpuContext,
        bufs: &mut ExecBuffers,
        cols: ResidentColumns<'_>,
        state: &State,
        plan: &BlockPlan,
        t: &mut GpuTimings,
    ) -> Result<Vec<u32>> {
        let tokens = state.tokens();
        let pools = state.pools().len();
        let cap_bytes = self.limits.max_binding_bytes;
        let out_bytes = 4 * plan.out_words(tokens) as u64;
        let tx_bytes = (plan.txs.len() * std::mem::size_of::<ExecTx>()) as u64;
        for (what, bytes) in [
            ("receipts and gathered columns", out_bytes),
            ("txs", tx_bytes),
        ] {
            if bytes > cap_bytes {
                return Err(gpu_err(
                    "execute upload",
                    GpuErrorKind::LimitExceeded,
                    format!(
                        "{what} need {bytes} bytes, above the device's {cap_bytes}-byte binding limit"
                    ),
                ));
            }
        }
        let grids = plan
            .segments
            .iter()
            .map(|s| {
                let n = if s.mode == SEGMENT_SERIAL {
                    1
                } else {
                    u64::from(s.count)
                };
                self.limits.grid(n, self.workgroup_size)
            })
            .collect::<Result<Vec<_>>>()?;
        let gather_grids = plan
            .gather_segments
            .iter()
            .map(|s| self.limits.grid(u64::from(s.count), self.workgroup_size))
            .collect::<Result<Vec<_>>>()?;
        let all_segments: Vec<Segment> = plan
            .segments
            .iter()
            .chain(&plan.gather_segments)
            .copied()
            .collect();
        let stride = self.segment_stride;
        if stride * all_segments.len() as u64 > u64::from(u32::MAX) {
            return Err(gpu_err(
                "execute upload",
                GpuErrorKind::LimitExceeded,
                format!(
                    "{} dispatches exceed the dynamic-offset range",
                    all_segments.len()
                ),
            ));
        }

        let account_cap = cols.account_cap;
        upload(ctx, "execute upload", t, |dev, queue| {
            let params = plan.params(tokens, account_cap, pools);
            queue.write_buffer(
                bufs.params.ensure(dev, 32, 256),
                0,
                bytemuck::bytes_of(&params),
            );
            let segments = bufs
                .segments
                .ensure(dev, stride * all_segments.len() as u64, u64::MAX);
            let mut seg_bytes = vec![0u8; (stride as usize) * all_segments.len()];
            for (k, s) in all_segments.iter().enumerate() {
                let at = k * stride as usize;
                seg_bytes[at..at + 16].copy_from_slice(bytemuck::bytes_of(s));
            }
            queue.write_buffer(segments, 0, &seg_bytes);
            queue.write_buffer(
                bufs.txs.ensure(dev, tx_bytes, cap_bytes),
                0,
                bytemuck::cast_slice(&plan.txs),
            );
            queue.write_buffer(
                bufs.order
                    .ensure(dev, 4 * plan.order.len() as u64, cap_bytes),
                0,
                bytemuck::cast_slice(&plan.order),
            );
            let gather = plan.gather_list();
            queue.write_buffer(
                bufs.gather.ensure(dev, 4 * gather.len() as u64, cap_bytes),
                0,
                bytemuck::cast_slice(&gather),
            );
            bufs.out.ensure(dev, out_bytes, cap_bytes);
        })?;

        let stage = "execute dispatch";
        run_pass(ctx, stage, bufs.timer.as_ref(), t, |pass| {
            let segment_bytes = std::mem::size_of::<Segment>() as u64;
            let group = bind_group(
                ctx,
                "exec",
                &self.exec,
                &[
                    entry_range(0, allocated(stage, &bufs.segments)?, 0, segment_bytes),
                    entry(1, allocated(stage, &bufs.params)?),
                    entry(2, allocated(stage, &bufs.txs)?),
                    entry(3, allocated(stage, &bufs.order)?),
                    entry(4, cols.nonces),
                    entry(5, cols.balances),
                    entry(6, cols.pools),
                    entry(7, allocated(stage, &bufs.out)?),
                    entry(8, allocated(stage, &bufs.gather)?),
                ],
            );
            // Segment k's uniform is at k strides; the offsets fit u32 (checked above).
            let kernels = std::iter::repeat_n(&self.exec, grids.len())
                .chain(std::iter::repeat_n(&self.gather, gather_grids.len()));
            for (k, (pipeline, grid)) in kernels.zip(grids.iter().chain(&gather_grids)).enumerate()
            {
                dispatch(pass, pipeline, &group, &[(k as u64 * stride) as u32], *grid);
            }
            Ok(())
        })?;

        let bytes = bufs.readback.read_into(
            ctx,
            "execute readback",
            &bufs.out,
            out_bytes,
            bufs.timer.as_ref().as_slice(),
            t,
        )?;
        if self.fault_after_dispatch.swap(false, Ordering::SeqCst) {
            return Err(gpu_err(
                "execute readback",
                GpuErrorKind::Injected,
                "injected fault (GpuExecutor::inject_fault_after_dispatch)".into(),
            ));
        }
        Ok(words_le(&bytes))
    }
}

/// Runs the `swap_out_probe` test entry point on `probes`: per probe, the shader's
/// `swap_out` and `mul_wide(amount_in low, reserve_out high)`, as (out, product).
#[doc(hidden)]
pub fn swap_out_probe_on_gpu(ctx: &GpuContext, probes: &[SwapProbe]) -> Result<Vec<(u64, u64)>> {
    let words = probe_on_gpu(ctx, "swap_out_probe", (0, 1), probes, 4)?;
    Ok(words
        .chunks_exact(4)
        .map(|w| (join([w[0], w[1]]), join([w[2], w[3]])))
        .collect())
}

/// Runs the `wide_probe` test entry point on `probes`: per probe, the
/// [`WIDE_PROBE_WORDS`] words that [`crate::exec::twin_wide::wide_probe`] gives on the CPU.
#[doc(hidden)]
pub fn wide_probe_on_gpu(
    ctx: &GpuContext,
    probes: &[WideProbe],
) -> Result<Vec<[u32; WIDE_PROBE_WORDS]>> {
    let words = probe_on_gpu(ctx, "wide_probe", (2, 3), probes, WIDE_PROBE_WORDS)?;
    Ok(words
        .chunks_exact(WIDE_PROBE_WORDS)
        .map(|w| w.try_into().expect("chunks of WIDE_PROBE_WORDS"))
        .collect())
}

/// Dispatches the entry point `entry_point` of the exec probe module over `probes`, one
/// invocation each, with the probes at binding `in_binding` and the output at
/// `out_binding` of group 0, and reads back its `words_per_probe` output words per probe.
fn probe_on_gpu<P: bytemuck::Pod>(
    ctx: &GpuContext,
    entry_point: &'static str,
    (in_binding, out_binding): (u32, u32),
    probes: &[P],
    words_per_probe: usize,
) -> Result<Vec<u32>> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let limits = BatchLimits::of(ctx);
    let grid = limits.grid(probes.len() as u64, DEFAULT_WORKGROUP_SIZE)?;
    let [pipeline] = stage_pipelines(
        ctx,
        &shaders::EXEC_PROBE,
        [entry_point],
        DEFAULT_WORKGROUP_SIZE,
        None,
    )?;
    let out_bytes = (4 * words_per_probe * probes.len()) as u64;
    let (mut input, mut out) = (
        GrowBuffer::input("exec probes"),
        GrowBuffer::output("exec probe out"),
    );
    let mut t = GpuTimings::default();
    upload(ctx, "exec probe upload", &mut t, |dev, queue| {
        let input = input.ensure(dev, std::mem::size_of_val(probes) as u64, u64::MAX);
        queue.write_buffer(input, 0, bytemuck::cast_slice(probes));
        out.ensure(dev, out_bytes, u64::MAX);
    })?;
    let stage = "exec probe";
    run_pass(ctx, stage, None, &mut t, |pass| {
        bind_and_dispatch(
            ctx,
            pass,
            entry_point,
            &pipeline,
            &[
                entry(in_binding, allocated(stage, &input)?),
                entry(out_binding, allocated(stage, &out)?),
            ],
            grid,
        );
        Ok(())
    })?;
    let bytes =
        Readback::default().read_into(ctx, "exec probe readback", &out, out_bytes, &[], &mut t)?;
    Ok(words_le(&bytes))
}
