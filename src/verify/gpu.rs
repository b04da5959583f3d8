//! GPU verifier: Ed25519 under either rule in WGSL, one invocation per signature.
//!
//! Everything runs on the GPU: SHA-512 of R ‖ A ‖ M, the reduction mod ℓ, the canonical-S
//! check, point decompression, the small-order checks and Straus double-scalar
//! multiplication (see `shaders/*.wgsl`). Each WGSL function has a CPU twin in
//! [`super::twin`]; the parity tests run both on the same inputs.
//!
//! A batch is packed into one descriptor buffer ([`ItemDesc`] per signature) and one word
//! buffer holding, per signature, S ‖ R ‖ A ‖ M with M zero-padded to a whole word. Batches
//! larger than the adapter's binding or dispatch limits are split into chunks.
//!
//! # Variants
//!
//! A [`GpuVerifier`] is built for one [`VerifyVariant`], chosen at run time (the engine
//! takes it from [`crate::gpu::tunables::GpuTunables::verify`]); every variant gives the
//! same answers, and the default is the shape txwave has always run.
//!
//! - **Shape** ([`VerifyShape`]): [`VerifyShape::Register`] compiles
//!   [`shaders::VERIFY`], where the curve formulas and exponentiation chains are short
//!   programs of field operations run by one interpreter loop over a private register file
//!   of 32 field elements: little code, so it compiles fast everywhere, but every field
//!   operation indexes that array at run time. [`VerifyShape::StraightLine`] compiles
//!   [`shaders::VERIFY_STRAIGHT`]: the same formulas as direct calls of the unrolled field
//!   functions on locals, with one call site per point operation inside the loops so that
//!   inlining keeps the code size (and compile time) bounded.
//! - **Base-point table**: with `basepoint_table`, [1..8]B is read from a storage buffer
//!   the verifier uploads once at construction ([`basepoint_table`], computed on the host
//!   with the CPU twin: the same points the shader computes otherwise) instead of being
//!   computed with seven point additions in every invocation. It is the `BASEPOINT_TABLE`
//!   declaration of `verify.wgsl`.
//! - **Workgroup size**: the `WORKGROUP_SIZE` declaration; chunk planning and the dispatch
//!   grid use it.
//!
//! Compile cost on Mesa's lavapipe: creating a variant's pipeline takes 16–25 s and the
//! first dispatch another 90–220 s cold (llvmpipe JIT-compiles there; the straight-line
//! shape took 90–117 s, the register shape 150–220 s, on a busy two-core machine). Mesa's
//! shader cache (`~/.cache/mesa_shader_cache`, `MESA_SHADER_CACHE_DIR`) keeps the JIT's
//! output between processes, after which the first dispatch takes under a second.
//!
//! Both are `override` declarations in `verify.wgsl` whose defaults are the default
//! variant's, set per pipeline ([`pipeline_constants`]). The pipeline-cache file of a
//! variant is keyed by its module source and its override values, so variants never
//! share a file.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::layout::{ItemDesc, MAX_ITEMS_PER_DISPATCH, VerifyParams, record_words, rule_code};
use super::twin;
use super::{SigCheck, VerifyRule};
use crate::error::{Error, GpuErrorKind, Result};
use crate::gpu::pass::{WORKGROUP_SIZE_CONSTANT, entry, layout_entry};
use crate::gpu::pool::{BatchLimits, GrowBuffer, PassTimer, Readback, clear_all, elapsed_ns};
use crate::gpu::pool::{add_pass, allocated};
use crate::gpu::tunables::{VerifyShape, VerifyVariant, check_workgroup_size};
use crate::gpu::{GpuContext, GpuTimings, cache, shaders};

/// Name of `verify.wgsl`'s override that makes the shader read [1..8]B from the
/// base-point table buffer (binding 4) instead of computing it (see
/// [`pipeline_constants`]).
pub const BASEPOINT_TABLE_CONSTANT: &str = "BASEPOINT_TABLE";

/// Words of one point in the base-point table: X, Y, Z, T, 20 limbs each (the layout of
/// `EdwardsPoint` in the shaders).
pub const POINT_WORDS: usize = 80;

/// [1..8]B in the shaders' extended coordinates of 13-bit limbs: entry 0 is B and entry
/// j is entry j − 1 plus B by the twin's point addition, exactly the points the shader
/// computes when it has no table (so a table changes no limb of any result).
pub fn basepoint_table() -> [twin::curve::EdwardsPoint; 8] {
    let mut regs = twin::field::FieldRegs::new();
    let mut table = [twin::curve::BASEPOINT; 8];
    for j in 1..8 {
        table[j] = twin::curve::point_add(&mut regs, table[j - 1], twin::curve::BASEPOINT);
    }
    table
}

/// [`basepoint_table`] as the words of the storage buffer the shader reads
/// (`array<EdwardsPoint, 8>`).
pub fn basepoint_table_words() -> Vec<u32> {
    basepoint_table()
        .iter()
        .flat_map(|p| [p.x, p.y, p.z, p.t])
        .flat_map(|f| f.0)
        .collect()
}

/// The module a shape compiles.
pub fn module_of(shape: VerifyShape) -> &'static shaders::ShaderModule {
    match shape {
        VerifyShape::Register => &shaders::VERIFY,
        VerifyShape::StraightLine => &shaders::VERIFY_STRAIGHT,
    }
}

/// The override values a variant's pipeline is built with (`verify.wgsl` declares both
/// with the default variant's values).
pub fn pipeline_constants(variant: &VerifyVariant) -> [(&'static str, f64); 2] {
    [
        (WORKGROUP_SIZE_CONSTANT, f64::from(variant.workgroup_size)),
        (
            BASEPOINT_TABLE_CONSTANT,
            if variant.basepoint_table { 1.0 } else { 0.0 },
        ),
    ]
}

fn words_le(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks(4).map(|c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(w)
    })
}

/// Packs signatures into descriptors and one word buffer (the layout `verify.wgsl` reads).
/// Fails when a message is too long for a 32-bit length or offset.
pub fn pack(items: &[SigCheck<'_>]) -> Result<(Vec<ItemDesc>, Vec<u32>)> {
    let total: usize = items.iter().map(|it| record_words(it.message.len())).sum();
    let mut descs = Vec::with_capacity(items.len());
    let mut data = Vec::with_capacity(total);
    for (i, it) in items.iter().enumerate() {
        let too_big = || {
            Error::InvalidArgument(format!(
                "signature {i}: message of {} bytes does not fit a 32-bit GPU offset",
                it.message.len()
            ))
        };
        let offset_words = u32::try_from(data.len()).map_err(|_| too_big())?;
        let message_len = u32::try_from(it.message.len())
            .ok()
            .filter(|len| *len <= u32::MAX - 64)
            .ok_or_else(too_big)?;
        descs.push(ItemDesc {
            offset_words,
            message_len,
        });
        data.extend(words_le(&it.signature[32..]));
        data.extend(words_le(&it.signature[..32]));
        data.extend(words_le(&it.public_key));
        data.extend(words_le(it.message));
    }
    Ok((descs, data))
}

/// Buffers kept between calls and grown when a chunk needs more room.
#[derive(Debug)]
struct VerifyBuffers {
    params: GrowBuffer,
    items: GrowBuffer,
    data: GrowBuffer,
    results: GrowBuffer,
    readback: Readback,
    timer: Option<PassTimer>,
}

impl VerifyBuffers {
    /// Drops every buffer, so that one left invalid by an error is never reused.
    fn clear(&mut self) {
        clear_all([
            &mut self.params,
            &mut self.items,
            &mut self.data,
            &mut self.results,
        ]);
        self.readback = Readback::default();
    }
}

/// Ed25519 verification on a GPU, agreeing with [`super::cpu`] on every input, in one
/// [`VerifyVariant`].
pub struct GpuVerifier {
    variant: VerifyVariant,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    /// [`basepoint_table_words`], bound at binding 4 (read only when the variant asks).
    table: wgpu::Buffer,
    compile_time: Duration,
    limits: BatchLimits,
    buffers: Mutex<VerifyBuffers>,
}

impl std::fmt::Debug for GpuVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuVerifier")
            .field("variant", &self.variant)
            .field("compile_time", &self.compile_time)
            .finish_non_exhaustive()
    }
}

/// Longest message the verifier accepts on Mesa's llvmpipe (lavapipe). llvmpipe stops every
/// loop of a shader invocation once 65535 loop iterations have run in that invocation
/// (Mesa 22.3's `LP_MAX_TGSI_LOOP_ITERATIONS`), silently, so longer messages — about 100
/// loop iterations per 128-byte SHA-512 block — would give wrong answers there. Longer
/// messages are refused with an [`Error::Gpu`] of kind [`GpuErrorKind::LimitExceeded`] on that adapter, so a caller falls
/// back to the CPU; other adapters have no such limit.
pub const LLVMPIPE_MAX_MESSAGE_LEN: usize = 16 * 1024;

/// The message length limit of an adapter, if it has one.
fn message_len_limit(ctx: &GpuContext) -> Option<usize> {
    ctx.adapter
        .name
        .to_lowercase()
        .contains("llvmpipe")
        .then_some(LLVMPIPE_MAX_MESSAGE_LEN)
}

/// Chunks of a batch that each fit the adapter's limits with `workgroup_size` invocations
/// per workgroup: (first item, item count).
fn plan_chunks(
    items: &[SigCheck<'_>],
    limits: &wgpu::Limits,
    workgroup_size: u32,
) -> Result<Vec<(usize, usize)>> {
    let max_binding = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let max_items = (limits.max_compute_workgroups_per_dimension as usize)
        .saturating_mul(workgroup_size as usize)
        .min(MAX_ITEMS_PER_DISPATCH)
        // Descriptor buffer (8 bytes per item) must fit a binding as well.
        .min(usize::try_from(max_binding / 8).unwrap_or(usize::MAX))
        .max(1);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (i, it) in items.iter().enumerate() {
        let need = 4 * record_words(it.message.len()) as u64;
        if need > max_binding {
            return Err(Error::gpu(
                "verify",
                GpuErrorKind::LimitExceeded,
                format!(
                    "signature {i}: message of {} bytes exceeds the adapter's storage binding \
                     limit of {max_binding} bytes",
                    it.message.len()
                ),
            ));
        }
        if i > start && (bytes + need > max_binding || i - start >= max_items) {
            chunks.push((start, i - start));
            start = i;
            bytes = 0;
        }
        bytes += need;
    }
    if start < items.len() {
        chunks.push((start, items.len() - start));
    }
    Ok(chunks)
}

impl GpuVerifier {
    /// Compiles the verifier pipeline of `variant` on `ctx`'s device, with no disk cache
    /// (see [`GpuVerifier::with_pipeline_cache_dir`]). `VerifyVariant::default()` is the
    /// verifier txwave has always run.
    pub fn new(ctx: &GpuContext, variant: VerifyVariant) -> Result<Self> {
        Self::with_pipeline_cache_dir(ctx, variant, None)
    }

    /// Compiles the verifier pipeline. With `cache_dir` and a device with
    /// `Features::PIPELINE_CACHE` (Vulkan), the driver's compiled pipeline is loaded from
    /// and saved to a file there, so later processes skip most of the compile. A missing,
    /// unreadable or corrupt cache file only costs a full compile; failing to save is
    /// ignored. `None` compiles without a persistent cache. Fails with
    /// [`Error::InvalidArgument`] when the variant's workgroup size is not a power of two
    /// up to 1024 or exceeds the adapter's limits.
    pub fn with_pipeline_cache_dir(
        ctx: &GpuContext,
        variant: VerifyVariant,
        cache_dir: Option<&Path>,
    ) -> Result<Self> {
        check_workgroup_size(variant.workgroup_size)?;
        let max = ctx
            .limits
            .max_compute_invocations_per_workgroup
            .min(ctx.limits.max_compute_workgroup_size_x);
        if variant.workgroup_size > max {
            return Err(Error::InvalidArgument(format!(
                "verifier workgroup size {} exceeds this adapter's limit of {max} invocations",
                variant.workgroup_size
            )));
        }
        let started = Instant::now();
        let module = module_of(variant.shape);
        let constants = pipeline_constants(&variant);
        let cache_file = cache_dir
            .filter(|_| {
                ctx.device
                    .features()
                    .contains(wgpu::Features::PIPELINE_CACHE)
            })
            .map(|dir| dir.join(cache::cache_file_name(ctx, module, &constants)));
        let pipeline_cache = cache_file.as_ref().and_then(|file| {
            let data = cache::read_cache_file(file);
            ctx.scoped("verify pipeline cache", || {
                // SAFETY: `data` is only ever bytes that `PipelineCache::get_data` returned
                // for this adapter kind (written by `write_cache_file` below), checked
                // against the BLAKE3 digest stored with them, so a truncated or damaged
                // file is never handed to the driver; wgpu and the driver also check the
                // cache header against the device. A file planted in the user's own cache
                // directory is outside what this can defend against.
                unsafe {
                    ctx.device
                        .create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                            label: Some(module.name),
                            data: data.as_deref(),
                            fallback: true,
                        })
                }
            })
            .ok()
        });
        let source = module.source();
        // An explicit layout: the table binding is part of it whatever the variant, so one
        // bind group shape fits every pipeline (an automatic layout holds only the bindings
        // the compiled code uses).
        let (pipeline, layout) = ctx.scoped("verify compile", || {
            use wgpu::BufferBindingType::{Storage, Uniform};
            let layout = ctx
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some("verify"),
                    entries: &[
                        layout_entry(0, Uniform, false),
                        layout_entry(1, Storage { read_only: true }, false),
                        layout_entry(2, Storage { read_only: true }, false),
                        layout_entry(3, Storage { read_only: false }, false),
                        layout_entry(4, Storage { read_only: true }, false),
                    ],
                });
            let pipeline_layout =
                ctx.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some("verify"),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let shader = ctx
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(module.name),
                    source: wgpu::ShaderSource::Wgsl(source.as_str().into()),
                });
            let pipeline = ctx
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(module.name),
                    layout: Some(&pipeline_layout),
                    module: &shader,
                    entry_point: Some("verify_main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: pipeline_cache.as_ref(),
                });
            (pipeline, layout)
        })?;
        // Pipeline creation may be deferred by the driver until first use; a wait makes
        // the recorded compile time include it.
        ctx.wait("verify compile")?;
        let compile_time = started.elapsed();
        if let (Some(file), Some(data)) = (
            &cache_file,
            pipeline_cache.as_ref().and_then(|c| c.get_data()),
        ) {
            cache::write_cache_file(file, &data);
        }
        let timer = ctx.scoped("verify timer", || PassTimer::new(ctx))?;
        let table = ctx.scoped("verify base-point table", || {
            use wgpu::util::DeviceExt;
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("verify base-point table"),
                    contents: bytemuck::cast_slice(&basepoint_table_words()),
                    usage: wgpu::BufferUsages::STORAGE,
                })
        })?;
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        Ok(Self {
            variant,
            pipeline,
            layout,
            table,
            compile_time,
            limits: BatchLimits::of(ctx),
            buffers: Mutex::new(VerifyBuffers {
                params: GrowBuffer::new(
                    "verify params",
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                ),
                items: GrowBuffer::new("verify items", storage),
                data: GrowBuffer::new("verify data", storage),
                results: GrowBuffer::new(
                    "verify results",
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                readback: Readback::default(),
                timer,
            }),
        })
    }

    /// Wall time `new` took to build the pipeline (drivers that finish compiling in the
    /// first dispatch, as lavapipe does, spend more there).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The variant this verifier was compiled for.
    pub fn variant(&self) -> VerifyVariant {
        self.variant
    }

    fn lock(&self) -> MutexGuard<'_, VerifyBuffers> {
        // A panic mid-call may have left buffers half-written: drop them.
        self.buffers.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.clear();
            g
        })
    }

    /// Verifies every signature; `out[i]` is exactly what the CPU oracle of `rule` says
    /// about `items[i]` (ed25519-dalek `verify_strict` or ed25519-zebra).
    pub fn verify(
        &self,
        ctx: &GpuContext,
        items: &[SigCheck<'_>],
        rule: VerifyRule,
    ) -> Result<(Vec<bool>, GpuTimings)> {
        let mut out = Vec::with_capacity(items.len());
        let mut timings = GpuTimings::default();
        if items.is_empty() {
            return Ok((out, timings));
        }
        if let Some(limit) = message_len_limit(ctx)
            && let Some(i) = items.iter().position(|it| it.message.len() > limit)
        {
            return Err(Error::gpu(
                "verify",
                GpuErrorKind::LimitExceeded,
                format!(
                    "signature {i}: message of {} bytes exceeds the {limit}-byte limit of \
                     {} (llvmpipe stops shader loops after 65535 iterations)",
                    items[i].message.len(),
                    ctx.adapter.name
                ),
            ));
        }
        let chunks = plan_chunks(items, &ctx.limits, self.variant.workgroup_size)?;
        for (start, count) in chunks {
            let (descs, data) = pack(&items[start..start + count])?;
            // The buffers are locked per chunk (one submission and its readback), packed
            // outside the lock, so concurrent callers take turns per submission.
            let mut guard = self.lock();
            match self.run_chunk(ctx, &mut guard, rule, &descs, &data) {
                Ok((results, t)) => {
                    out.extend(results.into_iter().map(|r| r == 1));
                    timings.add(&t);
                }
                Err(e) => {
                    guard.clear();
                    return Err(e);
                }
            }
        }
        Ok((out, timings))
    }

    fn run_chunk(
        &self,
        ctx: &GpuContext,
        bufs: &mut VerifyBuffers,
        rule: VerifyRule,
        descs: &[ItemDesc],
        data: &[u32],
    ) -> Result<(Vec<u32>, GpuTimings)> {
        let count = descs.len();
        let results_bytes = 4 * count as u64;
        let cap = self.limits.max_binding_bytes;
        let mut timings = GpuTimings::default();

        let t0 = Instant::now();
        let params = VerifyParams {
            count: count as u32,
            rule: rule_code(rule),
            pad0: 0,
            pad1: 0,
        };
        let (dev, queue) = (&ctx.device, &ctx.queue);
        ctx.scoped("verify upload", || {
            let p = bufs
                .params
                .ensure(dev, std::mem::size_of::<VerifyParams>() as u64, cap);
            queue.write_buffer(p, 0, bytemuck::bytes_of(&params));
            let i = bufs
                .items
                .ensure(dev, std::mem::size_of_val(descs) as u64, cap);
            queue.write_buffer(i, 0, bytemuck::cast_slice(descs));
            let d = bufs
                .data
                .ensure(dev, std::mem::size_of_val(data) as u64, cap);
            queue.write_buffer(d, 0, bytemuck::cast_slice(data));
            bufs.results.ensure(dev, results_bytes, cap);
        })?;
        timings.upload_ns = elapsed_ns(t0);

        let t1 = Instant::now();
        let stage = "verify dispatch";
        let workgroups = (count as u32).div_ceil(self.variant.workgroup_size);
        let results = allocated(stage, &bufs.results)?;
        let bind_group = ctx.scoped(stage, || -> Result<wgpu::BindGroup> {
            Ok(dev.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("verify"),
                layout: &self.layout,
                entries: &[
                    entry(0, allocated(stage, &bufs.params)?),
                    entry(1, allocated(stage, &bufs.items)?),
                    entry(2, allocated(stage, &bufs.data)?),
                    entry(3, results),
                    entry(4, &self.table),
                ],
            }))
        })??;
        ctx.scoped(stage, || {
            let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("verify"),
            });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("verify"),
                    timestamp_writes: bufs.timer.as_ref().map(PassTimer::writes),
                });
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(workgroups, 1, 1);
            }
            if let Some(t) = &bufs.timer {
                t.resolve(&mut enc);
            }
            queue.submit([enc.finish()]);
        })?;
        ctx.wait(stage)?;
        timings.dispatch_ns = elapsed_ns(t1);

        let timers: Vec<&PassTimer> = bufs.timer.iter().collect();
        let (bytes, pass_ns) = bufs.readback.read(
            ctx,
            "verify readback",
            results,
            results_bytes,
            &timers,
            &mut timings.readback_ns,
        )?;
        add_pass(&mut timings, pass_ns);
        Ok((bytemuck::pod_collect_to_vec(&bytes), timings))
    }
}

#[cfg(test)]
#[path = "gpu_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "gpu_parity_tests.rs"]
mod parity_tests;
