//! GPU runtime shared by every GPU stage: adapter choice, device, pipelines, buffers.
//!
//! Every GPU stage (`hash/gpu.rs`, `verify/gpu.rs`, `exec/gpu.rs`, `commit/gpu.rs`) takes a
//! [`GpuContext`]. Errors reported by wgpu (validation, out of memory, device loss, failed
//! maps) become [`Error::Gpu`] values; nothing here panics on a GPU failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, GpuErrorKind, Result};

pub mod cache;
pub mod pass;
pub mod pool;
pub mod resident;
pub mod shaders;
pub mod tunables;

/// Wall-clock and device time of one GPU call, split by phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GpuTimings {
    /// Host → device transfers (buffer writes) in nanoseconds of wall time.
    pub upload_ns: u64,
    /// Encoding, submitting and waiting for the compute passes, in wall nanoseconds.
    pub dispatch_ns: u64,
    /// Device → host copies and maps, in wall nanoseconds.
    pub readback_ns: u64,
    /// Time the passes took on the device by timestamp queries, where the adapter has them.
    pub gpu_pass_ns: Option<u64>,
}

impl GpuTimings {
    /// Adds another call's timings to these.
    pub fn add(&mut self, other: &GpuTimings) {
        self.upload_ns += other.upload_ns;
        self.dispatch_ns += other.dispatch_ns;
        self.readback_ns += other.readback_ns;
        self.gpu_pass_ns = match (self.gpu_pass_ns, other.gpu_pass_ns) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

/// The limits txwave asks for: WebGPU's downlevel defaults, raised to the adapter's own
/// values only for what compute batching needs (buffer and binding sizes, workgroup counts
/// and sizes, storage buffers per stage, immediates). Everything else stays at the
/// portable default, so a shader that needs more fails validation everywhere alike.
pub fn needed_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    wgpu::Limits {
        max_storage_buffer_binding_size: adapter.max_storage_buffer_binding_size,
        max_buffer_size: adapter.max_buffer_size,
        max_compute_workgroups_per_dimension: adapter.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: adapter.max_compute_invocations_per_workgroup,
        max_compute_workgroup_size_x: adapter.max_compute_workgroup_size_x,
        max_compute_workgroup_size_y: adapter.max_compute_workgroup_size_y,
        max_compute_workgroup_size_z: adapter.max_compute_workgroup_size_z,
        max_compute_workgroup_storage_size: adapter.max_compute_workgroup_storage_size,
        max_storage_buffers_per_shader_stage: adapter.max_storage_buffers_per_shader_stage,
        max_bindings_per_bind_group: adapter.max_bindings_per_bind_group,
        max_immediate_size: adapter.max_immediate_size,
        ..wgpu::Limits::downlevel_defaults()
    }
}

/// What `txwave devices` prints about one adapter.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterReport {
    /// Adapter name as the driver reports it.
    pub name: String,
    /// Graphics API backend (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Largest storage buffer binding in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer in bytes.
    pub max_buffer_size: u64,
    /// Largest workgroup count per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Largest invocation count per workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Whether timestamp queries are available.
    pub timestamp_query: bool,
    /// Whether the adapter can run compute shaders at all.
    pub compute: bool,
}

fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// The wgpu backends txwave enumerates adapters from: Vulkan, Metal and DX12
/// (`wgpu::Backends::PRIMARY`), narrowed by `asked` (a comma list in `WGPU_BACKEND`'s
/// syntax, e.g. `"vulkan"`, which the caller reads from wherever it likes: the library
/// reads no environment). wgpu's GL backend is never used (docs/SPEC.md, GPU rules): its
/// context lock deadlocks under concurrent compute, it offers no hardware the others lack,
/// and initialising it probes the window system (EGL, Wayland), which writes lines such as
/// "XDG_RUNTIME_DIR is invalid or not set" on stderr. Leaving it out of the instance keeps
/// probing silent.
pub fn enabled_backends(asked: Option<&str>) -> wgpu::Backends {
    let primary = wgpu::Backends::PRIMARY;
    match asked.filter(|a| !a.is_empty()) {
        Some(asked) => wgpu::Backends::from_comma_list(asked) & primary,
        None => primary,
    }
}

fn new_instance(backends: wgpu::Backends) -> wgpu::Instance {
    // Not `…_from_env`: every setting comes from the caller.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// Why no adapter was found and how to get one, for `txwave devices` and error messages;
/// `asked` is the backend list the adapters were narrowed to, if any.
pub fn no_adapter_help(asked: Option<&str>) -> String {
    let mut text = String::from(
        "txwave looks for adapters on wgpu's Vulkan, Metal and DX12 backends only (not GL)",
    );
    if let Some(asked) = &asked {
        text.push_str(&format!(
            ", narrowed by WGPU_BACKEND={asked:?} to {:?}",
            enabled_backends(Some(asked))
        ));
        if enabled_backends(Some(asked)).is_empty() {
            text.push_str(" — none of them; unset WGPU_BACKEND or name vulkan, metal or dx12");
        }
    }
    text.push_str(
        ". On Linux, install the Vulkan driver of your GPU; without a GPU, Mesa's lavapipe is \
         a software Vulkan device (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers \
         libvulkan1`). If VK_ICD_FILENAMES or VK_DRIVER_FILES is set, check that it names \
         an installed driver. Without an adapter everything runs on the CPU.",
    );
    text
}

fn report(adapter: &wgpu::Adapter) -> AdapterReport {
    let info = adapter.get_info();
    let limits = adapter.limits();
    let caps = adapter.get_downlevel_capabilities();
    AdapterReport {
        name: info.name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_buffer_size: limits.max_buffer_size,
        max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        timestamp_query: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
        compute: caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS),
    }
}

/// Lists every adapter of the [`enabled_backends`] for `backends`, best first.
pub fn list_adapters(backends: Option<&str>) -> Vec<AdapterReport> {
    let backends = enabled_backends(backends);
    let instance = new_instance(backends);
    let mut adapters = pollster::block_on(instance.enumerate_adapters(backends));
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    adapters.iter().map(report).collect()
}

/// An open GPU device with the limits txwave asked for.
pub struct GpuContext {
    /// The wgpu device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// What the adapter says about itself.
    pub adapter: AdapterReport,
    /// Limits granted to the device (the adapter's own).
    pub limits: wgpu::Limits,
    /// Whether `TIMESTAMP_QUERY` was enabled on the device.
    pub timestamps: bool,
    lost: Arc<AtomicBool>,
    fault: AtomicBool,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter)
            .finish()
    }
}

impl GpuContext {
    /// Opens the best adapter: discrete, then integrated, then virtual, then CPU. A filter
    /// keeps only adapters whose name
    /// contains it, case-insensitively.
    pub fn new(filter: Option<&str>) -> Result<Self> {
        Self::open(filter, None)
    }

    /// [`GpuContext::new`] on the backends `backends` names ([`enabled_backends`]).
    pub fn open(filter: Option<&str>, backends: Option<&str>) -> Result<Self> {
        let filter = filter.filter(|f| !f.is_empty()).map(|f| f.to_lowercase());
        let enabled = enabled_backends(backends);
        let instance = new_instance(enabled);
        let mut adapters = pollster::block_on(instance.enumerate_adapters(enabled));
        let seen: Vec<String> = adapters
            .iter()
            .map(|a| format!("{} ({:?})", a.get_info().name, a.get_info().backend))
            .collect();
        adapters.retain(|a| {
            report(a).compute
                && filter
                    .as_ref()
                    .is_none_or(|f| a.get_info().name.to_lowercase().contains(f))
        });
        // Prefer the best device type.
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            Error::NoAdapter(match &filter {
                Some(f) => format!(
                    "no adapter name contains {f:?}; seen: [{}]",
                    seen.join(", ")
                ),
                None if seen.is_empty() => {
                    format!("no GPU adapter found: {}", no_adapter_help(backends))
                }
                None => format!("none of [{}] can run compute shaders", seen.join(", ")),
            })
        })?;
        let adapter_report = report(&adapter);
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        // Lets stages keep compiled pipelines between runs (Vulkan only).
        features |= adapter.features() & wgpu::Features::PIPELINE_CACHE;
        let limits = needed_limits(&adapter.limits());
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("txwave"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::gpu("request_device", GpuErrorKind::DeviceRequest, e.to_string()))?;
        let lost = Arc::new(AtomicBool::new(false));
        let lost_flag = lost.clone();
        device.set_device_lost_callback(move |_reason, _msg| {
            lost_flag.store(true, Ordering::SeqCst);
        });
        // Errors are captured with error scopes around each operation; anything that
        // escapes them must not abort the process.
        device.on_uncaptured_error(Arc::new(|_e: wgpu::Error| {}));
        Ok(Self {
            device,
            queue,
            adapter: adapter_report,
            limits,
            timestamps,
            lost,
            fault: AtomicBool::new(false),
        })
    }

    /// Whether the device has been lost; a lost device fails every later call.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Makes the next [`GpuContext::scoped`] call — so the next GPU operation of any stage —
    /// fail with [`Error::Gpu`] without touching the device, so that callers can test
    /// their CPU fallback on any adapter.
    #[doc(hidden)]
    pub fn inject_fault(&self) {
        self.fault.store(true, Ordering::SeqCst);
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns any error
    /// they catch, or a lost device, into [`Error::Gpu`].
    pub fn scoped<T>(&self, stage: &'static str, f: impl FnOnce() -> T) -> Result<T> {
        if self.fault.swap(false, Ordering::SeqCst) {
            return Err(Error::gpu(
                stage,
                GpuErrorKind::Injected,
                "injected fault (GpuContext::inject_fault)",
            ));
        }
        if self.is_lost() {
            return Err(Error::gpu(stage, GpuErrorKind::DeviceLost, "device lost"));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let caught = v
            .map(|e| (GpuErrorKind::Validation, e))
            .or(o.map(|e| (GpuErrorKind::OutOfMemory, e)));
        if let Some((kind, e)) = caught {
            // wgpu reports an allocation failure as an out-of-memory error.
            let kind = match e {
                wgpu::Error::OutOfMemory { .. } => GpuErrorKind::OutOfMemory,
                _ => kind,
            };
            return Err(Error::gpu(stage, kind, e.to_string()));
        }
        if self.is_lost() {
            return Err(Error::gpu(stage, GpuErrorKind::DeviceLost, "device lost"));
        }
        Ok(out)
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self, stage: &'static str) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::gpu(stage, GpuErrorKind::DeviceLost, e.to_string()))
    }
}

/// Environment variable that turns "no adapter, skip the GPU test" into a test failure.
pub const REQUIRE_GPU_ENV: &str = "TXWAVE_REQUIRE_GPU";

/// Opens a context for a test. With no adapter it prints why and returns `None`, so the
/// test can skip — unless `TXWAVE_REQUIRE_GPU=1`, where a missing GPU fails the test.
#[doc(hidden)]
pub fn test_context() -> Option<GpuContext> {
    match GpuContext::new(None) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            if std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_GPU_ENV}=1 but no GPU adapter opened: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_adapter_and_round_trips_a_buffer() {
        let Some(ctx) = test_context() else { return };
        let data: Vec<u8> = (0..=255u8).collect();
        let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 256,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&buf, 0, &data);
        assert_eq!(pool::read_once(&ctx, "test", &buf, 256).unwrap(), data);
    }
}
