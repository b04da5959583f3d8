//! Engines, datasets and scenarios shared by several test files. Each file uses some of
//! them, so the others are dead code there.
#![allow(dead_code)]

pub mod raw;

use std::sync::OnceLock;

use txwave::internal::gpu::tunables::GpuTunables;
use txwave::internal::workload::{GenConfig, Generated, generate};
use txwave::{Backend, Block, Engine, EngineConfig, Error, State};

/// A CPU engine with the default configuration.
pub fn cpu_engine() -> Engine {
    Engine::new(EngineConfig {
        backend: Backend::Cpu,
        ..Default::default()
    })
    .expect("CPU engine")
}

/// A CPU engine of 1, 2 or 8 threads, built once per test process and shared.
pub fn threaded_cpu_engine(threads: usize) -> &'static Engine {
    static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
    let engines = ENGINES.get_or_init(|| {
        [1, 2, 8]
            .iter()
            .map(|&n| {
                Engine::new(EngineConfig {
                    backend: Backend::Cpu,
                    threads: Some(n),
                    ..Default::default()
                })
                .expect("CPU engine")
            })
            .collect()
    });
    let at = [1, 2, 8]
        .iter()
        .position(|&n| n == threads)
        .expect("1, 2 or 8 threads");
    &engines[at]
}

/// An engine on the test adapter with these GPU tunables, or `None` without an adapter
/// (a failure under `TXWAVE_REQUIRE_GPU=1`). `Auto` needs the adapter named to accept a
/// software one, and batch thresholds of 0 to send every batch to it.
pub fn gpu_engine_with(backend: Backend, gpu: GpuTunables) -> Option<Engine> {
    let ctx = txwave::internal::gpu::test_context()?;
    Some(
        Engine::new(EngineConfig {
            backend,
            adapter: Some(ctx.adapter.name.clone()),
            placement: txwave::Placement {
                auto_min_hash_batch: 0,
                auto_min_verify_batch: 0,
                ..Default::default()
            },
            gpu,
            ..Default::default()
        })
        .expect("engine on the test adapter"),
    )
}

/// [`gpu_engine_with`] the default tunables.
pub fn gpu_engine(backend: Backend) -> Option<Engine> {
    gpu_engine_with(backend, GpuTunables::default())
}

/// An `Auto` engine on the test adapter whose stages all run there except the signature
/// checks of small blocks, which keep the default threshold and run on the CPU (the GPU
/// verifier is slow on lavapipe and has tests of its own).
pub fn auto_engine_cpu_verify() -> Option<Engine> {
    let ctx = txwave::internal::gpu::test_context()?;
    Some(
        Engine::new(EngineConfig {
            backend: Backend::Auto,
            adapter: Some(ctx.adapter.name.clone()),
            placement: txwave::Placement {
                auto_min_hash_batch: 0,
                ..Default::default()
            },
            ..Default::default()
        })
        .expect("engine on the test adapter"),
    )
}

/// `fallbacks` (a block's) names one GPU error, in `stage`, that the CPU recovered from.
pub fn assert_one_gpu_fallback(fallbacks: &[String], stage: &str) {
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert!(
        fallbacks[0].starts_with(&format!("{stage}: GPU error")),
        "{fallbacks:?}"
    );
}

/// The dataset `cfg` describes and its genesis state.
pub fn dataset(cfg: &GenConfig) -> (Generated, State) {
    let g = generate(cfg, |_, _| {}).expect("valid config");
    let genesis = State::from_genesis(&g.genesis).expect("genesis");
    (g, genesis)
}

/// Drives `engine` through blocks that exercise its commit caches (account leaves kept
/// between blocks, only touched accounts rehashed): new accounts every block, a block
/// rolled back after execution, a second state and a clone fed through the same engine.
/// Every block carries its claimed root, so a stale leaf fails the block; each root is
/// also compared with a full recomputation, and `accounts_rehashed` shows when the kept
/// leaves were reused (the block of a state the engine committed last) and when not.
pub fn commit_cache_scenario(engine: &Engine) {
    let g = generate(
        &GenConfig {
            account_skew: 1.0,
            new_recipient_share: 0.1,
            ..GenConfig::sized(2000, 4, 5, 300, 11)
        },
        |_, _| {},
    )
    .unwrap();
    let blocks = &g.blocks;
    let step = |state: &mut State, block: &Block, reused: bool, what: &str| {
        let out = engine.process_block(state, block).unwrap();
        assert_eq!(out.state_root, state.state_root(), "{what}");
        let n = state.account_count();
        if reused {
            // 300 txs touch a few hundred of the 2000+ accounts.
            assert!(
                out.accounts_rehashed < n / 2,
                "{what}: {} of {n} leaves rehashed",
                out.accounts_rehashed
            );
        } else {
            assert_eq!(out.accounts_rehashed, n, "{what}");
        }
    };
    let genesis = State::from_genesis(&g.genesis).unwrap();
    let (mut a, mut b) = (genesis.clone(), genesis);

    step(&mut a, &blocks[0], false, "a0: first block");
    step(&mut a, &blocks[1], true, "a1");
    let mut wrong = blocks[2].clone();
    wrong.claimed_state_root[0] ^= 1;
    let before = a.clone();
    assert!(matches!(
        engine.process_block(&mut a, &wrong),
        Err(Error::StateRootMismatch { .. })
    ));
    assert_eq!(a, before);
    step(&mut a, &blocks[2], false, "a2: after a rolled-back block");
    step(&mut a, &blocks[3], true, "a3");
    step(&mut b, &blocks[0], false, "b0: another state");
    step(&mut a, &blocks[4], false, "a4: after another state's block");
    assert_eq!(a, g.final_state);
    step(&mut b, &blocks[1], false, "b1: after another state's block");
    step(&mut b, &blocks[2], true, "b2");
    step(&mut b, &blocks[3], true, "b3");
    let mut c = b.clone();
    step(&mut c, &blocks[4], false, "c4: a clone is another state");
    step(&mut b, &blocks[4], false, "b4: after the clone's block");
    assert_eq!(b, g.final_state);
    assert_eq!(c, g.final_state);
}
