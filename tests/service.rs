//! The verify service and the shared engine: many threads submitting batches of 1 to
//! 10,000 signatures under both rules with 0–50% invalid ones, every verdict checked
//! against ed25519-dalek `verify_strict` / ed25519-zebra; the queue bound; closing;
//! the GPU split and a forced GPU error on whatever adapter exists (lavapipe in CI; the
//! GPU test skips without one unless `TXWAVE_REQUIRE_GPU=1`). Every test runs under a
//! timeout of its own, so a deadlock fails instead of hanging.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use txwave::internal::engine::Device;
use txwave::internal::split::{DeviceRates, Stage};
use txwave::internal::workload::{GenConfig, generate};
use txwave::{
    Backend, Engine, EngineConfig, Error, OwnedSigCheck, ServiceOptions, State, VerifyHandle,
    VerifyRule, VerifyService,
};

/// Runs `f` on a thread of its own and fails the test if it has not finished in `limit`.
fn with_timeout<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            worker.join().expect("test thread");
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("timed out after {limit:?}: deadlock or livelock")
        }
    }
}

fn oracle_strict(c: &OwnedSigCheck) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&c.public_key) else {
        return false;
    };
    key.verify_strict(
        &c.message,
        &ed25519_dalek::Signature::from_bytes(&c.signature),
    )
    .is_ok()
}

fn oracle_zip215(c: &OwnedSigCheck) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(c.public_key) else {
        return false;
    };
    key.verify(
        &ed25519_zebra::Signature::from_bytes(&c.signature),
        &c.message,
    )
    .is_ok()
}

/// Signatures to draw batches from, with both oracles' verdicts computed once.
struct Pool {
    valid: Vec<OwnedSigCheck>,
    invalid: Vec<OwnedSigCheck>,
    /// Oracle verdicts of `invalid[i]` under (strict, zip215): all false but the rare
    /// mutation that stays valid, which the oracle decides, not the test.
    invalid_verdicts: Vec<(bool, bool)>,
}

impl Pool {
    fn new(distinct: usize, seed: u64) -> Pool {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let valid: Vec<OwnedSigCheck> = (0..distinct)
            .map(|_| {
                let key = SigningKey::from_bytes(&rng.r#gen());
                let len = rng.gen_range(0..200);
                let message: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
                OwnedSigCheck {
                    public_key: key.verifying_key().to_bytes(),
                    signature: key.sign(&message).to_bytes(),
                    message: message.into(),
                }
            })
            .collect();
        let invalid: Vec<OwnedSigCheck> = valid
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut bad = c.clone();
                match i % 5 {
                    0 => bad.message = [&bad.message[..], &[1]].concat().into(),
                    1 => bad.signature[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                    2 => bad.signature[rng.gen_range(32..64)] ^= 1 << rng.gen_range(0..8),
                    3 => bad.public_key = valid[(i + 1) % valid.len()].public_key,
                    // S with its top bits set: not canonical under either rule.
                    _ => bad.signature[63] |= 0xf0,
                }
                bad
            })
            .collect();
        let invalid_verdicts = invalid
            .iter()
            .map(|c| (oracle_strict(c), oracle_zip215(c)))
            .collect();
        for c in &valid {
            assert!(oracle_strict(c) && oracle_zip215(c), "generated signature");
        }
        Pool {
            valid,
            invalid,
            invalid_verdicts,
        }
    }

    /// A batch of `n` with each signature invalid with probability `bad`, and the
    /// oracle's verdicts of it under `rule`.
    fn batch(
        &self,
        rng: &mut ChaCha20Rng,
        n: usize,
        bad: f64,
        rule: VerifyRule,
    ) -> (Vec<OwnedSigCheck>, Vec<bool>) {
        (0..n)
            .map(|_| {
                if rng.gen_bool(bad) {
                    let i = rng.gen_range(0..self.invalid.len());
                    let (s, z) = self.invalid_verdicts[i];
                    let v = if rule == VerifyRule::Strict { s } else { z };
                    (self.invalid[i].clone(), v)
                } else {
                    (self.valid[rng.gen_range(0..self.valid.len())].clone(), true)
                }
            })
            .unzip()
    }
}

/// Sizes from 1 to 10,000, mostly small as validator packets are.
fn batch_size(rng: &mut ChaCha20Rng) -> usize {
    match rng.gen_range(0..100) {
        0..90 => rng.gen_range(1..=64),
        90..99 => rng.gen_range(65..=1000),
        _ => rng.gen_range(1001..=10_000),
    }
}

fn cpu_engine() -> Arc<Engine> {
    Arc::new(common::cpu_engine())
}

/// `threads` producers each submit `per_thread` batches (sizes from `batch_size`, one
/// rule drawn per batch, a share of invalid signatures drawn from 0–50% per batch) and
/// check each answer against the oracle verdicts. Returns the signatures submitted.
fn hammer(service: &VerifyService, pool: &Pool, threads: usize, per_thread: usize) -> u64 {
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let total = &total;
            s.spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(1000 + t as u64);
                // Keep a few submissions in flight per thread, as a packet pipeline does.
                let mut in_flight: Vec<(VerifyHandle, Vec<bool>)> = Vec::new();
                for i in 0..per_thread {
                    // Thread 0 starts with the largest batch, so every run has one.
                    let n = if t == 0 && i == 0 {
                        10_000
                    } else {
                        batch_size(&mut rng)
                    };
                    let rule = if rng.gen_bool(0.5) {
                        VerifyRule::Strict
                    } else {
                        VerifyRule::Zip215
                    };
                    let bad = rng.gen_range(0.0..=0.5);
                    let (batch, want) = pool.batch(&mut rng, n, bad, rule);
                    let handle = service.submit(batch, rule).expect("submit");
                    assert_eq!(handle.rule(), rule);
                    total.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    in_flight.push((handle, want));
                    if in_flight.len() >= 4 {
                        let (h, want) = in_flight.remove(0);
                        assert_eq!(h.wait().expect("answer"), want, "thread {t} batch {i}");
                    }
                }
                for (h, want) in in_flight {
                    assert_eq!(h.wait().expect("answer"), want, "thread {t} tail");
                }
            });
        }
    });
    total.into_inner()
}

#[test]
fn sixteen_threads_get_exactly_their_verdicts_on_the_cpu() {
    with_timeout(Duration::from_secs(240), || {
        let pool = Pool::new(1500, 7);
        let service = VerifyService::new(cpu_engine(), ServiceOptions::default()).unwrap();
        let sigs = hammer(&service, &pool, 16, 125);
        let stats = service.shutdown();
        assert_eq!(stats.submissions, 16 * 125);
        assert_eq!(stats.answered, stats.submissions, "{stats:?}");
        assert_eq!(stats.signatures, sigs);
        assert_eq!(stats.cpu_signatures, sigs, "no GPU: all on the CPU");
        assert_eq!(stats.gpu_signatures, 0);
        assert!(stats.batches < stats.submissions, "coalesced: {stats:?}");
        assert!(
            stats.full_flushes > 0 && stats.timed_flushes > 0,
            "{stats:?}"
        );
        assert!(stats.peak_held <= ServiceOptions::default().queue_capacity as u64);
    });
}

#[test]
#[ignore = "16 threads x 1000 batches, about 2M signatures: about a minute with --release on 2 cores, several in a debug build; run with `cargo test --release --test service -- --ignored` after a change to src/service.rs"]
fn sixteen_threads_many_batches_on_the_cpu() {
    with_timeout(Duration::from_secs(3600), || {
        let pool = Pool::new(4000, 8);
        let service = VerifyService::new(cpu_engine(), ServiceOptions::default()).unwrap();
        let sigs = hammer(&service, &pool, 16, 1000);
        let stats = service.shutdown();
        assert_eq!(stats.answered, 16_000);
        assert_eq!(stats.signatures, sigs);
    });
}

#[test]
fn the_queue_bound_holds_under_a_producer_that_outruns_the_service() {
    with_timeout(Duration::from_secs(120), || {
        let pool = Pool::new(200, 9);
        let capacity = 2000;
        let options = ServiceOptions {
            max_batch: 500,
            queue_capacity: capacity,
            workers: 1,
            ..Default::default()
        };
        let service = VerifyService::new(cpu_engine(), options).unwrap();
        let peak_seen = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            // A watcher samples what the service holds while 8 producers flood it.
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak_seen.fetch_max(service.held(), std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(Duration::from_micros(200));
                }
            });
            std::thread::scope(|p| {
                for t in 0..8u64 {
                    let (service, pool) = (&service, &pool);
                    p.spawn(move || {
                        let mut rng = ChaCha20Rng::seed_from_u64(t);
                        let mut handles = Vec::new();
                        for _ in 0..40 {
                            let (batch, want) = pool.batch(&mut rng, 300, 0.2, VerifyRule::Strict);
                            handles
                                .push((service.submit(batch, VerifyRule::Strict).unwrap(), want));
                        }
                        for (h, want) in handles {
                            assert_eq!(h.wait().unwrap(), want);
                        }
                    });
                }
            });
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let stats = service.stats();
        let peak = peak_seen.into_inner();
        assert!(peak <= capacity, "held {peak} > {capacity}");
        assert!(
            stats.peak_held as usize <= capacity,
            "peak {} > {capacity}",
            stats.peak_held
        );
        // 8 producers of 12,000 signatures each outrun one worker: the queue filled.
        assert!(stats.peak_held as usize > capacity - 300, "{stats:?}");
        assert_eq!(stats.answered, 320);
    });
}

#[test]
fn try_submit_is_busy_when_full_and_close_refuses_but_drains() {
    with_timeout(Duration::from_secs(60), || {
        let pool = Pool::new(100, 10);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // A batch never fills and the budget never runs out: only closing flushes.
        let options = ServiceOptions {
            max_batch: 1000,
            queue_capacity: 1000,
            latency_budget: Duration::from_secs(3600),
            ..Default::default()
        };
        let service = VerifyService::new(cpu_engine(), options).unwrap();
        let (a, want_a) = pool.batch(&mut rng, 600, 0.3, VerifyRule::Zip215);
        let ha = service.try_submit(a, VerifyRule::Zip215).unwrap();
        let (b, _) = pool.batch(&mut rng, 500, 0.3, VerifyRule::Strict);
        match service.try_submit(b, VerifyRule::Strict) {
            Err(Error::Busy(what)) => assert!(what.contains("600 of 1000"), "{what}"),
            other => panic!("expected busy, got {other:?}"),
        }
        let (c, want_c) = pool.batch(&mut rng, 400, 0.3, VerifyRule::Strict);
        let hc = service.try_submit(c, VerifyRule::Strict).unwrap();
        let empty = service.submit(Vec::new(), VerifyRule::Strict).unwrap();
        assert_eq!(empty.wait().unwrap(), Vec::<bool>::new());
        // Nothing is flushed yet: polling gives the handle back.
        std::thread::sleep(Duration::from_millis(50));
        let ha = ha.try_get().expect_err("not flushed before close");
        let too_big = pool.batch(&mut rng, 1001, 0.0, VerifyRule::Strict).0;
        assert!(matches!(
            service.submit(too_big, VerifyRule::Strict),
            Err(Error::InvalidArgument(_))
        ));
        service.close();
        assert!(matches!(
            service.submit(pool.valid[..1].to_vec(), VerifyRule::Strict),
            Err(Error::Closed(_))
        ));
        assert_eq!(ha.wait().unwrap(), want_a);
        assert_eq!(hc.wait().unwrap(), want_c);
        let stats = service.shutdown();
        assert_eq!(stats.busy, 1);
        assert_eq!(stats.submissions, 3);
        assert_eq!(stats.answered, 3);
        assert_eq!(stats.batches, 2, "one per rule: {stats:?}");
    });
}

#[test]
fn the_engine_serves_many_threads_at_once() {
    with_timeout(Duration::from_secs(120), || {
        let engine = cpu_engine();
        let g = generate(&GenConfig::sized(200, 3, 3, 200, 21), |_, _| {}).unwrap();
        let genesis = State::from_genesis(&g.genesis).unwrap();
        let mut serial = genesis.clone();
        let want: Vec<[u8; 32]> = g
            .blocks
            .iter()
            .map(|b| engine.process_block(&mut serial, b).unwrap().state_root)
            .collect();
        let pool = Pool::new(300, 11);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (sigs, verdicts) = pool.batch(&mut rng, 2000, 0.3, VerifyRule::Strict);
        let checks: Vec<_> = sigs.iter().map(OwnedSigCheck::as_check).collect();
        let msgs: Vec<&[u8]> = sigs.iter().map(|c| &c.message[..]).collect();
        let hashes: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
        std::thread::scope(|s| {
            for t in 0..8 {
                let (engine, genesis, g, want) = (&engine, &genesis, &g, &want);
                let (checks, verdicts, msgs, hashes) = (&checks, &verdicts, &msgs, &hashes);
                s.spawn(move || {
                    for _ in 0..3 {
                        match t % 3 {
                            0 => {
                                let mut state = genesis.clone();
                                for (b, root) in g.blocks.iter().zip(want) {
                                    let out = engine.process_block(&mut state, b).unwrap();
                                    assert_eq!(&out.state_root, root);
                                }
                            }
                            1 => assert_eq!(
                                &engine
                                    .verify_signatures(checks, VerifyRule::Strict)
                                    .unwrap(),
                                verdicts
                            ),
                            _ => assert_eq!(&engine.hash_many(msgs).unwrap(), hashes),
                        }
                    }
                });
            }
        });
    });
}

/// Rates that give the GPU half of every batch (lavapipe would otherwise get none).
fn even_rates(engine: &Engine) {
    let even = DeviceRates {
        cpu_per_s: 1000.0,
        gpu_per_s: 1000.0,
        gpu_overhead_s: 0.0,
    };
    for stage in [Stage::VerifyStrict, Stage::VerifyZip215, Stage::Hash] {
        engine.rates().set(stage, even);
    }
    engine.rates().set_adaptive(false);
}

#[test]
fn gpu_split_service_blocks_and_a_forced_gpu_error() {
    with_timeout(Duration::from_secs(900), || {
        let Some(ctx) = txwave::internal::gpu::test_context() else {
            return;
        };
        let engine = Arc::new(
            Engine::new(EngineConfig {
                backend: Backend::Auto,
                adapter: Some(ctx.adapter.name.clone()),
                placement: txwave::Placement {
                    auto_min_hash_batch: 64,
                    auto_min_verify_batch: 64,
                    // The service's GPU shares of its 256-signature batches.
                    min_gpu_share: 32,
                    ..Default::default()
                },
                ..Default::default()
            })
            .expect("engine on the test adapter"),
        );
        drop(ctx);
        assert_eq!(engine.backend(), Backend::Gpu);
        even_rates(&engine);
        let pool = Pool::new(300, 12);

        // hash_many and verify_signatures split: same results as the CPU.
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let (sigs, want) = pool.batch(&mut rng, 300, 0.4, VerifyRule::Zip215);
        let checks: Vec<_> = sigs.iter().map(OwnedSigCheck::as_check).collect();
        let run = engine.verify_split(&checks, VerifyRule::Zip215, 64);
        assert_eq!(run.device(), Device::Hybrid, "{:?}", run.gpu_error);
        assert_eq!((run.gpu_items, run.cpu_items), (150, 150));
        assert_eq!(run.value, want);
        let msgs: Vec<&[u8]> = (0..1000)
            .map(|i| &sigs[i % sigs.len()].message[..])
            .collect();
        let hashes: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
        let run = engine.hash_split(&msgs);
        assert_eq!((run.gpu_items, run.device()), (500, Device::Hybrid));
        assert_eq!(run.value, hashes);
        assert_eq!(engine.hash_many(&msgs).unwrap(), hashes);

        // process_block: the verify stage splits, the block equals the CPU engine's.
        let g = generate(&GenConfig::sized(100, 2, 1, 600, 4), |_, _| {}).unwrap();
        let genesis = State::from_genesis(&g.genesis).unwrap();
        let (mut a, mut b) = (genesis.clone(), genesis);
        let x = cpu_engine().process_block(&mut a, &g.blocks[0]).unwrap();
        let y = engine.process_block(&mut b, &g.blocks[0]).unwrap();
        assert_eq!(y.devices.verify, Device::Hybrid, "{:?}", y.fallbacks);
        assert_eq!(y.receipts, x.receipts);
        assert_eq!(y.state_root, x.state_root);

        // The service on the GPU and the CPU at once: 4 threads, small batches.
        let options = ServiceOptions {
            max_batch: 256,
            ..Default::default()
        };
        let service = VerifyService::new(engine.clone(), options).unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (service, pool) = (&service, &pool);
                s.spawn(move || {
                    let mut rng = ChaCha20Rng::seed_from_u64(50 + t);
                    for i in 0..8 {
                        let rule = if i % 2 == 0 {
                            VerifyRule::Strict
                        } else {
                            VerifyRule::Zip215
                        };
                        let n = rng.gen_range(1..=120);
                        let (batch, want) = pool.batch(&mut rng, n, 0.5, rule);
                        let got = service.submit(batch, rule).unwrap().wait().unwrap();
                        assert_eq!(got, want, "thread {t} batch {i}");
                    }
                });
            }
        });
        let before = service.stats();
        assert!(before.gpu_signatures > 0, "{before:?}");
        assert_eq!(before.failovers, 0, "{before:?}");

        // A forced GPU error: the CPU verifies the GPU's part, every answer is right.
        engine.gpu_context().unwrap().inject_fault();
        let (batch, want) = pool.batch(&mut rng, 200, 0.5, VerifyRule::Strict);
        let started = Instant::now();
        let got = service.submit(batch, VerifyRule::Strict).unwrap().wait();
        assert_eq!(got.unwrap(), want);
        let after = service.shutdown();
        assert_eq!(after.failovers, 1, "{after:?}");
        assert_eq!(after.answered, after.submissions);
        assert!(started.elapsed() < Duration::from_secs(120));
    });
}

#[test]
fn handles_are_futures_answered_once_each_under_a_tokio_runtime() {
    // 600 tasks on two runtime threads await their handles; messages are slices of one
    // buffer per task, and the service reads them in place (no copy).
    let engine = cpu_engine();
    let service = Arc::new(
        VerifyService::new(
            engine,
            ServiceOptions {
                queue_capacity: 600 * 16,
                max_batch: 256,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let answered: usize = rt.block_on(async {
        let tasks: Vec<_> = (0..600usize)
            .map(|t| {
                let service = service.clone();
                tokio::spawn(async move {
                    let key = SigningKey::from_bytes(&[(t % 200) as u8 + 1; 32]);
                    let msgs: Vec<Vec<u8>> = (0..1 + t % 16)
                        .map(|i| format!("{t}/{i}").into_bytes())
                        .collect();
                    let buffer = txwave::SharedBytes::from(msgs.concat());
                    let base = buffer.as_slice().as_ptr();
                    let mut at = 0;
                    let mut checks = Vec::new();
                    let mut want = Vec::new();
                    for (i, m) in msgs.iter().enumerate() {
                        let mut signature = key.sign(m).to_bytes();
                        if i % 3 == 1 {
                            signature[40] ^= 4;
                        }
                        let message = buffer.slice(at..at + m.len()).unwrap();
                        // The same bytes, not a copy of them.
                        assert_eq!(message.as_ptr(), base.wrapping_add(at));
                        checks.push(OwnedSigCheck {
                            public_key: key.verifying_key().to_bytes(),
                            signature,
                            message,
                        });
                        want.push(i % 3 != 1);
                        at += m.len();
                    }
                    let got = service.submit(checks, VerifyRule::Zip215).unwrap().await;
                    assert_eq!(got.unwrap(), want, "task {t}");
                    1
                })
            })
            .collect();
        let mut n = 0;
        for t in tasks {
            n += t.await.unwrap();
        }
        n
    });
    assert_eq!(answered, 600);
    let stats = service.stats();
    assert_eq!(stats.submissions, 600);
    assert_eq!(stats.answered, 600);
}
