//! The `txwave` binary end to end on the shipped dataset.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/defi-small")
}

fn txwave(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run txwave")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn last_claimed_root(blocks: &Path) -> String {
    let log = std::fs::read(blocks).unwrap();
    let blocks = txwave::Block::decode_log(&log).unwrap();
    hex::encode(blocks.last().unwrap().claimed_state_root)
}

#[test]
fn run_json_receipts_and_out_state() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let receipts = dir.path().join("r.jsonl");
    let state = dir.path().join("state.bin");
    let out = txwave(&[
        "run",
        s(&genesis),
        s(&blocks),
        "--backend",
        "cpu",
        "--json",
        "--receipts",
        s(&receipts),
        "--out-state",
        s(&state),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["state_root"].as_str().unwrap(),
        last_claimed_root(&blocks)
    );
    let txs = summary["txs"].as_u64().unwrap();
    assert_eq!(summary["blocks"].as_u64().unwrap(), 4);
    // Receipts: one JSON object per line, block order, the docs/FORMATS.md shape.
    let text = std::fs::read_to_string(&receipts).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, txs);
    assert_eq!(lines[0]["block"], 1);
    assert_eq!(lines[0]["index"], 0);
    assert_eq!(lines[0]["tx_id"].as_str().unwrap().len(), 64);
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    let ok = lines.iter().filter(|l| l["status"] == "ok").count() as u64;
    assert_eq!(ok, summary["statuses"]["ok"].as_u64().unwrap());
    // The snapshot reloads and dumps with the same root.
    let out = txwave(&["inspect", s(&state), "--json"]);
    assert!(out.status.success());
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dump["height"], 4);
    assert_eq!(
        dump["state_root"].as_str().unwrap(),
        last_claimed_root(&blocks)
    );
    assert!(dump["accounts"][0]["balances"].as_array().unwrap()[0].is_u64());
    assert!(dump["pools"][0]["reserve_a"].is_u64());
    // Replaying the same blocks on the final state is rejected with exit code 1.
    let out = txwave(&["run", s(&state), s(&blocks), "--backend", "cpu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("height field: expected 5, found 1"));
}

#[test]
fn human_summary_names_every_stage() {
    let out = txwave(&[
        "run",
        s(&dataset().join("genesis.json")),
        s(&dataset().join("blocks.blk")),
        "--backend",
        "cpu",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "receipts",
        "waves",
        "verify",
        "execute",
        "commit",
        "tx/s",
        "state root",
    ] {
        assert!(text.contains(word), "summary lacks {word:?}:\n{text}");
    }
}

#[test]
fn damaged_inputs_give_exit_codes_and_leave_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dataset().join("genesis.json");
    let mut log = std::fs::read(dataset().join("blocks.blk")).unwrap();
    let n = log.len();
    log[n / 2] ^= 0xff;
    let bad = dir.path().join("bad.blk");
    std::fs::write(&bad, &log).unwrap();
    let receipts = dir.path().join("r.jsonl");
    let state = dir.path().join("s.bin");
    let out = txwave(&[
        "run",
        s(&genesis),
        s(&bad),
        "--backend",
        "cpu",
        "--receipts",
        s(&receipts),
        "--out-state",
        s(&state),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("txwave: ") && err.contains("bad.blk") && err.contains("block "),
        "{err}"
    );
    assert!(!receipts.exists() && !state.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only bad.blk remains"
    );

    // Missing file and bad genesis: usage / I/O errors, exit code 2.
    let out = txwave(&["run", "/nonexistent/genesis.json", s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"tokens\": 1}").unwrap();
    let out = txwave(&["run", s(&junk), s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid genesis"));
    let out = txwave(&["run"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn gen_is_deterministic_and_inspect_reads_what_it_wrote() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let args = [
        "--accounts",
        "30",
        "--pools",
        "3",
        "--blocks",
        "2",
        "--txs",
        "50",
        "--seed",
        "9",
    ];
    for d in [&a, &b] {
        let mut full = vec!["gen", "--out", s(d.path())];
        full.extend(args);
        let out = txwave(&full);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in ["genesis.json", "blocks.blk"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let out = txwave(&["inspect", s(&a.path().join("blocks.blk")), "--json"]);
    let blocks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(blocks.as_array().unwrap().len(), 2);
    assert_eq!(blocks[1]["height"], 2);
    let out = txwave(&[
        "inspect",
        "--schedule",
        s(&a.path().join("genesis.json")),
        s(&a.path().join("blocks.blk")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wave size"));
}

#[test]
fn shipped_dataset_is_what_its_readme_command_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = txwave(&[
        "gen",
        "--out",
        s(dir.path()),
        "--accounts",
        "2000",
        "--blocks",
        "4",
        "--txs",
        "2500",
        "--account-skew",
        "0.8",
        "--pool-skew",
        "0.8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["genesis.json", "blocks.blk"] {
        assert!(
            std::fs::read(dir.path().join(f)).unwrap() == std::fs::read(dataset().join(f)).unwrap(),
            "{f} differs from the shipped one"
        );
    }
}

#[test]
fn shipped_dex_dataset_is_what_its_readme_command_makes_and_runs_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = dataset().join("../dex");
    let out = txwave(&[
        "gen",
        "--out",
        s(dir.path()),
        "--profile",
        "dex",
        "--accounts",
        "2000",
        "--blocks",
        "4",
        "--txs",
        "2000",
        "--account-skew",
        "0.8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["genesis.json", "blocks.blk"] {
        assert!(
            std::fs::read(dir.path().join(f)).unwrap() == std::fs::read(shipped.join(f)).unwrap(),
            "dex {f} differs from the shipped one"
        );
    }
    // Its README's final root, reproduced block by block (exit code 0).
    let out = txwave(&[
        "run",
        s(&shipped.join("genesis.json")),
        s(&shipped.join("blocks.blk")),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["state_root"],
        "5f8d3d98ffc9f77126dd1c9193461e13e5bb4c163376a109da1785bd97f58477"
    );
    assert_eq!(summary["per_block"].as_array().unwrap().len(), 4);
}

#[test]
fn run_on_the_gpu_gives_the_cpu_roots_and_names_the_devices() {
    if txwave::internal::gpu::test_context().is_none() {
        return;
    }
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let mut roots = Vec::new();
    for backend in ["cpu", "gpu"] {
        let out = txwave(&[
            "run",
            s(&genesis),
            s(&blocks),
            "--backend",
            backend,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if backend == "gpu" {
            assert_eq!(v["devices"]["hash"], "gpu");
            assert_eq!(v["devices"]["commit"], "gpu");
            assert!(!v["device"].as_str().unwrap().starts_with("CPU"));
        }
        let per_block: Vec<String> = v["per_block"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["state_root"].as_str().unwrap().to_string())
            .collect();
        roots.push((v["state_root"].as_str().unwrap().to_string(), per_block));
    }
    assert_eq!(roots[0], roots[1]);
}

#[test]
fn warming_the_key_cache_changes_no_root_and_is_reported() {
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", s(&genesis), s(&blocks), "--backend", "cpu", "--json"];
        args.extend_from_slice(extra);
        let out = txwave(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let warm = run(&[]);
    let cold = run(&["--no-warm-keys"]);
    let small = run(&["--key-cache", "7"]);
    assert_eq!(warm["state_root"], cold["state_root"]);
    assert_eq!(warm["state_root"], small["state_root"]);
    assert_eq!(
        warm["state_root"].as_str().unwrap(),
        last_claimed_root(&blocks)
    );
    let accounts = txwave::State::from_genesis_json(&std::fs::read_to_string(&genesis).unwrap())
        .unwrap()
        .account_count() as u64;
    assert_eq!(warm["keys_warmed"].as_u64(), Some(accounts));
    assert_eq!(cold["keys_warmed"].as_u64(), Some(0));
    assert_eq!(small["keys_warmed"].as_u64(), Some(7), "up to the bound");
    assert_eq!(
        cold["key_cache"]["hits"].as_u64().unwrap() + cold["key_cache"]["misses"].as_u64().unwrap(),
        warm["key_cache"]["hits"].as_u64().unwrap() + warm["key_cache"]["misses"].as_u64().unwrap()
    );
    assert!(warm["key_cache"]["misses"].as_u64() < cold["key_cache"]["misses"].as_u64());
}

#[test]
fn the_binary_resolves_the_environment_for_the_library() {
    // TXWAVE_ADAPTER reaches the engine through the binary (the library reads none).
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let out = Command::new(BIN)
        .args(["run", s(&genesis), s(&blocks), "--backend", "gpu"])
        .env("TXWAVE_ADAPTER", "no adapter has this name")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no adapter name contains \"no adapter has this name\""),
        "{stderr}"
    );
    // WGPU_BACKEND narrows what `txwave devices` lists: GL is never used, so nothing.
    let out = Command::new(BIN)
        .args(["devices"])
        .env("WGPU_BACKEND", "gl")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no GPU adapter found"), "{stdout}");
    assert!(
        stdout.contains("narrowed by WGPU_BACKEND=\"gl\""),
        "{stdout}"
    );
}
