//! Probing adapters writes nothing on stderr that txwave did not write (docs/SPEC.md, GPU
//! rules). The environment is the one that provoked window-system noise before: no
//! `XDG_RUNTIME_DIR` (no desktop session), Mesa's device-select layer not switched off by
//! the user. Every line txwave writes on stderr starts with `txwave` (errors are
//! `txwave: …`; the progress bar shows only on a terminal).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

/// Runs the binary as a user without a desktop session would and returns its stderr lines
/// that txwave did not write.
fn foreign_stderr_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MESA_VK_DEVICE_SELECT")
        .output()
        .expect("run txwave");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("txwave"))
        .map(str::to_string)
        .collect()
}

fn dataset(file: &str) -> String {
    Path::new("datasets/defi-small")
        .join(file)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn devices_writes_only_its_own_lines() {
    let foreign = foreign_stderr_lines(&["devices"]);
    assert!(
        foreign.is_empty(),
        "stderr lines txwave did not write: {foreign:?}"
    );
}

#[test]
fn run_on_every_backend_writes_only_its_own_lines() {
    // `gpu` fails with a txwave error where no adapter exists; that line is txwave's own.
    for backend in ["auto", "cpu", "gpu"] {
        let foreign = foreign_stderr_lines(&[
            "run",
            &dataset("genesis.json"),
            &dataset("blocks.blk"),
            "--backend",
            backend,
        ]);
        assert!(
            foreign.is_empty(),
            "--backend {backend}: stderr lines txwave did not write: {foreign:?}"
        );
    }
}
