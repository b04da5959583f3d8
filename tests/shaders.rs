//! Every WGSL module the crate compiles validates under naga with no optional
//! capabilities (core WGSL: no 64-bit integers, no subgroups), and every file in
//! `shaders/` is either part of a compiled module or at least valid on its own. Needs no GPU.
//!
//! Each GPU stage lists its composed modules in its `wgsl_modules()`; add new stages to
//! `compiled_modules` below.

use std::path::{Path, PathBuf};

fn compiled_modules() -> Vec<(&'static str, String)> {
    let mut modules = txwave::hash::gpu::wgsl_modules();
    modules.extend(txwave::commit::gpu::wgsl_modules());
    modules.extend(txwave::commit::leaves::wgsl_modules());
    modules.extend(txwave::verify::gpu::wgsl_modules());
    modules.extend(txwave::exec::gpu::wgsl_modules());
    modules.extend(txwave::exec::gpu_resolve::wgsl_modules());
    modules
}

fn validate(name: &str, source: &str) -> Result<naga::valid::ModuleInfo, String> {
    let module = naga::front::wgsl::parse_str(source)
        .map_err(|e| format!("{name}: parse error:\n{}", e.emit_to_string(source)))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .map_err(|e| format!("{name}: validation error: {e:?}"))
}

fn shader_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_compiled_module_validates_as_core_wgsl() {
    let modules = compiled_modules();
    assert!(!modules.is_empty());
    let errors: Vec<String> = modules
        .iter()
        .filter_map(|(name, source)| validate(name, source).err())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

#[test]
fn every_shader_file_is_compiled_and_self_contained_files_validate() {
    let modules = compiled_modules();
    let files = shader_files();
    assert!(!files.is_empty(), "no shaders found");
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("shader file is UTF-8");
        let name = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        if !modules.iter().any(|(_, source)| source.contains(&text)) {
            problems.push(format!("{name} is in no module the crate compiles"));
        }
        // A file that parses alone (a shared piece with no outside references, or a whole
        // stage) must also validate alone; pieces that refer to others are checked only
        // as part of their composed module above.
        if naga::front::wgsl::parse_str(&text).is_ok()
            && let Err(e) = validate(&name, &text)
        {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn shared_compression_piece_stands_alone() {
    // blake3_compress.wgsl is included by both stages, so it must not depend on either.
    validate(
        "blake3_compress.wgsl",
        txwave::hash::gpu::BLAKE3_COMPRESS_WGSL,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn shared_u64_piece_stands_alone() {
    // u64.wgsl is composed in front of exec.wgsl and exec_probe.wgsl.
    validate("u64.wgsl", txwave::exec::gpu::U64_WGSL).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn modules_expose_the_entry_points_the_runtime_asks_for() {
    let entry_points = |source: &str| -> Vec<String> {
        naga::front::wgsl::parse_str(source)
            .expect("validated above")
            .entry_points
            .iter()
            .map(|e| e.name.clone())
            .collect()
    };
    let modules = compiled_modules();
    let find = |name: &str| {
        &modules
            .iter()
            .find(|(n, _)| *n == name)
            .expect("module listed")
            .1
    };
    assert_eq!(
        entry_points(find("hash")),
        ["hash_chunks", "reduce_chunk_trees"]
    );
    assert_eq!(entry_points(find("merkle")), ["merkle_level"]);
    assert_eq!(
        entry_points(find("exec")),
        ["exec_segment", "gather_changed"]
    );
    assert_eq!(entry_points(find("exec_probe")), ["swap_out_probe"]);
}
