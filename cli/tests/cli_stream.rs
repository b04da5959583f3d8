//! `txwave run` as a stream: checkpoints and `--resume`, refusing the wrong log, never
//! loading a half-written snapshot, Ctrl-C, truncated logs and `--keep-partial`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use txwave::internal::workload::{GenConfig, generate};

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

fn txwave(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run txwave")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A generated workload on disk: genesis.json, blocks.blk, and the byte offset where each
/// block starts.
struct Workload {
    genesis: PathBuf,
    log: PathBuf,
    bytes: Vec<u8>,
    starts: Vec<usize>,
    final_root: String,
}

fn workload(dir: &Path, seed: u64, blocks: usize) -> Workload {
    let g = generate(&GenConfig::sized(30, 3, blocks, 60, seed), |_, _| {}).unwrap();
    let genesis = dir.join(format!("genesis-{seed}.json"));
    std::fs::write(&genesis, g.genesis_json()).unwrap();
    let mut bytes = Vec::new();
    let mut starts = Vec::new();
    for b in &g.blocks {
        starts.push(bytes.len());
        b.encode_into(&mut bytes);
    }
    let log = dir.join(format!("blocks-{seed}.blk"));
    std::fs::write(&log, &bytes).unwrap();
    Workload {
        genesis,
        log,
        bytes,
        starts,
        final_root: hex::encode(g.final_state.state_root()),
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn checkpoints(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn checkpoint_then_resume_reaches_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 5, 6);
    let ckpt = dir.path().join("ckpt");

    // One uninterrupted run.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&w.log),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert!(out.status.success());
    assert_eq!(json(&out)["state_root"], w.final_root.as_str());

    // A log cut inside block 5: blocks 1-4 applied, checkpoints after 2 and 4, exit 1,
    // and by default no state file.
    let cut = dir.path().join("cut.blk");
    std::fs::write(&cut, &w.bytes[..w.starts[4] + 300]).unwrap();
    let partial = dir.path().join("partial.state");
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&cut),
        "--backend",
        "cpu",
        "--json",
        "--checkpoint-every",
        "2",
        "--checkpoint-dir",
        s(&ckpt),
        "--out-state",
        s(&partial),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let sum = json(&out);
    assert_eq!(sum["blocks"], 4);
    assert_eq!(sum["complete"], false);
    let stopped = sum["stopped"].as_str().unwrap();
    assert!(stopped.contains("cut.blk: block 4 at byte") && stopped.contains("truncated"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.blk: block 4"), "{err}");
    assert!(!partial.exists());
    assert_eq!(
        checkpoints(&ckpt),
        [
            "checkpoint-00000000000000000002.state",
            "checkpoint-00000000000000000004.state"
        ]
    );

    // --keep-partial writes the state after the last good block.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&cut),
        "--backend",
        "cpu",
        "--keep-partial",
        "--out-state",
        s(&partial),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let state = txwave::State::from_snapshot(&std::fs::read(&partial).unwrap()).unwrap();
    assert_eq!(state.height(), 4);

    // Resume with the whole log: skips 4 blocks, applies 5 and 6, same root.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&w.log),
        "--backend",
        "cpu",
        "--json",
        "--resume",
        "--checkpoint-dir",
        s(&ckpt),
        "--checkpoint-every",
        "1",
        "--keep-checkpoints",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = json(&out);
    assert_eq!(sum["skipped_blocks"], 4);
    assert_eq!(sum["blocks"], 2);
    assert_eq!(sum["height"], 6);
    assert_eq!(sum["state_root"], w.final_root.as_str());
    // Keep 2: the checkpoints at 5 and 6 remain.
    assert_eq!(
        checkpoints(&ckpt),
        [
            "checkpoint-00000000000000000005.state",
            "checkpoint-00000000000000000006.state"
        ]
    );
}

#[test]
fn resume_with_the_wrong_log_is_refused_and_half_written_snapshots_are_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 8, 4);
    let other = workload(dir.path(), 9, 4);
    let ckpt = dir.path().join("ckpt");
    let first_two = dir.path().join("first.blk");
    std::fs::write(&first_two, &w.bytes[..w.starts[2]]).unwrap();
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&first_two),
        "--backend",
        "cpu",
        "--checkpoint-every",
        "2",
        "--checkpoint-dir",
        s(&ckpt),
    ]);
    assert!(out.status.success());
    assert_eq!(
        checkpoints(&ckpt),
        ["checkpoint-00000000000000000002.state"]
    );

    // A process killed while writing height 3: its temporary file, and (as if written
    // without the rename) a truncated file under the final name.
    let good = std::fs::read(ckpt.join("checkpoint-00000000000000000002.state")).unwrap();
    std::fs::write(
        ckpt.join(".checkpoint-00000000000000000003.state.tmp"),
        &good[..good.len() / 2],
    )
    .unwrap();
    std::fs::write(
        ckpt.join("checkpoint-00000000000000000003.state"),
        &good[..good.len() - 7],
    )
    .unwrap();

    // The other workload's log: its block 2 does not hash to the checkpoint's tip.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&other.log),
        "--backend",
        "cpu",
        "--resume",
        "--checkpoint-dir",
        s(&ckpt),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("block at height 2 hashes to") && err.contains("does not come from this log"),
        "{err}"
    );
    assert!(err.contains("passing over checkpoint"), "{err}");

    // The right log resumes from height 2, not from the damaged 3.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&w.log),
        "--backend",
        "cpu",
        "--json",
        "--resume",
        "--checkpoint-dir",
        s(&ckpt),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = json(&out);
    assert_eq!(sum["skipped_blocks"], 2);
    assert_eq!(sum["state_root"], w.final_root.as_str());
    assert!(
        sum["resumed_from"]
            .as_str()
            .unwrap()
            .ends_with("checkpoint-00000000000000000002.state")
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_after_the_current_block_with_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), 12, 5);
    let ckpt = dir.path().join("ckpt");
    // A FIFO as the log: the run cannot finish before this test lets it.
    let fifo = dir.path().join("log.fifo");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let child = Command::new(BIN)
        .args([
            "run",
            s(&w.genesis),
            s(&fifo),
            "--backend",
            "cpu",
            "--json",
            "--checkpoint-every",
            "100",
            "--checkpoint-dir",
            s(&ckpt),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    pipe.write_all(&w.bytes[..w.starts[2]]).unwrap();
    pipe.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    std::thread::sleep(std::time::Duration::from_millis(200));
    // One more block wakes a run that was waiting for input; it stops after it.
    let _ = pipe.write_all(&w.bytes[w.starts[2]..w.starts[3]]);
    let _ = pipe.flush();
    let out = child.wait_with_output().unwrap();
    drop(pipe);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = json(&out);
    let height = sum["height"].as_u64().unwrap();
    assert!((1..=3).contains(&height), "{height}");
    assert!(sum["stopped"].as_str().unwrap().contains("interrupted"));
    assert_eq!(
        checkpoints(&ckpt),
        [format!("checkpoint-{height:020}.state")]
    );
    // Resuming finishes the log with the uninterrupted root.
    let out = txwave(&[
        "run",
        s(&w.genesis),
        s(&w.log),
        "--backend",
        "cpu",
        "--json",
        "--resume",
        "--checkpoint-dir",
        s(&ckpt),
    ]);
    assert!(out.status.success());
    assert_eq!(json(&out)["state_root"], w.final_root.as_str());
}
