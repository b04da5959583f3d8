//! The command line's reading of the environment: the library reads none, so every
//! variable and default path txwave honours is resolved here and handed to it.
//!
//! | variable | meaning |
//! |---|---|
//! | `TXWAVE_ADAPTER` | adapter name substring, when `--adapter` is not given |
//! | `WGPU_BACKEND` | wgpu backends to look for adapters on (`vulkan`, `metal`, `dx12`) |
//! | `TXWAVE_CALIBRATION` | calibration file, when neither `--calibration` nor `--no-calibration` is given |
//! | `XDG_CONFIG_HOME`, `HOME` | `…/txwave/calibration.json`, used when it exists and nothing else names one |
//! | `TXWAVE_PIPELINE_CACHE_DIR`, `XDG_CACHE_HOME`, `HOME` | where the GPU verifier keeps its pipeline cache (`…/txwave`) |

use std::path::{Path, PathBuf};

/// Environment variable that selects an adapter by a substring of its name.
pub const ADAPTER_ENV: &str = "TXWAVE_ADAPTER";
/// Environment variable naming a calibration file.
pub const CALIBRATION_ENV: &str = "TXWAVE_CALIBRATION";
/// Environment variable naming the directory for pipeline caches.
pub const PIPELINE_CACHE_DIR_ENV: &str = "TXWAVE_PIPELINE_CACHE_DIR";
/// wgpu's own variable narrowing the backends.
pub const WGPU_BACKEND_ENV: &str = "WGPU_BACKEND";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn var_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The wgpu backend list from `WGPU_BACKEND`, if set.
pub fn wgpu_backends() -> Option<String> {
    var(WGPU_BACKEND_ENV)
}

/// `--adapter`, else `TXWAVE_ADAPTER`.
pub fn adapter(arg: Option<&str>) -> Option<String> {
    arg.map(str::to_string).or_else(|| var(ADAPTER_ENV))
}

/// Where `txwave calibrate` writes and `run`/`bench` look for a calibration when none is
/// named: `$XDG_CONFIG_HOME/txwave/calibration.json`, else
/// `$HOME/.config/txwave/calibration.json`.
pub fn default_calibration_path() -> Option<PathBuf> {
    var_path("XDG_CONFIG_HOME")
        .or_else(|| var_path("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("txwave").join("calibration.json"))
}

/// The calibration file from `--calibration` / `--no-calibration`: the named file, none,
/// or `TXWAVE_CALIBRATION`, else the default path when that file exists.
pub fn calibration(file: Option<&Path>, off: bool) -> Option<PathBuf> {
    if off {
        return None;
    }
    file.map(Path::to_path_buf)
        .or_else(|| var_path(CALIBRATION_ENV))
        .or_else(|| default_calibration_path().filter(|p| p.exists()))
}

/// The default placement with the calibration of [`calibration`].
pub fn placement(file: Option<&Path>, off: bool) -> txwave::Placement {
    txwave::Placement {
        calibration: calibration(file, off),
        ..Default::default()
    }
}

/// `$TXWAVE_PIPELINE_CACHE_DIR`, else `$XDG_CACHE_HOME/txwave`, else
/// `$HOME/.cache/txwave`.
pub fn pipeline_cache_dir() -> Option<PathBuf> {
    var_path(PIPELINE_CACHE_DIR_ENV)
        .or_else(|| var_path("XDG_CACHE_HOME").map(|d| d.join("txwave")))
        .or_else(|| var_path("HOME").map(|d| d.join(".cache").join("txwave")))
}

/// `config` with what the environment adds: the adapter (when the config names none),
/// the wgpu backends and the pipeline-cache directory.
pub fn engine_config(mut config: txwave::EngineConfig) -> txwave::EngineConfig {
    config.adapter = adapter(config.adapter.as_deref());
    config.wgpu_backends = wgpu_backends();
    config.pipeline_cache_dir = pipeline_cache_dir();
    config
}
