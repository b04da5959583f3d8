//! End-to-end stream rate vs the raw signature-verification rate of the same signatures,
//! measured in the same process, with where the pipeline spends its time.
//!
//! ```text
//! cargo run --release --example stream_bench -- [BLOCKS] [TXS_PER_BLOCK] [ACCOUNTS] [QUEUE_DEPTH] [ROUNDS]
//! ```
//! Defaults: 10 blocks × 50,000 txs over 200,000 accounts, zip215, queue depth 2, 3
//! rounds, the CPU backend with one thread per core. The log is read through `LogReader`
//! from memory. Each round times the raw verification pass and then the stream, one after
//! the other, so that a round's ratio compares the two under the same machine load; the
//! last line gives the median ratio over the rounds.

use std::time::Instant;

use txwave::internal::workload::{GenConfig, Generated, generate};
use txwave::{
    Backend, Engine, EngineConfig, LogReader, State, StreamOptions, StreamSummary, VerifyRule,
};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Verifies every block's signatures, block by block, nothing else; returns the signature
/// count and the seconds it took.
fn raw_verify(engine: &Engine, g: &Generated) -> Result<(usize, f64), txwave::Error> {
    let t = Instant::now();
    let mut sigs = 0usize;
    for b in &g.blocks {
        let decoded: Vec<Option<txwave::Tx>> = b.txs().map(txwave::Tx::decode).collect();
        let (checks, _) = txwave::internal::verify::block_checks(b, &decoded);
        sigs += checks.len();
        let ok = engine.verify_signatures(&checks, VerifyRule::Zip215)?;
        std::hint::black_box(ok);
    }
    Ok((sigs, t.elapsed().as_secs_f64()))
}

/// The whole log through `process_stream` from genesis; the summary and the seconds.
fn stream(
    engine: &Engine,
    g: &Generated,
    log: &[u8],
    depth: usize,
) -> Result<(StreamSummary, f64), txwave::Error> {
    let mut state = State::from_genesis(&g.genesis)?;
    let t = Instant::now();
    let summary = engine.process_stream(
        &mut state,
        LogReader::new(log),
        &StreamOptions { queue_depth: depth },
    )?;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(summary.state_root, Some(g.final_state.state_root()));
    Ok((summary, secs))
}

fn print_stages(summary: &StreamSummary) {
    let ms = |ns: u64| ns as f64 / 1e6;
    for (name, st) in [
        ("read", summary.read),
        ("prepare", summary.prepare),
        ("apply", summary.apply),
    ] {
        println!(
            "  {name:<8} busy {:>9.1} ms  waiting on the stage before {:>9.1} ms  blocked on the next {:>9.1} ms",
            ms(st.busy_ns),
            ms(st.wait_input_ns),
            ms(st.wait_output_ns)
        );
    }
    let tm = &summary.timings;
    println!(
        "  per-block stage sums: decode {:.1} hash {:.1} verify {:.1} resolve {:.1} schedule {:.1} execute {:.1} commit {:.1} ms",
        ms(tm.decode_ns),
        ms(tm.hash_ns),
        ms(tm.verify_ns),
        ms(tm.resolve_ns),
        ms(tm.schedule_ns),
        ms(tm.execute_ns),
        ms(tm.commit_ns)
    );
    println!("  bound by {}", summary.bottleneck());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let blocks = arg(1, 10);
    let txs = arg(2, 50_000);
    let accounts = arg(3, 200_000);
    let depth = arg(4, 2);
    let rounds = arg(5, 3).max(1);
    let t = Instant::now();
    let g = generate(
        &GenConfig {
            verify_rule: VerifyRule::Zip215,
            ..GenConfig::sized(accounts, 16, blocks, txs, 1)
        },
        |_, _| {},
    )?;
    let log = g.block_log();
    eprintln!(
        "generated {blocks} blocks × {txs} txs over {accounts} accounts ({:.1} MB) in {:.1} s",
        log.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let engine = Engine::new(EngineConfig {
        backend: Backend::Cpu,
        ..Default::default()
    })?;
    println!("threads {}  queue depth {depth}", engine.threads());

    // An untimed pass fills the engine's key cache, so that every timed pass, raw or
    // streamed, finds every signer's key cached.
    raw_verify(&engine, &g)?;
    let mut ratios = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let (sigs, verify_s) = raw_verify(&engine, &g)?;
        let verify_rate = sigs as f64 / verify_s;
        let (summary, e2e_s) = stream(&engine, &g, &log, depth)?;
        let e2e_rate = summary.txs as f64 / e2e_s;
        let ratio = e2e_rate / verify_rate;
        ratios.push(ratio);
        println!("round {round}");
        println!("  raw verify: {sigs} signatures in {verify_s:.2} s = {verify_rate:.0} sig/s");
        println!(
            "  end to end: {} txs in {e2e_s:.2} s = {e2e_rate:.0} tx/s  (ratio {ratio:.3})",
            summary.txs
        );
        print_stages(&summary);
    }
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let list: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
    println!(
        "median ratio over {rounds} rounds: {:.3} ({})",
        sorted[sorted.len() / 2],
        list.join(", ")
    );
    Ok(())
}
