//! How every GPU stage builds and records its work: shader modules into pipelines, bind
//! groups and their entries and layouts, uploads ([`upload`]) and compute passes
//! ([`run_pass`], [`dispatch`]) in error scopes, and their wall and pass times into
//! [`GpuTimings`]. Buffers, limits, timers and readback are in [`super::pool`]; the
//! shader table in [`super::shaders`].

use std::time::Instant;

use super::pool::{PassTimer, elapsed_ns};
use super::shaders::ShaderModule;
use super::{GpuContext, GpuTimings};
use crate::error::Result;

/// Name of the pipeline-overridable constant every kernel takes its workgroup size from
/// (`override WORKGROUP_SIZE: u32 = 64u;` then `@workgroup_size(WORKGROUP_SIZE)`).
pub const WORKGROUP_SIZE_CONSTANT: &str = "WORKGROUP_SIZE";

/// The pipelines of `module`'s `entry_points` with its `WORKGROUP_SIZE` override set to
/// `workgroup_size`: with automatic layouts, or all with `layout` when given (a stage
/// whose bindings take dynamic offsets).
pub fn stage_pipelines<const N: usize>(
    ctx: &GpuContext,
    module: &ShaderModule,
    entry_points: [&'static str; N],
    workgroup_size: u32,
    layout: Option<&wgpu::PipelineLayout>,
) -> Result<[wgpu::ComputePipeline; N]> {
    super::tunables::check_workgroup_size(workgroup_size)?;
    build_pipelines(
        ctx,
        module.name,
        &module.source(),
        entry_points,
        &[(WORKGROUP_SIZE_CONSTANT, f64::from(workgroup_size))],
        layout,
    )
}

fn build_pipelines<const N: usize>(
    ctx: &GpuContext,
    label: &'static str,
    source: &str,
    entry_points: [&'static str; N],
    constants: &[(&str, f64)],
    layout: Option<&wgpu::PipelineLayout>,
) -> Result<[wgpu::ComputePipeline; N]> {
    ctx.scoped(label, || {
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        entry_points.map(|entry| {
            ctx.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout,
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants,
                        ..Default::default()
                    },
                    cache: None,
                })
        })
    })
}

/// A bind group layout entry for a compute-stage buffer binding.
pub fn layout_entry(
    binding: u32,
    ty: wgpu::BufferBindingType,
    dynamic: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A bind group entry for a whole buffer.
pub fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// A bind group entry for `size` bytes of `buffer` from `offset`: one uniform of several
/// kept in one buffer (at an offset fixed here, or added to a dynamic one at dispatch).
pub fn entry_range(
    binding: u32,
    buffer: &wgpu::Buffer,
    offset: u64,
    size: u64,
) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: wgpu::BufferSize::new(size),
        }),
    }
}

/// A bind group for group 0 of `pipeline`. Call inside the stage's error scope (in
/// [`run_pass`]'s `record`), so that a bad binding is an [`crate::Error::Gpu`].
pub fn bind_group(
    ctx: &GpuContext,
    label: &'static str,
    pipeline: &wgpu::ComputePipeline,
    entries: &[wgpu::BindGroupEntry<'_>],
) -> wgpu::BindGroup {
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &pipeline.get_bind_group_layout(0),
        entries,
    })
}

/// Records one dispatch of `pipeline` over `grid` (from [`super::pool::BatchLimits::grid`])
/// with `group` as group 0 at the dynamic `offsets`.
pub fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    offsets: &[u32],
    grid: [u32; 2],
) {
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, offsets);
    pass.dispatch_workgroups(grid[0], grid[1], 1);
}

/// [`bind_group`] of `entries` for `pipeline`, then one [`dispatch`] of it over `grid`.
pub fn bind_and_dispatch(
    ctx: &GpuContext,
    pass: &mut wgpu::ComputePass<'_>,
    label: &'static str,
    pipeline: &wgpu::ComputePipeline,
    entries: &[wgpu::BindGroupEntry<'_>],
    grid: [u32; 2],
) {
    let group = bind_group(ctx, label, pipeline, entries);
    dispatch(pass, pipeline, &group, &[], grid);
}

/// The upload phase of a stage call: runs `write` (buffer allocations and queue writes)
/// in `stage`'s error scope, starts the transfers and waits for them, and adds the wall
/// time to `t.upload_ns`.
pub fn upload<T>(
    ctx: &GpuContext,
    stage: &'static str,
    t: &mut GpuTimings,
    write: impl FnOnce(&wgpu::Device, &wgpu::Queue) -> T,
) -> Result<T> {
    let start = Instant::now();
    let out = ctx.scoped(stage, || {
        let out = write(&ctx.device, &ctx.queue);
        // Start the transfers now, so that their time is not counted as dispatch.
        ctx.queue.submit([]);
        out
    })?;
    ctx.wait(stage)?;
    t.upload_ns += elapsed_ns(start);
    Ok(out)
}

/// The dispatch phase of a stage call: one compute pass, timed by `timer` when the device
/// has one, that `record` fills (bind groups and [`dispatch`]es) in `stage`'s error scope;
/// then the submit and the wait for it, whose wall time is added to `t.dispatch_ns`.
pub fn run_pass(
    ctx: &GpuContext,
    stage: &'static str,
    timer: Option<&PassTimer>,
    t: &mut GpuTimings,
    record: impl FnOnce(&mut wgpu::ComputePass<'_>) -> Result<()>,
) -> Result<()> {
    let start = Instant::now();
    ctx.scoped(stage, || -> Result<()> {
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(stage) });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(stage),
                timestamp_writes: timer.map(PassTimer::writes),
            });
            record(&mut pass)?;
        }
        if let Some(timer) = timer {
            timer.resolve(&mut enc);
        }
        ctx.queue.submit([enc.finish()]);
        Ok(())
    })??;
    ctx.wait(stage)?;
    t.dispatch_ns += elapsed_ns(start);
    Ok(())
}
