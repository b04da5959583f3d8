//! The verify service from async code: thousands of tasks on a tokio runtime each submit a
//! packet of signatures and `.await` its handle (no thread parked per packet, no
//! `spawn_blocking`). Messages are ranges of one shared buffer per packet ([`SharedBytes`]),
//! never copied. Every handle must be answered exactly once with the oracle's verdicts.
//!
//! `cargo run --release --example tokio_service -- [TASKS] [MAX_PACKET]` (default 4000
//! tasks, packets of 1–64 signatures, a tenth of them corrupted).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ed25519_dalek::{Signer, SigningKey};
use txwave::{
    Backend, Engine, EngineConfig, OwnedSigCheck, ServiceOptions, SharedBytes, VerifyRule,
    VerifyService,
};

/// A packet: one buffer holding every message back to back, the checks slicing it, and
/// the verdicts expected.
fn packet(task: usize, size: usize) -> (Vec<OwnedSigCheck>, Vec<bool>) {
    let key = SigningKey::from_bytes(&[(task % 251) as u8 + 1; 32]);
    let msgs: Vec<Vec<u8>> = (0..size)
        .map(|i| format!("task {task} message {i}").into_bytes())
        .collect();
    let buffer = SharedBytes::from(msgs.concat());
    let mut at = 0;
    let mut checks = Vec::with_capacity(size);
    let mut want = Vec::with_capacity(size);
    for (i, m) in msgs.iter().enumerate() {
        let mut signature = key.sign(m).to_bytes();
        let corrupt = (task + i).is_multiple_of(10);
        if corrupt {
            signature[5] ^= 1;
        }
        checks.push(OwnedSigCheck {
            public_key: key.verifying_key().to_bytes(),
            signature,
            message: buffer.slice(at..at + m.len()).expect("inside the buffer"),
        });
        want.push(!corrupt);
        at += m.len();
    }
    (checks, want)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().map_or(4000, |a| a.parse().expect("TASKS"));
    let max_packet: usize = args.next().map_or(64, |a| a.parse().expect("MAX_PACKET"));
    let engine = Arc::new(
        Engine::new(EngineConfig {
            backend: Backend::Cpu,
            ..Default::default()
        })
        .expect("CPU engine"),
    );
    // Room for every packet at once: `submit` never waits, so no runtime thread blocks.
    let service = Arc::new(
        VerifyService::new(
            engine,
            ServiceOptions {
                queue_capacity: tasks * max_packet,
                ..Default::default()
            },
        )
        .expect("service"),
    );
    let answered = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let service = service.clone();
            let answered = answered.clone();
            tokio::spawn(async move {
                let (checks, want) = packet(task, 1 + task % max_packet);
                let verdicts = service
                    .submit(checks, VerifyRule::Strict)
                    .expect("accepted")
                    .await
                    .expect("verified");
                answered.fetch_add(1, Ordering::Relaxed);
                assert_eq!(verdicts, want, "task {task}");
                want.len()
            })
        })
        .collect();
    let mut signatures = 0;
    for h in handles {
        signatures += h.await.expect("task");
    }
    let elapsed = started.elapsed();
    let stats = service.stats();
    assert_eq!(answered.load(Ordering::Relaxed), tasks);
    assert_eq!(stats.answered, tasks as u64);
    assert_eq!(stats.signatures, signatures as u64);
    println!(
        "tokio_service: {tasks} tasks awaited {signatures} signatures in {} batches, every handle answered once, {:.0} sig/s",
        stats.batches,
        signatures as f64 / elapsed.as_secs_f64()
    );
}
