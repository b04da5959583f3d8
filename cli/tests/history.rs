//! `txwave index`, `replay`, `audit` and `plan` end to end on a generated 24-block history
//! with a snapshot every 4 blocks, honest and tampered.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use txwave::internal::index::BlockIndex;
use txwave::{Block, LogReader};

const BIN: &str = env!("CARGO_BIN_EXE_txwave");

fn txwave(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run txwave")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// A generated history: genesis, log, checkpoints at 4, 8, …, 24, its index, and the
/// state root after every block from one sequential `txwave run`.
struct History {
    _dir: tempfile::TempDir,
    root: PathBuf,
    genesis: PathBuf,
    log: PathBuf,
    index: PathBuf,
    roots: Vec<String>,
}

impl History {
    fn new(seed: u64) -> History {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let seed = seed.to_string();
        ok(&txwave(&[
            "gen",
            "--out",
            s(&root.join("g")),
            "--seed",
            &seed,
            "--blocks",
            "24",
            "--txs",
            "60",
            "--accounts",
            "200",
            "--pools",
            "4",
            "--bad-signature",
            "0",
        ]));
        let genesis = root.join("g/genesis.json");
        let log = root.join("g/blocks.blk");
        let run = txwave(&[
            "run",
            s(&genesis),
            s(&log),
            "--backend",
            "cpu",
            "--json",
            "--checkpoint-every",
            "4",
            "--checkpoint-dir",
            s(&root.join("cp")),
            "--keep-checkpoints",
            "100",
        ]);
        ok(&run);
        let roots = json(&run)["per_block"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["state_root"].as_str().unwrap().to_string())
            .collect();
        let index = root.join("blocks.idx");
        ok(&txwave(&["index", s(&log), "--out", s(&index)]));
        History {
            _dir: dir,
            root,
            genesis,
            log,
            index,
            roots,
        }
    }

    fn checkpoint(&self, height: u64) -> PathBuf {
        if height == 0 {
            return self.genesis.clone();
        }
        self.root.join(format!("cp/checkpoint-{height:020}.state"))
    }

    fn replay(&self, from: u64, to: u64, extra: &[&str]) -> Output {
        let (f, t) = (self.checkpoint(from), self.checkpoint(to));
        let mut args = vec![
            "replay",
            "--from",
            s(&f),
            "--to",
            s(&t),
            s(&self.log),
            "--backend",
            "cpu",
            "--json",
        ];
        args.extend_from_slice(extra);
        txwave(&args)
    }
}

/// Byte offset and length of every block of a log.
fn block_spans(log: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < log.len() {
        let (_, n) = Block::decode(&log[at..]).unwrap();
        out.push((at, n));
        at += n;
    }
    out
}

/// Flips the last byte of tx `tx` of block `block` (0-based in the log) and reseals the
/// block's checksum, so the log still decodes and only the tx is wrong.
fn tamper_tx(log: &Path, block: usize, tx: usize) {
    let mut bytes = std::fs::read(log).unwrap();
    let (off, len) = block_spans(&bytes)[block];
    let mut p = off + txwave::internal::tx::BLOCK_HEADER_LEN;
    for _ in 0..tx {
        p += 2 + u16::from_le_bytes([bytes[p], bytes[p + 1]]) as usize;
    }
    let tx_len = u16::from_le_bytes([bytes[p], bytes[p + 1]]) as usize;
    bytes[p + 2 + tx_len - 1] ^= 0x01;
    let sum = *blake3::hash(&bytes[off..off + len - 32]).as_bytes();
    bytes[off + len - 32..off + len].copy_from_slice(&sum);
    std::fs::write(log, bytes).unwrap();
}

fn range_ok(v: &serde_json::Value) {
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["computed_state_root"], v["expected_state_root"]);
    assert_eq!(v["computed_last_block_hash"], v["expected_last_block_hash"]);
}

#[test]
fn every_range_replays_onto_its_snapshot_and_agrees_with_one_sequential_run() {
    let h = History::new(1);
    let idx = s(&h.index).to_string();
    for from in (0..24).step_by(4) {
        for extra in [&[][..], &["--index", &idx][..]] {
            let out = h.replay(from, from + 4, extra);
            ok(&out);
            let v = json(&out);
            range_ok(&v);
            assert_eq!(v["from_height"], from);
            assert_eq!(v["to_height"], from + 4);
            assert_eq!(v["blocks"], 4);
            assert_eq!(v["txs"], 4 * 60);
            // The sequential run's root after the range's last block.
            assert_eq!(
                v["computed_state_root"].as_str().unwrap(),
                h.roots[from as usize + 3]
            );
        }
    }
    // Two ranges at once, and an empty range (a snapshot onto itself).
    range_ok(&json(&h.replay(8, 16, &["--index", &idx])));
    range_ok(&json(&h.replay(8, 8, &[])));
}

#[test]
fn index_records_every_block_and_a_reader_can_start_at_any_of_them() {
    let h = History::new(2);
    let idx = BlockIndex::decode(&std::fs::read(&h.index).unwrap()).unwrap();
    let log = std::fs::read(&h.log).unwrap();
    let spans = block_spans(&log);
    assert_eq!(idx.entries.len(), 24);
    assert_eq!((idx.first_height(), idx.last_height()), (1, 24));
    assert_eq!(idx.files[0].path, s(&h.log));
    assert_eq!(idx.files[0].len, log.len() as u64);
    for (e, &(off, len)) in idx.entries.iter().zip(&spans) {
        assert_eq!((e.offset, e.len), (off as u64, len as u64));
        assert_eq!(e.tx_count, 60);
    }
    // Started at block 10's offset, the reader yields blocks 11..=24 (heights) and counts
    // blocks and bytes from the log's start.
    let e = idx.entry(11).unwrap();
    let mut r = LogReader::starting_at(&log[e.offset as usize..], e.offset, 10);
    let heights: Vec<u64> = r.by_ref().map(|b| b.unwrap().height).collect();
    assert_eq!(heights, (11..=24).collect::<Vec<_>>());
    assert_eq!(r.offset(), log.len() as u64);
    // Errors name absolute offsets: a damaged block 12 (index 11) seen from block 11.
    let mut bad = log.clone();
    bad[spans[11].0] ^= 0xff; // its magic
    let err = LogReader::starting_at(&bad[e.offset as usize..], e.offset, 10)
        .find_map(|b| b.err())
        .unwrap();
    assert_eq!(
        err.to_string(),
        txwave::Block::decode_log(&bad).unwrap_err().to_string()
    );
    assert!(
        err.to_string()
            .starts_with(&format!("block 11 at byte {}", spans[11].0)),
        "{err}"
    );
}

#[test]
fn a_tampered_transaction_fails_exactly_its_range_naming_its_block() {
    let h = History::new(3);
    let idx = s(&h.index).to_string();
    // Block at height 10 (index 9) lies in the range 8 → 12.
    tamper_tx(&h.log, 9, 5);
    for extra in [&[][..], &["--index", &idx][..]] {
        let out = h.replay(8, 12, extra);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let v = json(&out);
        assert_eq!(v["ok"], false);
        assert_eq!(v["exit_code"], 1);
        let f = &v["failed_block"];
        assert_eq!(f["height"], 10, "{v:#}");
        assert_eq!(f["block_index"], 9);
        assert_eq!(
            f["offset"].as_u64().unwrap(),
            block_spans(&std::fs::read(&h.log).unwrap())[9].0 as u64
        );
        // The tx now fails its signature, so the block's claimed state root is wrong.
        assert!(
            f["reason"]
                .as_str()
                .unwrap()
                .contains("state root mismatch"),
            "{f}"
        );
        assert!(stderr(&out).contains("block 9 at byte"), "{}", stderr(&out));
        // The ranges around it are untouched.
        range_ok(&json(&h.replay(4, 8, extra)));
        range_ok(&json(&h.replay(12, 16, extra)));
    }
    // Audit (no state) names the tx, with or without the index made before the tamper.
    for extra in [&[][..], &["--index", &idx][..]] {
        let mut args = vec![
            "audit",
            s(&h.log),
            "--from-height",
            "9",
            "--to-height",
            "12",
            "--rule",
            "zip215",
            "--backend",
            "cpu",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = txwave(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let v = json(&out);
        assert_eq!(v["failed_block"]["height"], 10, "{v:#}");
        assert_eq!(v["failed_block"]["tx_index"], 5);
        assert!(
            v["failed_block"]["reason"]
                .as_str()
                .unwrap()
                .contains("signature invalid under the zip215 rule"),
            "{v:#}"
        );
    }
    // Tolerated, the bad signature is only counted: blocks 9 and 10 audit, with one.
    let out = txwave(&[
        "audit",
        s(&h.log),
        "--from-height",
        "9",
        "--to-height",
        "10",
        "--rule",
        "zip215",
        "--backend",
        "cpu",
        "--tolerate-bad-signatures",
        "--json",
    ]);
    ok(&out);
    let v = json(&out);
    assert_eq!(
        (v["blocks"].as_u64(), v["bad_signatures"].as_u64()),
        (Some(2), Some(1)),
        "{v:#}"
    );
    // A range outside the index is refused by name.
    let out = txwave(&[
        "audit",
        s(&h.log),
        "--from-height",
        "20",
        "--to-height",
        "30",
        "--index",
        &idx,
        "--rule",
        "zip215",
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("height 30 is not in the index (heights 1..=24)"),
        "{}",
        stderr(&out)
    );
    // The range after it: its own blocks are sound and chain to the index's hash of the
    // block before (made before the tamper), so with the index it passes (the tampered
    // block is the other range's failure); without the index its first parent hash is
    // checked against the tampered block before it, and fails.
    for extra in [&[][..], &["--index", &idx][..]] {
        let mut args = vec![
            "audit",
            s(&h.log),
            "--from-height",
            "11",
            "--to-height",
            "12",
            "--rule",
            "zip215",
            "--backend",
            "cpu",
        ];
        args.extend_from_slice(extra);
        let out = txwave(&args);
        if extra.is_empty() {
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("height 11: parent hash"),
                "{}",
                stderr(&out)
            );
        } else {
            ok(&out);
        }
    }
    // A clean range beside it audits, and the log's tampered block no longer chains: the
    // index cannot be rebuilt from it.
    let out = txwave(&[
        "audit",
        s(&h.log),
        "--from-height",
        "13",
        "--to-height",
        "24",
        "--index",
        &idx,
        "--rule",
        "zip215",
        "--backend",
        "cpu",
        "--json",
    ]);
    ok(&out);
    assert_eq!(
        json(&out)["signatures_checked"],
        12 * 60 - json(&out)["malformed_txs"].as_u64().unwrap()
    );
    let out = txwave(&["index", s(&h.log), "--out", s(&h.root.join("x.idx"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("the logs do not chain: block at height 11 rejected: parent_hash field"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_altered_snapshot_fails_both_ranges_that_touch_it() {
    let h = History::new(4);
    let cp = h.checkpoint(12);
    let mut bytes = std::fs::read(&cp).unwrap();
    // Account 0's token-0 balance (docs/FORMATS.md, State snapshot), checksum resealed.
    let at = 8 + 4 + 1 + 2 + 8 + 32 + 8 + 32 + 8;
    bytes[at] ^= 0x01;
    let n = bytes.len() - 32;
    let sum = *blake3::hash(&bytes[..n]).as_bytes();
    bytes[n..].copy_from_slice(&sum);
    std::fs::write(&cp, bytes).unwrap();
    let idx = s(&h.index).to_string();
    let before = h.replay(8, 12, &["--index", &idx]);
    assert_eq!(before.status.code(), Some(1));
    let v = json(&before);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("does not end on the target snapshot: state root"),
        "{v:#}"
    );
    assert_eq!(v["computed_state_root"].as_str().unwrap(), h.roots[11]);
    let after = h.replay(12, 16, &["--index", &idx]);
    assert_eq!(after.status.code(), Some(1));
    let v = json(&after);
    assert_eq!(v["failed_block"]["height"], 13, "{v:#}");
    range_ok(&json(&h.replay(16, 20, &["--index", &idx])));
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_a_nonzero_exit() {
    let h = History::new(5);
    let other = History::new(6);
    let idx = s(&h.index).to_string();

    // A snapshot from another chain, with and without the index.
    let foreign = other.checkpoint(8);
    let target = h.checkpoint(12);
    for extra in [&[][..], &["--index", &idx][..]] {
        let mut args = vec![
            "replay",
            "--from",
            s(&foreign),
            "--to",
            s(&target),
            s(&h.log),
            "--backend",
            "cpu",
        ];
        args.extend_from_slice(extra);
        let out = txwave(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("the snapshot is not of this chain")
                && stderr(&out).contains("at height 8"),
            "{}",
            stderr(&out)
        );
    }

    // A log with a gap: block 6 left out.
    let log = std::fs::read(&h.log).unwrap();
    let spans = block_spans(&log);
    let gap = h.root.join("gap.blk");
    let mut bytes = log[..spans[5].0].to_vec();
    bytes.extend_from_slice(&log[spans[6].0..]);
    std::fs::write(&gap, &bytes).unwrap();
    let out = txwave(&["index", s(&gap), "--out", s(&h.root.join("gap.idx"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "gap.blk: the logs do not chain: block at height 7 rejected: height field: expected 6, found 7"
        ),
        "{}",
        stderr(&out)
    );
    let out = txwave(&[
        "replay",
        "--from",
        s(&h.checkpoint(4)),
        "--to",
        s(&h.checkpoint(8)),
        s(&gap),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["failed_block"]["height"], 7, "{v:#}");
    assert!(
        v["failed_block"]["reason"]
            .as_str()
            .unwrap()
            .contains("height field: expected 6, found 7"),
        "{v:#}"
    );
    let out = txwave(&[
        "audit",
        s(&gap),
        "--from-height",
        "2",
        "--to-height",
        "9",
        "--rule",
        "zip215",
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("height 7: expected height 6: the log has a gap"),
        "{}",
        stderr(&out)
    );

    // An index of another log.
    let out = txwave(&[
        "replay",
        "--from",
        s(&h.checkpoint(4)),
        "--to",
        s(&h.checkpoint(8)),
        s(&gap),
        "--index",
        &idx,
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("it is an index of another log"),
        "{}",
        stderr(&out)
    );
    let out = txwave(&[
        "audit",
        s(&h.log),
        "--from-height",
        "1",
        "--to-height",
        "4",
        "--index",
        s(&other.index),
        "--rule",
        "zip215",
        "--backend",
        "cpu",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("index of another log")
            || stderr(&out).contains("the index is not of this log"),
        "{}",
        stderr(&out)
    );

    // A damaged index.
    let mut damaged = std::fs::read(&h.index).unwrap();
    damaged[30] ^= 1;
    let bad_idx = h.root.join("bad.idx");
    std::fs::write(&bad_idx, damaged).unwrap();
    let out = h.replay(4, 8, &["--index", s(&bad_idx)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a valid block index: block index at byte")
            && stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );

    // A target below the start, and a target the logs do not reach.
    let out = h.replay(8, 4, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("below the start's height 8"));
    let short = h.root.join("short.blk");
    std::fs::write(&short, &log[..spans[10].0]).unwrap();
    let out = txwave(&[
        "replay",
        "--from",
        s(&h.checkpoint(8)),
        "--to",
        s(&h.checkpoint(12)),
        s(&short),
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the logs end at height 10, before the target's height 12"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_covers_the_history_and_checks_each_snapshot_against_the_index() {
    let h = History::new(7);
    let out = txwave(&[
        "plan",
        "--index",
        s(&h.index),
        "--snapshots",
        s(&h.root.join("cp")),
        "--genesis",
        s(&h.genesis),
    ]);
    ok(&out);
    let plan = json(&out);
    let ranges = plan["ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 6);
    for (k, r) in ranges.iter().enumerate() {
        assert_eq!(r["from_height"], 4 * k as u64);
        assert_eq!(r["to_height"], 4 * k as u64 + 4);
        assert_eq!(r["txs"], 240);
    }
    assert_eq!(plan["unverified_tail"], serde_json::Value::Null);
    // Without the last snapshot, the tail is named.
    let out = txwave(&[
        "plan",
        "--index",
        s(&h.index),
        "--snapshot",
        s(&h.checkpoint(4)),
        "--snapshot",
        s(&h.checkpoint(12)),
    ]);
    ok(&out);
    let plan = json(&out);
    assert_eq!(plan["ranges"].as_array().unwrap().len(), 1);
    assert_eq!(plan["unverified_tail"], serde_json::json!([13, 24]));
    // A snapshot of another chain is refused.
    let other = History::new(8);
    let out = txwave(&[
        "plan",
        "--index",
        s(&h.index),
        "--snapshot",
        s(&h.checkpoint(4)),
        "--snapshot",
        s(&other.checkpoint(8)),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the snapshot is not of this chain"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_with_an_index_starts_at_the_block_after_its_start_state() {
    let h = History::new(9);
    let idx = s(&h.index).to_string();
    let cp = h.checkpoint(8);
    let out = txwave(&[
        "run",
        s(&cp),
        s(&h.log),
        "--index",
        &idx,
        "--backend",
        "cpu",
        "--json",
    ]);
    ok(&out);
    let v = json(&out);
    assert_eq!(v["blocks"], 16);
    assert_eq!(v["skipped_blocks"], 8);
    assert_eq!(v["height"], 24);
    assert_eq!(v["state_root"].as_str().unwrap(), h.roots[23]);
    // A block that fails is named by its index in the log, counted from the log's start.
    tamper_tx(&h.log, 9, 0);
    let out = txwave(&[
        "run",
        s(&cp),
        s(&h.log),
        "--index",
        &idx,
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("blocks.blk: block 9: block at height 10: state root mismatch"),
        "{}",
        stderr(&out)
    );
    // A start state of another chain is refused before any block.
    let other = History::new(10);
    let out = txwave(&[
        "run",
        s(&other.checkpoint(8)),
        s(&h.log),
        "--index",
        &idx,
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the state does not come from this log"),
        "{}",
        stderr(&out)
    );
}
