//! The on-disk pipeline cache: where a stage keeps the driver's compiled pipeline between
//! processes (Vulkan's `VkPipelineCache`, behind `Features::PIPELINE_CACHE`), keyed by the
//! adapter, the driver, the module's name and source from the shader table and the
//! pipeline's override values. The verifier uses it: its modules take seconds to compile
//! on some drivers.

use std::path::Path;

use super::GpuContext;
use super::shaders::ShaderModule;

/// One file per adapter, driver, module source and set of override values (`constants`,
/// as given to the pipeline: each set of values is its own compiled pipeline).
pub fn cache_file_name(
    ctx: &GpuContext,
    module: &ShaderModule,
    constants: &[(&str, f64)],
) -> String {
    let a = &ctx.adapter;
    let mut key = format!("{}|{}|{}|{}", a.name, a.backend, a.driver, module.source());
    for (name, value) in constants {
        key += &format!("|{name}={value}");
    }
    let digest = blake3::hash(key.as_bytes()).to_hex();
    format!("{}-pipeline-{}.bin", module.name, &digest[..16])
}

/// The cached bytes, if the file holds a BLAKE3 digest followed by data matching it.
pub fn read_cache_file(file: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(file).ok()?;
    let (digest, data) = bytes.split_at_checked(32)?;
    (blake3::hash(data).as_bytes() == digest).then(|| data.to_vec())
}

/// Writes digest ‖ data through a temporary file and a rename, so a reader never sees a
/// half-written file. Errors are ignored: the cache is only an optimisation.
pub fn write_cache_file(file: &Path, data: &[u8]) {
    let Some(dir) = file.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut bytes = blake3::hash(data).as_bytes().to_vec();
    bytes.extend_from_slice(data);
    if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
