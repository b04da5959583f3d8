//! Every WGSL module the crate compiles validates under naga with no optional
//! capabilities (core WGSL: no 64-bit integers, no subgroups), and every file in
//! `shaders/` is either part of a compiled module or at least valid on its own. Needs no GPU.
//!
//! The modules are the shader table's (`txwave::internal::gpu::shaders::SHADERS`), the one list
//! every stage constructor also reads.

use std::path::{Path, PathBuf};

use txwave::internal::gpu::shaders::{self, SHADERS};

fn compiled_modules() -> Vec<(&'static str, String)> {
    SHADERS.iter().map(|m| (m.name, m.source())).collect()
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

/// Every `.wgsl` file under `shaders/`, in every folder.
fn shader_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "wgsl") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders"),
        &mut files,
    );
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
    validate(shaders::BLAKE3_COMPRESS.path, shaders::BLAKE3_COMPRESS.text)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn shared_u64_piece_stands_alone() {
    // u64.wgsl is composed in front of exec.wgsl and exec_probe.wgsl.
    validate(shaders::U64.path, shaders::U64.text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn modules_expose_the_entry_points_the_table_lists() {
    // Constructors ask for the table's entry points by name; the table must match the
    // source, in order.
    for m in SHADERS {
        let source = m.source();
        let found: Vec<String> = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", m.name, e.emit_to_string(&source)))
            .entry_points
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(found, m.entry_points, "{}", m.name);
    }
    let names: Vec<&str> = SHADERS.iter().map(|m| m.name).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "module names repeat: {names:?}");
}

#[test]
fn every_piece_path_names_its_file() {
    for m in SHADERS {
        for p in m.pieces {
            let on_disk =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p.path))
                    .unwrap_or_else(|e| panic!("{}: {e}", p.path));
            assert_eq!(on_disk, p.text, "{} is stale in the binary", p.path);
        }
    }
}
