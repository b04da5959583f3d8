//! The summary of `txwave run`: what it counts per block and how it prints it (a table,
//! or JSON with `--json`).

use serde::Serialize;
use txwave::Status;
use txwave::internal::engine::{StageDevices, StageGpuTimings, StageTimings};
use txwave::internal::stream::StageStats;

#[derive(Serialize)]
pub(super) struct BlockLine {
    pub(super) height: u64,
    pub(super) txs: usize,
    pub(super) waves: usize,
    pub(super) largest_wave: usize,
    pub(super) accounts_rehashed: usize,
    pub(super) tx_root: String,
    pub(super) receipts_root: String,
    pub(super) state_root: String,
    pub(super) block_hash: String,
    pub(super) total_ns: u64,
}

#[derive(Serialize)]
pub(super) struct Summary {
    pub(super) backend: txwave::Backend,
    pub(super) device: String,
    pub(super) backend_note: Option<String>,
    /// Under `--backend auto`: what it sends to the GPU and where that came from.
    pub(super) auto_thresholds: Option<txwave::internal::calibration::AutoThresholds>,
    pub(super) gpu_compile_ns: u64,
    pub(super) threads: usize,
    pub(super) devices: Option<StageDevices>,
    pub(super) blocks: usize,
    pub(super) txs: usize,
    pub(super) statuses: std::collections::BTreeMap<&'static str, usize>,
    pub(super) executed: usize,
    pub(super) waves: usize,
    pub(super) largest_wave: usize,
    pub(super) average_parallelism: f64,
    pub(super) accounts: usize,
    pub(super) accounts_rehashed: usize,
    pub(super) key_cache: txwave::internal::verify::cache::CacheStats,
    /// Keys decompressed into the cache from the state before the first block.
    pub(super) keys_warmed: usize,
    pub(super) key_warm_ns: u64,
    pub(super) timings_ns: StageTimings,
    pub(super) gpu_timings_ns: StageGpuTimings,
    pub(super) pipeline_tx_per_s: f64,
    pub(super) wall_tx_per_s: f64,
    pub(super) wall_ns: u64,
    pub(super) height: u64,
    pub(super) state_root: String,
    pub(super) fallbacks: Vec<String>,
    /// Whether every block of the logs was applied.
    pub(super) complete: bool,
    /// Why the run stopped early: the error, or "interrupted".
    pub(super) stopped: Option<String>,
    /// The checkpoint the run resumed from, and the log blocks it skipped.
    pub(super) resumed_from: Option<String>,
    pub(super) skipped_blocks: usize,
    pub(super) checkpoints_written: usize,
    pub(super) last_checkpoint: Option<String>,
    pub(super) pipeline: Pipeline,
    pub(super) per_block: Vec<BlockLine>,
}

/// Where the stream's stages spent their time.
#[derive(Serialize, Default)]
pub(super) struct Pipeline {
    pub(super) queue_depth: usize,
    pub(super) read: StageStats,
    pub(super) prepare: StageStats,
    pub(super) apply: StageStats,
    /// Receipts, progress and checkpoints after each block (on the apply thread).
    pub(super) output_ns: u64,
    pub(super) stream_wall_ns: u64,
    pub(super) bound_by: &'static str,
}

pub(super) fn per_s(n: usize, ns: u64) -> f64 {
    if ns == 0 {
        0.0
    } else {
        n as f64 * 1e9 / ns as f64
    }
}

/// Adds an accepted block to the summary.
pub(super) fn add_block(s: &mut Summary, outcome: &txwave::BlockOutcome) {
    for r in &outcome.receipts {
        *s.statuses.entry(r.status.name()).or_default() += 1;
    }
    s.executed += outcome
        .receipts
        .iter()
        .filter(|r| !matches!(r.status, Status::Malformed | Status::BadSignature))
        .count();
    s.blocks += 1;
    s.txs += outcome.receipts.len();
    s.waves += outcome.waves;
    s.largest_wave = s.largest_wave.max(outcome.largest_wave);
    s.accounts_rehashed += outcome.accounts_rehashed;
    s.key_cache.add(&outcome.key_cache);
    s.timings_ns.add(&outcome.timings);
    s.gpu_timings_ns.add(&outcome.gpu_timings);
    s.devices = Some(outcome.devices);
    s.fallbacks.extend(outcome.fallbacks.iter().cloned());
    s.per_block.push(BlockLine {
        height: outcome.height,
        txs: outcome.receipts.len(),
        waves: outcome.waves,
        largest_wave: outcome.largest_wave,
        accounts_rehashed: outcome.accounts_rehashed,
        tx_root: hex::encode(outcome.tx_root),
        receipts_root: hex::encode(outcome.receipts_root),
        state_root: hex::encode(outcome.state_root),
        block_hash: hex::encode(outcome.block_hash),
        total_ns: outcome.timings.total_ns,
    });
}

fn ms(ns: u64) -> String {
    format!("{:>10.2} ms", ns as f64 / 1e6)
}

pub(super) fn print_summary(s: &Summary) {
    println!(
        "txwave run: {} blocks, {} txs on {}",
        s.blocks, s.txs, s.device
    );
    if let Some(note) = &s.backend_note {
        println!("  {note}");
    }
    if let Some(t) = &s.auto_thresholds {
        if let Some(note) = &t.note {
            println!("  {note}");
        }
        if s.backend == txwave::Backend::Gpu {
            println!("  {}", t.describe());
        }
    }
    if s.gpu_compile_ns > 0 {
        println!(
            "  verifier pipelines compiled in {:.2} s (once per engine)",
            s.gpu_compile_ns as f64 / 1e9
        );
    }
    if let Some(d) = &s.devices {
        println!(
            "  devices: hash {:?}, verify {:?}, resolve {:?}, execute {:?}, commit {:?} (decode, schedule and the creation of new accounts: CPU)",
            d.hash, d.verify, d.resolve, d.execute, d.commit
        );
    }
    println!();
    println!("receipts");
    for (name, n) in &s.statuses {
        if *n > 0 {
            println!("  {name:<22}{n:>10}");
        }
    }
    println!();
    println!(
        "waves {} (largest {}, average parallelism {:.1})",
        s.waves, s.largest_wave, s.average_parallelism
    );
    println!(
        "account leaves rehashed {} ({} accounts; the commit keeps the others between blocks)",
        s.accounts_rehashed, s.accounts
    );
    println!(
        "signer key cache: {} hits, {} misses (CPU signature checks); {} keys of the state decompressed at start ({:.1} ms)",
        s.key_cache.hits,
        s.key_cache.misses,
        s.keys_warmed,
        s.key_warm_ns as f64 / 1e6
    );
    println!();
    println!("time per stage");
    let t = &s.timings_ns;
    for (name, ns) in [
        ("decode", t.decode_ns),
        ("hash", t.hash_ns),
        ("verify", t.verify_ns),
        ("resolve", t.resolve_ns),
        ("schedule", t.schedule_ns),
        ("execute", t.execute_ns),
        ("commit", t.commit_ns),
        ("total", t.total_ns),
    ] {
        println!("  {name:<10}{}", ms(ns));
    }
    let g = &s.gpu_timings_ns;
    for (name, t) in [
        ("hash", &g.hash),
        ("verify", &g.verify),
        ("resolve", &g.resolve),
        ("execute", &g.execute),
        ("commit", &g.commit),
    ] {
        if t.upload_ns + t.dispatch_ns + t.readback_ns > 0 {
            let pass = t
                .gpu_pass_ns
                .map_or("n/a".to_string(), |ns| format!("{:.2} ms", ns as f64 / 1e6));
            println!(
                "  gpu {name:<7} upload {:.2} ms, dispatch {:.2} ms, readback {:.2} ms, device passes {pass}",
                t.upload_ns as f64 / 1e6,
                t.dispatch_ns as f64 / 1e6,
                t.readback_ns as f64 / 1e6
            );
        }
    }
    println!();
    let p = &s.pipeline;
    println!(
        "pipeline (queue depth {}, stream wall {:.2} ms, bound by {})",
        p.queue_depth,
        p.stream_wall_ns as f64 / 1e6,
        p.bound_by
    );
    for (name, st, waits_on) in [
        ("read", &p.read, "-"),
        ("prepare", &p.prepare, "read"),
        ("apply", &p.apply, "prepare"),
    ] {
        println!(
            "  {name:<8} busy {} waiting on {waits_on:<8}{} blocked on the next stage {}",
            ms(st.busy_ns),
            ms(st.wait_input_ns),
            ms(st.wait_output_ns)
        );
    }
    println!(
        "  output   busy {} (receipts, progress, checkpoints)",
        ms(p.output_ns)
    );
    println!();
    println!(
        "throughput: {:.0} tx/s in the pipeline, {:.0} tx/s wall (including loading)",
        s.pipeline_tx_per_s, s.wall_tx_per_s
    );
    for f in &s.fallbacks {
        println!("fallback: {f}");
    }
    if let Some(r) = &s.resumed_from {
        println!(
            "resumed from {r}, skipping {} blocks of the log",
            s.skipped_blocks
        );
    }
    if let Some(c) = &s.last_checkpoint {
        println!("checkpoints written {} (last {c})", s.checkpoints_written);
    }
    if let Some(why) = &s.stopped {
        println!(
            "stopped early: {why}; {} blocks applied before it",
            s.blocks
        );
    }
    println!("height {}  state root {}", s.height, s.state_root);
}
