//! Checkpoints of `txwave run`: state snapshots (docs/FORMATS.md) written atomically into
//! a directory, named by height, the newest few kept; `--resume` loads the newest valid
//! one.
//!
//! A checkpoint is `checkpoint-<height, 20 digits>.state`. It is written as
//! `.checkpoint-<height>.state.tmp`, flushed to disk (fsync), renamed to its name and the
//! directory synced, so a file with a checkpoint name is whole; a process killed midway
//! leaves only a temporary file, which is never loaded (and is removed by the next
//! checkpoint write). A checkpoint is loaded only when its checksum holds and its height
//! is the one in its name; damaged ones are passed over for the next older.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use txwave::State;

const PREFIX: &str = "checkpoint-";
const SUFFIX: &str = ".state";

/// The file name of the checkpoint at `height`.
pub fn file_name(height: u64) -> String {
    format!("{PREFIX}{height:020}{SUFFIX}")
}

/// The height a checkpoint file name stands for, if it is one.
fn height_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Checkpoints in `dir` (by name), oldest first.
pub fn list(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if let Some(h) = entry.file_name().to_str().and_then(height_of) {
            out.push((h, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the checkpoint of `state` into `dir` atomically and keeps the newest `keep`
/// checkpoints (removing older ones and leftover temporary files). Returns its path.
pub fn write(dir: &Path, state: &State, keep: usize) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let height = state.height();
    let path = dir.join(file_name(height));
    let tmp = dir.join(format!(".{}.tmp", file_name(height)));
    let bytes = state.to_snapshot();
    let write_tmp = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()
    };
    write_tmp().with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let all = list(dir)?;
    let old = all.len().saturating_sub(keep.max(1));
    for (_, p) in &all[..old] {
        std::fs::remove_file(p).with_context(|| format!("cannot remove {}", p.display()))?;
    }
    // Temporary files of killed runs.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&format!(".{PREFIX}")) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(path)
}

/// A checkpoint found by [`newest`]: its path and state.
pub type Found = Option<(PathBuf, State)>;

/// The newest valid checkpoint in `dir` and its state, with a line for each newer one
/// that was passed over (damaged, or its height not the one in its name).
pub fn newest(dir: &Path) -> anyhow::Result<(Found, Vec<String>)> {
    let mut skipped = Vec::new();
    for (height, path) in list(dir)?.into_iter().rev() {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                skipped.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        match State::from_snapshot(&bytes) {
            Ok(state) if state.height() == height => return Ok((Some((path, state)), skipped)),
            Ok(state) => skipped.push(format!(
                "{}: holds height {}, not the {height} of its name",
                path.display(),
                state.height()
            )),
            Err(e) => skipped.push(format!("{}: {e}", path.display())),
        }
    }
    Ok((None, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_height_and_parse_back() {
        assert_eq!(file_name(42), "checkpoint-00000000000000000042.state");
        assert_eq!(height_of(&file_name(u64::MAX)), Some(u64::MAX));
        assert!(file_name(9) < file_name(10));
        assert_eq!(
            height_of(".checkpoint-00000000000000000042.state.tmp"),
            None
        );
        assert_eq!(height_of("checkpoint-42.state"), None);
        // The largest name a height can have, and one digit-string of the same length
        // past u64::MAX: passed over, never wrapped.
        assert_eq!(
            height_of("checkpoint-18446744073709551615.state"),
            Some(u64::MAX)
        );
        assert_eq!(height_of("checkpoint-18446744073709551616.state"), None);
        assert_eq!(height_of("checkpoint-99999999999999999999.state"), None);
        assert_eq!(height_of("checkpoint-000000000000000000042.state"), None);
    }
}
