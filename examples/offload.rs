//! A validator's signature offload on [`txwave::VerifyService`]: producer threads submit
//! packets of random sizes (a mix of valid and invalid signatures, both rules) as a
//! network stage would, wait for each answer, and check it against ed25519-dalek
//! `verify_strict` / ed25519-zebra. Then the same signatures go through
//! `Engine::verify_signatures` as one big batch per rule, for comparison.
//!
//! ```text
//! cargo run --release --example offload -- [--threads 16] [--packets 160] [--max-size 512]
//!     [--invalid 0.2] [--in-flight 1] [--offered SIG_PER_S] [--budget-ms 1] [--max-batch 4096]
//!     [--workers 2] [--backend cpu|gpu|auto] [--adapter NAME] [--calibration FILE] [--seed 1]
//!     [--distinct 262144] [--verify-shape register|straight] [--basepoint-table]
//!     [--workgroup-size KERNEL=N,…]
//! ```
//!
//! The default load is sized to the latency bound a validator asks for (an answer within
//! twice the latency budget plus one batch's verification time): 16 producers with one
//! packet each in flight, packets of 1–512 signatures (log-uniform, mean ≈ 82), so about
//! 1,300 signatures are outstanding at once, well under one 4,096-signature batch. With
//! packets of up to a few thousand (`--max-size 4096`) the producers keep ≈ 8,000
//! outstanding and, the service being saturated, every answer waits for that much work
//! (Little's law) whatever the batching. The signers are drawn from 262,144 keys, so a key
//! rarely signs twice in a run: with few keys (`--distinct 65536`) one big batch, sorted by
//! key, merges the terms of equal keys, which the service's small batches cannot.
//!
//! The last line is
//! `offload: <submitted> submissions, <sigs> signatures, <lost> lost, <wrong> wrong,
//! p50 <x> ms, p99 <y> ms, <rate> sig/s`, where latency runs from `submit` to the end of
//! `wait` and the rate is signatures over the wall time of the whole load. A lost
//! submission or a verdict that differs from the oracles' (in the service or in the big
//! batches) makes the program exit with status 1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use txwave::{
    Backend, Engine, EngineConfig, OwnedSigCheck, ServiceOptions, SigCheck, VerifyRule,
    VerifyService,
};

struct Args {
    threads: usize,
    packets: usize,
    max_size: usize,
    invalid: f64,
    in_flight: usize,
    offered: Option<f64>,
    options: ServiceOptions,
    backend: Backend,
    adapter: Option<String>,
    calibration: Option<std::path::PathBuf>,
    gpu: txwave::GpuTunables,
    seed: u64,
    distinct: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        threads: 16,
        packets: 160,
        max_size: 512,
        invalid: 0.2,
        in_flight: 1,
        offered: None,
        options: ServiceOptions::default(),
        backend: Backend::Cpu,
        adapter: None,
        calibration: None,
        gpu: txwave::GpuTunables::default(),
        seed: 1,
        distinct: 262_144,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--threads" => a.threads = num(value()?)? as usize,
            "--packets" => a.packets = num(value()?)? as usize,
            "--max-size" => a.max_size = num(value()?)? as usize,
            "--invalid" => a.invalid = num(value()?)?,
            "--in-flight" => a.in_flight = num(value()?)? as usize,
            "--offered" => a.offered = Some(num(value()?)?),
            "--budget-ms" => {
                a.options.latency_budget = Duration::from_secs_f64(num(value()?)? / 1e3)
            }
            "--max-batch" => a.options.max_batch = num(value()?)? as usize,
            "--workers" => a.options.workers = num(value()?)? as usize,
            "--calibration" => a.calibration = Some(value()?.into()),
            "--seed" => a.seed = num(value()?)? as u64,
            "--distinct" => a.distinct = num(value()?)? as usize,
            "--adapter" => a.adapter = Some(value()?),
            "--verify-shape" => {
                a.gpu.verify.shape = value()?.parse().map_err(|e| format!("{flag}: {e}"))?
            }
            "--basepoint-table" => a.gpu.verify.basepoint_table = true,
            "--workgroup-size" => a
                .gpu
                .apply_workgroup_spec(&value()?)
                .map_err(|e| format!("{flag}: {e}"))?,
            "--backend" => {
                a.backend = match value()?.as_str() {
                    "cpu" => Backend::Cpu,
                    "gpu" => Backend::Gpu,
                    "auto" => Backend::Auto,
                    other => return Err(format!("--backend {other}: expected cpu, gpu or auto")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.threads == 0
        || a.max_size == 0
        || a.distinct == 0
        || a.in_flight == 0
        || !(0.0..=1.0).contains(&a.invalid)
    {
        return Err(
            "--threads, --max-size, --in-flight, --distinct must be >= 1 and --invalid in 0..1"
                .into(),
        );
    }
    Ok(a)
}

/// A packet before its signatures are copied: its rule and, per signature, the pool
/// index and whether the corrupted twin is used.
type Plan = (VerifyRule, Vec<(usize, bool)>);

/// A packet: its rule, signatures and the oracle's verdicts.
struct Packet {
    rule: VerifyRule,
    checks: Vec<OwnedSigCheck>,
    want: Vec<bool>,
}

fn oracle(rule: VerifyRule, c: &OwnedSigCheck) -> bool {
    match rule {
        VerifyRule::Strict => {
            ed25519_dalek::VerifyingKey::from_bytes(&c.public_key).is_ok_and(|k| {
                k.verify_strict(
                    &c.message,
                    &ed25519_dalek::Signature::from_bytes(&c.signature),
                )
                .is_ok()
            })
        }
        VerifyRule::Zip215 => {
            ed25519_zebra::VerificationKey::try_from(c.public_key).is_ok_and(|k| {
                k.verify(
                    &ed25519_zebra::Signature::from_bytes(&c.signature),
                    &c.message,
                )
                .is_ok()
            })
        }
    }
}

/// `n` distinct signed transactions (keys and 100–300-byte messages from `seed`) and a
/// corrupted twin of each; packets draw from them.
fn signature_pool(n: usize, seed: u64) -> (Vec<OwnedSigCheck>, Vec<OwnedSigCheck>) {
    let valid: Vec<OwnedSigCheck> = (0..n as u64)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (i << 20));
            let key = SigningKey::from_bytes(&rng.r#gen());
            let len = rng.gen_range(100..300);
            let message: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            OwnedSigCheck {
                public_key: key.verifying_key().to_bytes(),
                signature: key.sign(&message).to_bytes(),
                message: message.into(),
            }
        })
        .collect();
    let invalid = valid
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut bad = c.clone();
            match i % 3 {
                0 => {
                    let mut m = bad.message.to_vec();
                    m[0] ^= 1;
                    bad.message = m.into();
                }
                1 => bad.signature[i % 32] ^= 0x10,
                _ => bad.signature[63] |= 0xf0,
            }
            bad
        })
        .collect();
    (valid, invalid)
}

/// Signatures per second of `Engine::verify_signatures` on all of `big` as one batch per
/// rule, and how many it rejected.
/// Every signature of the load as one `verify_signatures` call per rule: the rate, and the
/// signatures rejected. An answer that differs from the oracles' ends the program.
fn one_big_batch(
    engine: &Engine,
    big: &[Vec<OwnedSigCheck>; 2],
    want: &[Vec<bool>; 2],
) -> (f64, usize) {
    let mut spent = Duration::ZERO;
    let mut rejected = 0usize;
    for rule in [VerifyRule::Strict, VerifyRule::Zip215] {
        let checks: Vec<SigCheck<'_>> = big[rule as usize]
            .iter()
            .map(OwnedSigCheck::as_check)
            .collect();
        let t = Instant::now();
        let got = engine.verify_signatures(&checks, rule);
        spent += t.elapsed();
        match got {
            Ok(v) if v == want[rule as usize] => rejected += v.iter().filter(|ok| !**ok).count(),
            Ok(v) => {
                let wrong = v
                    .iter()
                    .zip(&want[rule as usize])
                    .filter(|(a, b)| a != b)
                    .count();
                eprintln!(
                    "offload: one big batch under {}: {wrong} verdicts differ from the oracles'",
                    rule.name()
                );
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("offload: one big batch: {e}");
                std::process::exit(1);
            }
        }
    }
    let n: usize = big.iter().map(Vec::len).sum();
    (n as f64 / spent.as_secs_f64(), rejected)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("offload: {e}");
            std::process::exit(2);
        }
    };
    let engine = match Engine::new(EngineConfig {
        backend: args.backend,
        adapter: args.adapter.clone(),
        placement: txwave::Placement {
            calibration: args.calibration.clone(),
            ..Default::default()
        },
        gpu: args.gpu,
        ..Default::default()
    }) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("offload: {e}");
            std::process::exit(2);
        }
    };
    println!("device: {}", engine.device_name());
    if args.backend != Backend::Cpu {
        println!("gpu tunables: {:?}", args.gpu);
    }

    // The load, prepared before the clock starts.
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed);
    let (valid, invalid) = signature_pool(args.distinct, args.seed);
    // Each packet as (rule, [(pool index, corrupted?)]), then the oracle's verdicts for
    // the corrupted signatures the packets use, then the packets themselves.
    let plans: Vec<Vec<Plan>> = (0..args.threads)
        .map(|_| {
            (0..args.packets)
                .map(|_| {
                    // Sizes log-uniform over 1..=max_size: many small packets, a few large.
                    let n = (args.max_size as f64).powf(rng.r#gen::<f64>()).round() as usize;
                    let n = n.clamp(1, args.max_size);
                    let rule = if rng.gen_bool(0.5) {
                        VerifyRule::Strict
                    } else {
                        VerifyRule::Zip215
                    };
                    let picks = (0..n)
                        .map(|_| (rng.gen_range(0..valid.len()), rng.gen_bool(args.invalid)))
                        .collect();
                    (rule, picks)
                })
                .collect()
        })
        .collect();
    let mut corrupted: Vec<usize> = plans
        .iter()
        .flatten()
        .flat_map(|(_, picks)| picks.iter().filter(|p| p.1).map(|p| p.0))
        .collect();
    corrupted.sort_unstable();
    corrupted.dedup();
    let verdicts: std::collections::HashMap<usize, [bool; 2]> = corrupted
        .par_iter()
        .map(|&i| {
            let c = &invalid[i];
            (
                i,
                [oracle(VerifyRule::Strict, c), oracle(VerifyRule::Zip215, c)],
            )
        })
        .collect();
    let loads: Vec<Vec<Packet>> = plans
        .into_iter()
        .map(|packets| {
            packets
                .into_iter()
                .map(|(rule, picks)| {
                    let (checks, want) = picks
                        .into_iter()
                        .map(|(i, bad)| {
                            if bad {
                                (invalid[i].clone(), verdicts[&i][rule as usize])
                            } else {
                                (valid[i].clone(), true)
                            }
                        })
                        .unzip();
                    Packet { rule, checks, want }
                })
                .collect()
        })
        .collect();
    let total_sigs: usize = loads.iter().flatten().map(|p| p.checks.len()).sum();
    // A copy of every signature for the one-big-batch comparison.
    let mut big: [Vec<OwnedSigCheck>; 2] = [Vec::new(), Vec::new()];
    let mut big_want: [Vec<bool>; 2] = [Vec::new(), Vec::new()];
    for p in loads.iter().flatten() {
        big[p.rule as usize].extend(p.checks.iter().cloned());
        big_want[p.rule as usize].extend(&p.want);
    }

    // An untimed pass fills the engine's key cache, so that both big-batch passes and the
    // service find every signer's key cached (else the first pass alone pays for the
    // decompressions).
    let _ = one_big_batch(&engine, &big, &big_want);
    let (before, _) = one_big_batch(&engine, &big, &big_want);
    let service = match VerifyService::new(engine.clone(), args.options.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("offload: {e}");
            std::process::exit(2);
        }
    };
    if let Some(rates) = engine
        .rates()
        .get(txwave::internal::split::Stage::VerifyStrict)
    {
        println!("rates ({:?}): {rates:?}", engine.rates().source());
    }
    let per_thread_rate = args.offered.map(|r| r / args.threads as f64);
    let started = Instant::now();
    let results: Vec<(Vec<f64>, usize, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = loads
            .into_iter()
            .map(|packets| {
                let service = &service;
                s.spawn(move || {
                    let mut latencies = Vec::with_capacity(packets.len());
                    let (mut lost, mut wrong) = (0, 0);
                    let mut refused = 0;
                    let mut in_flight = std::collections::VecDeque::new();
                    let mut settle = |(h, want, t0): (txwave::VerifyHandle, Vec<bool>, Instant)| {
                        match h.wait() {
                            Ok(got) => {
                                latencies.push(t0.elapsed().as_secs_f64() * 1e3);
                                wrong += got.iter().zip(&want).filter(|(a, b)| a != b).count();
                                wrong += got.len().abs_diff(want.len());
                            }
                            Err(_) => lost += 1,
                        }
                    };
                    let begin = Instant::now();
                    let mut sent = 0usize;
                    for p in packets {
                        if let Some(rate) = per_thread_rate {
                            let due = begin + Duration::from_secs_f64(sent as f64 / rate);
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        }
                        sent += p.checks.len();
                        let t0 = Instant::now();
                        match service.submit(p.checks, p.rule) {
                            Ok(h) => in_flight.push_back((h, p.want, t0)),
                            Err(_) => refused += 1,
                        }
                        if in_flight.len() >= args.in_flight
                            && let Some(f) = in_flight.pop_front()
                        {
                            settle(f);
                        }
                    }
                    for f in in_flight {
                        settle(f);
                    }
                    (latencies, lost + refused, wrong)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("producer thread"))
            .collect()
    });
    let wall = started.elapsed().as_secs_f64();
    let stats = service.shutdown();
    let mut latencies: Vec<f64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    latencies.sort_by(f64::total_cmp);
    let lost: usize = results.iter().map(|r| r.1).sum();
    let wrong: usize = results.iter().map(|r| r.2).sum();
    let rate = total_sigs as f64 / wall;
    println!(
        "service: {} batches ({} full, {} on the budget), {} sig on the CPU, {} on the GPU in {} batches, {} failovers, peak {} held",
        stats.batches,
        stats.full_flushes,
        stats.timed_flushes,
        stats.cpu_signatures,
        stats.gpu_signatures,
        stats.gpu_batches,
        stats.failovers,
        stats.peak_held
    );

    // The same signatures as one big batch per rule, after the load (and before it, see
    // above): the mean of the two is the comparison, as the machine's load may drift.
    let (after, rejected) = one_big_batch(&engine, &big, &big_want);
    let big_rate = (before + after) / 2.0;
    println!(
        "one big batch (Engine::verify_signatures, {total_sigs} signatures, {rejected} rejected): {before:.0} sig/s before, {after:.0} after; service / big batch = {:.2}",
        rate / big_rate
    );
    let p99 = percentile(&latencies, 0.99);
    let bound_ms = 2.0 * args.options.latency_budget.as_secs_f64() * 1e3
        + args.options.max_batch as f64 / big_rate * 1e3;
    println!(
        "p99 {p99:.2} ms against 2 × budget + one {}-signature batch at the big-batch rate = {bound_ms:.2} ms: {}",
        args.options.max_batch,
        if p99 <= bound_ms { "within" } else { "above" }
    );
    println!(
        "offload: {} submissions, {} signatures, {} lost, {} wrong, p50 {:.2} ms, p99 {:.2} ms, {:.0} sig/s",
        stats.submissions,
        total_sigs,
        lost + (stats.submissions - stats.answered) as usize,
        wrong,
        percentile(&latencies, 0.5),
        p99,
        rate
    );
    let lost = lost + (stats.submissions - stats.answered) as usize;
    if lost > 0 || wrong > 0 {
        eprintln!("offload: {lost} submissions lost and {wrong} verdicts wrong");
        std::process::exit(1);
    }
}
