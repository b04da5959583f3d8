//! How every GPU stage builds and records its work: shader modules into pipelines, bind
//! group entries and layouts, and pass times into [`GpuTimings`]. Buffers, limits, timers
//! and readback are in [`super::pool`]; the shader table in [`super::shaders`].

use super::pool::GrowBuffer;
use super::shaders::ShaderModule;
use super::{GpuContext, GpuTimings};
use crate::error::{Error, GpuErrorKind, Result};

/// Compiles `source` once and builds one pipeline per entry point, with automatic layouts.
pub fn pipelines<const N: usize>(
    ctx: &GpuContext,
    label: &'static str,
    source: &str,
    entry_points: [&'static str; N],
) -> Result<[wgpu::ComputePipeline; N]> {
    pipelines_with(ctx, label, source, entry_points, &[])
}

/// Name of the pipeline-overridable constant every kernel takes its workgroup size from
/// (`override WORKGROUP_SIZE: u32 = 64u;` then `@workgroup_size(WORKGROUP_SIZE)`).
pub const WORKGROUP_SIZE_CONSTANT: &str = "WORKGROUP_SIZE";

/// As [`pipelines`], with the module's `WORKGROUP_SIZE` override set to `workgroup_size`
/// (see [`super::tunables`]).
pub fn pipelines_sized<const N: usize>(
    ctx: &GpuContext,
    label: &'static str,
    source: &str,
    entry_points: [&'static str; N],
    workgroup_size: u32,
) -> Result<[wgpu::ComputePipeline; N]> {
    super::tunables::check_workgroup_size(workgroup_size)?;
    pipelines_with(
        ctx,
        label,
        source,
        entry_points,
        &[(WORKGROUP_SIZE_CONSTANT, f64::from(workgroup_size))],
    )
}

/// As [`pipelines`], with values for the module's pipeline-overridable constants.
pub fn pipelines_with<const N: usize>(
    ctx: &GpuContext,
    label: &'static str,
    source: &str,
    entry_points: [&'static str; N],
    constants: &[(&str, f64)],
) -> Result<[wgpu::ComputePipeline; N]> {
    build_pipelines(ctx, label, source, entry_points, constants, None)
}

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

/// The buffer of a [`GrowBuffer`] that an earlier step of the same call allocated.
pub fn allocated<'a>(stage: &'static str, b: &'a GrowBuffer) -> Result<&'a wgpu::Buffer> {
    b.get().ok_or(Error::gpu(
        stage,
        GpuErrorKind::Internal,
        "buffer missing after allocation",
    ))
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

/// Adds one pass's device time to `t`.
pub fn add_pass(t: &mut GpuTimings, pass_ns: Option<u64>) {
    if let Some(ns) = pass_ns {
        t.gpu_pass_ns = Some(t.gpu_pass_ns.unwrap_or(0) + ns);
    }
}
