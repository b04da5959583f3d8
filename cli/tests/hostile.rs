//! Hostile input through the binary: a panic in each stage of `txwave run` exits 3 and
//! writes nothing; hostile logs are refused with the bound named, and peak memory stays
//! near the bound (docs/SPEC.md, "Bounds on input").

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::raw::header;
use txwave::Block;
use txwave::internal::tx::BLOCK_HEADER_LEN;

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

fn txwave(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run txwave")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A generated chain on disk: genesis.json and blocks.blk (3 blocks).
fn chain_on_disk(dir: &Path) {
    let out = txwave(&[
        "gen",
        "--out",
        s(dir),
        "--seed",
        "5",
        "--accounts",
        "30",
        "--blocks",
        "3",
        "--txs",
        "40",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_panic_in_each_stage_of_txwave_run_exits_3_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    chain_on_disk(dir.path());
    let genesis = dir.path().join("genesis.json");
    let blocks = dir.path().join("blocks.blk");
    let good = txwave(&["run", s(&genesis), s(&blocks), "--backend", "cpu", "--json"]);
    assert!(good.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&good.stdout).unwrap();
    let first_root = summary["per_block"][0]["state_root"]
        .as_str()
        .unwrap()
        .to_string();
    for stage in ["read", "prepare", "apply"] {
        let receipts = dir.path().join(format!("{stage}.jsonl"));
        let state = dir.path().join(format!("{stage}.state"));
        let out = txwave(&[
            "run",
            s(&genesis),
            s(&blocks),
            "--backend",
            "cpu",
            "--receipts",
            s(&receipts),
            "--out-state",
            s(&state),
            "--inject-panic",
            &format!("{stage}:2"),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stage}: {stderr}");
        assert!(stderr.contains("internal error in"), "{stage}: {stderr}");
        assert!(stderr.contains("injected panic"), "{stage}: {stderr}");
        assert!(
            !receipts.exists() && !state.exists(),
            "{stage}: an output was written"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    // --keep-partial keeps the state of the last accepted block: the apply panic at
    // height 2 was rolled back.
    let state = dir.path().join("partial.state");
    let out = txwave(&[
        "run",
        s(&genesis),
        s(&blocks),
        "--backend",
        "cpu",
        "--out-state",
        s(&state),
        "--keep-partial",
        "--inject-panic",
        "apply:2",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let shown = txwave(&["inspect", s(&state), "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["height"], 1);
    assert_eq!(shown["state_root"].as_str().unwrap(), first_root);
}

/// Runs txwave with stdout and stderr to files and returns its exit code, its stderr and
/// its peak resident memory in bytes (the child's own, from wait4).
#[cfg(target_os = "linux")]
fn run_measured(args: &[&str], dir: &Path) -> (Option<i32>, String, u64) {
    use std::os::unix::process::ExitStatusExt;
    let err_path = dir.join("stderr.txt");
    let child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 reaps exactly this child, which std has not.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid);
    std::mem::forget(child);
    let code = std::process::ExitStatus::from_raw(status).code();
    (
        code,
        std::fs::read_to_string(err_path).unwrap(),
        usage.ru_maxrss as u64 * 1024,
    )
}

#[cfg(target_os = "linux")]
#[test]
fn hostile_logs_are_refused_and_memory_stays_near_the_bound() {
    const MIB: u64 = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    chain_on_disk(dir.path());
    let genesis = dir.path().join("genesis.json");

    // Baseline: the small log itself.
    let (code, err, base) = run_measured(
        &[
            "run",
            s(&genesis),
            s(&dir.path().join("blocks.blk")),
            "--backend",
            "cpu",
            "--threads",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(code, Some(0), "{err}");

    // 1. One block declaring 65,600 txs of 65,535 bytes (4.3 GB), of which the file holds
    //    the first 24 MiB: refused at the length field that crosses an 8 MiB bound.
    let bound = 8 * MIB;
    let big = dir.path().join("big.blk");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(&header(1, [0; 32], 65_600)).unwrap();
        let tx: Vec<u8> = u16::MAX
            .to_le_bytes()
            .into_iter()
            .chain(std::iter::repeat_n(0, 65535))
            .collect();
        for _ in 0..(24 * MIB / 65537) {
            f.write_all(&tx).unwrap();
        }
    }
    let receipts = dir.path().join("r.jsonl");
    let bound_arg = bound.to_string();
    let (code, err, peak) = run_measured(
        &[
            "run",
            s(&genesis),
            s(&big),
            "--backend",
            "cpu",
            "--threads",
            "2",
            "--max-block-bytes",
            &bound_arg,
            "--receipts",
            s(&receipts),
        ],
        dir.path(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("block 0 at byte"), "{err}");
    assert!(
        err.contains("above the bound of 8388608 (max_block_bytes)"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!receipts.exists());
    assert!(
        peak < base + 4 * bound,
        "peak {peak} bytes, baseline {base}, bound {bound}"
    );

    // 2. Forty blocks, each exactly at the bound (txs of an unknown kind: valid blocks,
    //    every tx `malformed`): all accepted, and the run holds a few blocks at a time.
    let log = dir.path().join("at-bound.blk");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        // header + n × (2 + 65535) + tail tx + checksum = bound.
        let n = (bound as usize - BLOCK_HEADER_LEN - 32) / 65537;
        let tail = bound as usize - BLOCK_HEADER_LEN - 32 - n * 65537 - 2;
        let mut parent = [0u8; 32];
        for height in 1..=40u64 {
            let mut b = header(height, parent, n as u32 + 1);
            for _ in 0..n {
                b.extend_from_slice(&u16::MAX.to_le_bytes());
                b.resize(b.len() + 65535, 0);
            }
            b.extend_from_slice(&(tail as u16).to_le_bytes());
            b.resize(b.len() + tail, 0);
            assert_eq!(b.len() + 32, bound as usize);
            let sum = blake3::hash(&b);
            b.extend_from_slice(sum.as_bytes());
            let decoded = Block::decode(&b).unwrap().0;
            let ids = txwave::internal::hash::cpu::tx_ids(&decoded);
            parent = decoded.block_hash(&txwave::internal::merkle::merkle_root(&ids));
            f.write_all(&b).unwrap();
        }
    }
    let (code, err, peak) = run_measured(
        &[
            "run",
            s(&genesis),
            s(&log),
            "--backend",
            "cpu",
            "--threads",
            "2",
            "--max-block-bytes",
            &bound_arg,
            "--queue-depth",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(code, Some(0), "{err}");
    // At most 2 × depth + 3 = 7 blocks in flight, and the reader's buffer.
    let limit = base + (2 * 2 + 3 + 2) * bound;
    eprintln!(
        "peak {peak} bytes over a baseline of {base}: {:.1} bounds",
        (peak - base.min(peak)) as f64 / bound as f64
    );
    assert!(
        peak < limit,
        "peak {peak} bytes ≥ {limit} (baseline {base}, bound {bound})"
    );
    // One byte less and the first block is refused.
    let smaller = (bound - 1).to_string();
    let (code, err, _) = run_measured(
        &[
            "run",
            s(&genesis),
            s(&log),
            "--backend",
            "cpu",
            "--max-block-bytes",
            &smaller,
        ],
        dir.path(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "declares {bound}, above the bound of {}",
            bound - 1
        )),
        "{err}"
    );
}
