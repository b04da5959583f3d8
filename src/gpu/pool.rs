//! GPU runtime pieces that stages keep across calls: grow-only buffers, batch limits,
//! pass timers and a reused readback buffer (with the readback phase of a stage call,
//! [`Readback::read_into`]).

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::{GpuContext, GpuTimings};
use crate::error::{Error, GpuErrorKind, Result};

/// A buffer kept between calls and reallocated only when a call needs more room.
///
/// Allocation happens inside the caller's [`GpuContext::scoped`] region, so an allocation
/// failure surfaces there as [`Error::Gpu`]; after any error the owner calls
/// [`GrowBuffer::clear`] so that a buffer left invalid is never reused.
#[derive(Debug)]
pub struct GrowBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: Option<wgpu::Buffer>,
}

/// Smallest buffer a [`GrowBuffer`] allocates: bindings must not be empty.
const MIN_BUFFER_BYTES: u64 = 32;

impl GrowBuffer {
    /// A buffer with this label and usage, not yet allocated.
    pub fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Self {
            label,
            usage,
            buffer: None,
        }
    }

    /// Returns a buffer of at least `size` bytes. A new one is rounded up to the next power
    /// of two, but never past `cap` unless `size` itself is larger (callers split batches
    /// so that it is not).
    pub fn ensure(&mut self, device: &wgpu::Device, size: u64, cap: u64) -> &wgpu::Buffer {
        let size = size
            .max(MIN_BUFFER_BYTES)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let fits = self.buffer.as_ref().is_some_and(|b| b.size() >= size);
        if !fits {
            if let Some(old) = self.buffer.take() {
                old.destroy();
            }
            let grown = size
                .checked_next_power_of_two()
                .unwrap_or(size)
                .min(cap & !(wgpu::COPY_BUFFER_ALIGNMENT - 1))
                .max(size);
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: grown,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer
            .as_ref()
            .expect("a buffer was stored just above when none fitted")
    }

    /// A uniform buffer the host writes.
    pub fn uniform(label: &'static str) -> Self {
        Self::new(
            label,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// A storage buffer the host writes.
    pub fn input(label: &'static str) -> Self {
        Self::new(
            label,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// A storage buffer the host reads back.
    pub fn output(label: &'static str) -> Self {
        Self::new(
            label,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
    }

    /// The current buffer, if one was allocated.
    pub fn get(&self) -> Option<&wgpu::Buffer> {
        self.buffer.as_ref()
    }

    /// Bytes currently allocated.
    pub fn capacity(&self) -> u64 {
        self.buffer.as_ref().map_or(0, wgpu::Buffer::size)
    }

    /// Drops the buffer; the next [`GrowBuffer::ensure`] allocates a fresh one.
    pub fn clear(&mut self) {
        self.buffer = None;
    }
}

/// Drops every buffer in `buffers`: what a stage does after an error, so that no buffer
/// left invalid by it is reused.
pub fn clear_all<const N: usize>(buffers: [&mut GrowBuffer; N]) {
    for b in buffers {
        b.clear();
    }
}

/// The limits a GPU stage splits its batches by: the adapter's own, or smaller ones that
/// tests set to exercise the splitting paths on any adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Largest buffer one binding may cover, in bytes: the smaller of the adapter's
    /// `max_storage_buffer_binding_size` and `max_buffer_size`, at most `u32::MAX`
    /// (shaders index bytes with u32), rounded down to a multiple of 4.
    pub max_binding_bytes: u64,
    /// The adapter's `max_compute_workgroups_per_dimension`.
    pub max_workgroups_per_dim: u32,
}

impl BatchLimits {
    /// The limits of the device behind `ctx`.
    pub fn of(ctx: &GpuContext) -> Self {
        let binding = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size)
            .min(u64::from(u32::MAX));
        Self {
            max_binding_bytes: binding & !3,
            max_workgroups_per_dim: ctx.limits.max_compute_workgroups_per_dimension,
        }
    }

    /// How many invocations one dispatch can run with workgroups of `workgroup_size`,
    /// using both the x and y dimensions.
    pub fn max_invocations(&self, workgroup_size: u32) -> u64 {
        let per_dim = u64::from(self.max_workgroups_per_dim);
        per_dim * per_dim * u64::from(workgroup_size)
    }

    /// Workgroup counts `[x, y]` covering `invocations`: one row while it fits, more rows
    /// (2D dispatch) beyond. Shaders compute their index as `gid.x + gid.y * x * size`
    /// (`invocation_index` in shaders/shared/dispatch.wgsl) and return past the end.
    pub fn grid(&self, invocations: u64, workgroup_size: u32) -> Result<[u32; 2]> {
        let groups = invocations.div_ceil(u64::from(workgroup_size)).max(1);
        let per_dim = u64::from(self.max_workgroups_per_dim.max(1));
        let x = groups.min(per_dim);
        let y = groups.div_ceil(x);
        if y > per_dim {
            return Err(Error::gpu(
                "dispatch",
                GpuErrorKind::LimitExceeded,
                format!(
                    "{invocations} invocations exceed one dispatch ({per_dim} x {per_dim} workgroups of {workgroup_size})"
                ),
            ));
        }
        // Both fit in u32: each is at most per_dim, itself a u32.
        Ok([x as u32, y as u32])
    }
}

/// Begin/end timestamps of one compute pass, where the device has `TIMESTAMP_QUERY`.
#[derive(Debug)]
pub struct PassTimer {
    query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    staging: wgpu::Buffer,
    period_ns: f64,
}

impl PassTimer {
    /// A timer, or `None` when the device cannot time passes. Call inside `scoped`.
    pub fn new(ctx: &GpuContext) -> Option<Self> {
        if !ctx.timestamps {
            return None;
        }
        let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("txwave pass timer"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("txwave pass timer resolve"),
            size: 2 * wgpu::QUERY_SIZE as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("txwave pass timer staging"),
            size: 2 * wgpu::QUERY_SIZE as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Some(Self {
            query_set,
            resolve,
            staging,
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
        })
    }

    /// The timestamp writes to give the pass to be timed.
    pub fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records, after the timed pass, the copy of its timestamps to the host-visible buffer.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.query_set, 0..2, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(
            &self.resolve,
            0,
            &self.staging,
            0,
            2 * wgpu::QUERY_SIZE as u64,
        );
    }
}

/// A host-visible buffer reused for every readback of one stage.
#[derive(Debug)]
pub struct Readback {
    staging: GrowBuffer,
}

impl Default for Readback {
    fn default() -> Self {
        Self {
            staging: GrowBuffer::new(
                "txwave readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }
}

/// Maps `slice` for reading once the device is idle; the returned receiver gets the result.
fn map_read(
    slice: wgpu::BufferSlice<'_>,
) -> std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    rx
}

fn mapped(
    stage: &'static str,
    rx: &std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
) -> Result<()> {
    rx.recv()
        .map_err(|e| {
            Error::gpu(
                stage,
                GpuErrorKind::Readback,
                format!("map callback dropped: {e}"),
            )
        })?
        .map_err(|e| Error::gpu(stage, GpuErrorKind::Readback, e.to_string()))
}

/// Result bytes and device pass time of one readback.
pub type ReadbackResult = (Vec<u8>, Option<u64>);

impl Readback {
    /// The readback phase of a stage call: [`Readback::read`] of the first `size` bytes of
    /// `src`, with the wall time and the time of the passes `timers` recorded added to `t`.
    pub fn read_into(
        &mut self,
        ctx: &GpuContext,
        stage: &'static str,
        src: &GrowBuffer,
        size: u64,
        timers: &[&PassTimer],
        t: &mut GpuTimings,
    ) -> Result<Vec<u8>> {
        let src = allocated(stage, src)?;
        let (bytes, pass_ns) = self.read(ctx, stage, src, size, timers, &mut t.readback_ns)?;
        add_pass(t, pass_ns);
        Ok(bytes)
    }

    /// Copies the first `size` bytes of `src` (which needs `COPY_SRC`, `size` a multiple
    /// of 4) to the host, with the total time of the passes `timers` recorded (`None` when
    /// none did). Adds the wall time to `readback_ns`.
    pub fn read(
        &mut self,
        ctx: &GpuContext,
        stage: &'static str,
        src: &wgpu::Buffer,
        size: u64,
        timers: &[&PassTimer],
        readback_ns: &mut u64,
    ) -> Result<ReadbackResult> {
        let start = Instant::now();
        let result = (|| -> Result<ReadbackResult> {
            if size == 0 {
                return Ok((Vec::new(), None));
            }
            ctx.scoped(stage, || {
                let staging = self
                    .staging
                    .ensure(&ctx.device, size, ctx.limits.max_buffer_size);
                let mut enc = ctx
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(stage) });
                enc.copy_buffer_to_buffer(src, 0, staging, 0, size);
                ctx.queue.submit([enc.finish()]);
            })?;
            let staging = allocated(stage, &self.staging)?;
            let slice = staging.slice(..size);
            let rx = map_read(slice);
            let timer_rx: Vec<_> = timers
                .iter()
                .map(|t| map_read(t.staging.slice(..)))
                .collect();
            ctx.wait(stage)?;
            mapped(stage, &rx)?;
            let bytes = {
                let view = slice
                    .get_mapped_range()
                    .map_err(|e| Error::gpu(stage, GpuErrorKind::Readback, e.to_string()))?;
                view.to_vec()
            };
            staging.unmap();
            let mut pass_ns = None;
            for (t, trx) in timers.iter().zip(&timer_rx) {
                mapped(stage, trx)?;
                let ticks = {
                    let view =
                        t.staging.slice(..).get_mapped_range().map_err(|e| {
                            Error::gpu(stage, GpuErrorKind::Readback, e.to_string())
                        })?;
                    let tick = |i: usize| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&view[8 * i..8 * i + 8]);
                        u64::from_le_bytes(b)
                    };
                    tick(1).checked_sub(tick(0))
                };
                t.staging.unmap();
                // A driver that writes the end before the begin gives no usable time.
                if let Some(ticks) = ticks {
                    pass_ns = Some(pass_ns.unwrap_or(0) + (ticks as f64 * t.period_ns) as u64);
                }
            }
            Ok((bytes, pass_ns))
        })();
        *readback_ns += elapsed_ns(start);
        if result.is_err() {
            self.staging.clear();
        }
        result
    }
}

/// Locks a stage's buffers, ignoring poison: for stages whose every call rewrites what it
/// reads, so a panic elsewhere while the lock was held leaves nothing the next call uses.
pub fn lock_kept<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Locks a stage's buffers; when a panic while the lock was held may have left them
/// half-written, `reset` runs on them first.
pub fn lock_or_reset<T>(m: &Mutex<T>, reset: impl FnOnce(&mut T)) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| {
        let mut g = p.into_inner();
        reset(&mut g);
        g
    })
}

/// `limits()` and `set_limits()` for a GPU stage whose `limits` field holds the
/// [`BatchLimits`] its calls are split by and checked against.
macro_rules! limits_accessors {
    () => {
        /// The limits calls are split by and checked against.
        pub fn limits(&self) -> $crate::gpu::pool::BatchLimits {
            self.limits
        }

        /// Replaces the limits, so tests can force splitting, 2D grids and the too-large
        /// paths on any adapter. Limits above the device's make calls fail with
        /// [`crate::Error::Gpu`].
        #[doc(hidden)]
        pub fn set_limits(&mut self, limits: $crate::gpu::pool::BatchLimits) {
            self.limits = limits;
        }
    };
}
pub(crate) use limits_accessors;

/// Little-endian u32 words of `bytes` (whose length is a multiple of 4), as read back.
pub fn words_le(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// Nanoseconds since `start`, saturating.
pub fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Copies the first `size` bytes of `src` (which needs `COPY_SRC`) to the host once,
/// through a staging buffer used only for this copy. For one-off reads (tests, probes);
/// a stage that reads back every call keeps a [`Readback`].
pub fn read_once(
    ctx: &GpuContext,
    stage: &'static str,
    src: &wgpu::Buffer,
    size: u64,
) -> Result<Vec<u8>> {
    let mut ns = 0;
    Readback::default()
        .read(ctx, stage, src, size, &[], &mut ns)
        .map(|(bytes, _)| bytes)
}

/// The buffer of a [`GrowBuffer`] that an earlier step of the same call allocated.
pub fn allocated<'a>(stage: &'static str, b: &'a GrowBuffer) -> Result<&'a wgpu::Buffer> {
    b.get().ok_or(Error::gpu(
        stage,
        GpuErrorKind::Internal,
        "buffer missing after allocation",
    ))
}

/// Adds one pass's device time to `t`.
pub fn add_pass(t: &mut GpuTimings, pass_ns: Option<u64>) {
    if let Some(ns) = pass_ns {
        t.gpu_pass_ns = Some(t.gpu_pass_ns.unwrap_or(0) + ns);
    }
}
