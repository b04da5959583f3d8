//! `txwave bench` and `txwave calibrate` from the binary: the report files and their
//! shapes, break-even fields, and `run --calibration` using or refusing a file. GPU cases
//! skip without an adapter unless `TXWAVE_REQUIRE_GPU=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

fn txwave(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run txwave")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dataset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/defi-small")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const SMALL: [&str; 8] = [
    "--blocks",
    "1",
    "--txs",
    "300",
    "--accounts",
    "300",
    "--repeat",
    "1",
];

fn read_report(dir: &Path) -> Value {
    let json = std::fs::read_to_string(dir.join("bench.json")).unwrap();
    let svg = std::fs::read_to_string(dir.join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("throughput against batch size"),
        "chart title missing"
    );
    serde_json::from_str(&json).unwrap()
}

fn rows<'a>(report: &'a Value, stage: &str, backend: &str) -> Vec<&'a Value> {
    report["sweep"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["stage"] == stage && r["backend"] == backend)
        .collect()
}

#[test]
fn profiles_are_each_run_end_to_end_in_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["bench", "--backends", "cpu", "--profiles", "default,dex"];
    args.extend(SMALL);
    args.extend(["--out", s(dir.path())]);
    let text = ok(&txwave(&args));
    assert!(text.contains("cpu (dex workload)"), "{text}");
    let r = read_report(dir.path());
    let profiles: Vec<&str> = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["profile"].as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["default", "dex"]);
    assert_eq!(r["workload"]["profile"], "default");
    let e2e = r["e2e"].as_array().unwrap();
    assert_eq!(e2e.len(), 2);
    for (row, profile) in e2e.iter().zip(["default", "dex"]) {
        assert_eq!(row["workload"], profile);
        assert_eq!(row["label"], format!("cpu {profile}"));
        assert_eq!(row["txs"], 300);
        assert!(row["tx_per_s"].as_f64().unwrap() > 0.0);
    }
    assert!(
        r["workloads"][1]["source"]
            .as_str()
            .unwrap()
            .contains("profile dex"),
        "{}",
        r["workloads"][1]
    );
}

#[test]
fn cpu_sweep_writes_every_size_and_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "bench",
        "--sweep",
        "--backends",
        "cpu",
        "--sizes",
        "256,1024",
    ];
    args.extend(SMALL);
    args.extend(["--out", s(dir.path())]);
    let text = ok(&txwave(&args));
    assert!(text.contains("sweep (items per second, median;"), "{text}");
    let r = read_report(dir.path());
    assert_eq!(r["command"][1], "bench");
    assert_eq!(r["finished"], true);
    assert_eq!(
        r["machine"]["logical_cores"].as_u64().unwrap() as usize,
        num_cpus()
    );
    assert_eq!(r["workload"]["txs"], 300);
    assert_eq!(r["e2e"][0]["backend"], "cpu");
    assert!(r["e2e"][0]["tx_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(r["e2e"][0]["txs"], 300);
    let checked = r["e2e"][0]["checked"].as_str().unwrap();
    assert!(checked.contains("block hashes equal to"), "{checked}");
    assert!(text.contains(&format!("  checked: {checked}")), "{text}");
    for stage in ["verify_strict", "verify_zip215", "hash"] {
        let sizes: Vec<u64> = rows(&r, stage, "cpu")
            .iter()
            .map(|row| row["size"].as_u64().unwrap())
            .collect();
        assert_eq!(sizes, [256, 1024], "{stage}");
        for row in rows(&r, stage, "cpu") {
            assert!(row["per_s"].as_f64().unwrap() > 0.0);
            assert_eq!(row["time"]["samples"], 1);
            let checked = row["checked"].as_str().unwrap();
            let n = row["size"].as_u64().unwrap();
            if stage == "hash" {
                assert_eq!(checked, format!("{n} ids equal to the blake3 crate's"));
            } else {
                assert!(checked.starts_with(&format!("{n} verdicts (")), "{checked}");
            }
        }
    }
    // No GPU asked: no break-even to report.
    assert_eq!(r["sweep"]["break_even"].as_array().unwrap().len(), 0);
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let out = txwave(&["bench", "--sweep", "--max-size", "10", "--backends", "cpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no batch size left to sweep"));
    let out = txwave(&["bench", "--max-call-s", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a positive number of seconds"));
    let out = txwave(&["bench", "--workgroup-size", "verify=100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("power of two"));
}

#[test]
fn a_corrupt_calibration_is_refused_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cal.json");
    std::fs::write(&bad, "{\"adapter\": 3").unwrap();
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let out = txwave(&[
        "run",
        s(&genesis),
        s(&blocks),
        "--backend",
        "auto",
        "--calibration",
        s(&bad),
    ]);
    let text = ok(&out);
    assert!(
        text.contains(&format!(
            "calibration file {} is not a valid calibration",
            bad.display()
        )),
        "{text}"
    );
    assert!(text.contains("txwave run: 4 blocks"), "{text}");
    // The same for a file that does not exist.
    let missing = dir.path().join("missing.json");
    let text = ok(&txwave(&[
        "run",
        s(&genesis),
        s(&blocks),
        "--calibration",
        s(&missing),
    ]));
    assert!(
        text.contains(&format!("calibration file {}", missing.display())),
        "{text}"
    );
}

#[test]
fn gpu_sweep_has_phases_and_break_even_fields() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "bench",
        "--sweep",
        "--backends",
        "cpu,gpu",
        "--sizes",
        "256",
        "--variants",
        "engine",
        "--no-e2e",
    ];
    args.extend(SMALL);
    args.extend(["--out", s(dir.path())]);
    ok(&txwave(&args));
    let r = read_report(dir.path());
    assert_eq!(r["adapter"]["name"], ctx.adapter.name.as_str());
    for stage in ["verify_strict", "verify_zip215", "hash"] {
        let gpu = rows(&r, stage, "gpu");
        assert_eq!(gpu.len(), 1, "{stage}");
        let phases = &gpu[0]["gpu"];
        assert!(
            phases["dispatch_ns"].as_u64().unwrap() > 0,
            "{stage}: {phases}"
        );
        assert!(phases["upload_ns"].as_u64().is_some());
        assert!(
            gpu[0]["checked"].as_str().unwrap().contains("equal to the"),
            "{stage}: {}",
            gpu[0]
        );
        assert!(phases["readback_ns"].as_u64().is_some());
        let be = r["sweep"]["break_even"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["stage"] == stage)
            .unwrap_or_else(|| panic!("no break-even for {stage}"));
        assert_eq!(be["largest_measured"], 256);
        let cpu = rows(&r, stage, "cpu")[0]["per_s"].as_f64().unwrap();
        let gpu = gpu[0]["per_s"].as_f64().unwrap();
        match be["size"].as_u64() {
            Some(n) => assert!(n == 256 && gpu > cpu),
            None => assert!(gpu <= cpu && be["text"] == "never up to 256"),
        }
    }
    let variants = r["sweep"]["variants"].as_array().unwrap();
    assert!(
        variants
            .iter()
            .any(|v| v["variant"] == "register/computed/wg64")
    );
}

#[test]
fn a_calibration_of_this_adapter_sets_the_auto_thresholds() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.json");
    let point = |stage: &str, batch: usize, cpu: f64, gpu: f64| serde_json::json!({"stage": stage, "batch": batch, "cpu_per_s": cpu, "gpu_per_s": gpu});
    let cal = serde_json::json!({
        "adapter": ctx.adapter.name,
        "rates": [
            point("verify_strict", 256, 100.0, 10.0),
            point("verify_strict", 1024, 100.0, 200.0),
            point("verify_zip215", 256, 100.0, 10.0),
            point("verify_zip215", 1024, 100.0, 20.0),
            point("hash", 256, 100.0, 500.0),
        ],
    });
    std::fs::write(&path, cal.to_string()).unwrap();
    let genesis = dataset().join("genesis.json");
    let blocks = dataset().join("blocks.blk");
    let text = ok(&txwave(&[
        "run",
        s(&genesis),
        s(&blocks),
        "--backend",
        "auto",
        "--adapter",
        &ctx.adapter.name,
        "--calibration",
        s(&path),
    ]));
    let line = format!(
        "auto sends to the GPU (calibration {}): verify strict >= 1024, zip215 never, hash >= 256",
        path.display()
    );
    assert!(text.contains(&line), "{text}");
    // A file from another adapter is refused with the defaults used: the library's
    // `Calibration::load` test covers that without a second engine here.
}
