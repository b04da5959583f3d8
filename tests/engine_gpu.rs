//! The engine on the GPU: same bytes as the CPU, errors as values, and `Auto` falling back.
//! Runs on whatever adapter exists (lavapipe in CI); skips without one unless
//! `TXWAVE_REQUIRE_GPU=1`.

mod common;

use txwave::internal::engine::Device;
use txwave::internal::gpu::tunables::{GpuTunables, Kernel};
use txwave::internal::workload::{GenConfig, generate};
use txwave::{Backend, Engine, EngineConfig, Error, State};

/// The genesis state and blocks of `cfg`.
fn blocks_of(cfg: GenConfig) -> (State, Vec<txwave::Block>) {
    let (g, genesis) = common::dataset(&cfg);
    (genesis, g.blocks)
}

fn dataset() -> (State, Vec<txwave::Block>) {
    blocks_of(GenConfig {
        account_skew: 1.0,
        ..GenConfig::sized(300, 5, 3, 700, 3)
    })
}

/// Many accounts and pools, uniformly used, so that waves hold hundreds of txs (parallel
/// segments over many workgroups) and new accounts appear every block.
fn wide_dataset() -> (State, Vec<txwave::Block>) {
    blocks_of(GenConfig {
        new_recipient_share: 0.05,
        ..GenConfig::sized(4000, 20, 2, 600, 5)
    })
}

#[test]
fn gpu_blocks_equal_cpu_blocks() {
    let Some(gpu) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let cpu = common::cpu_engine();
    let (genesis, blocks) = dataset();
    let (mut a, mut b) = (genesis.clone(), genesis);
    for block in &blocks {
        let x = cpu.process_block(&mut a, block).unwrap();
        let y = gpu.process_block(&mut b, block).unwrap();
        assert_eq!(y.devices.hash, Device::Gpu);
        assert_eq!(y.devices.verify, Device::Gpu);
        assert_eq!(y.devices.resolve, Device::Gpu);
        assert_eq!(y.devices.commit, Device::Gpu);
        assert_eq!(y.devices.execute, Device::Gpu);
        assert_eq!(x.devices.execute, Device::Cpu);
        assert_eq!(x.receipts, y.receipts);
        assert_eq!(
            (x.tx_root, x.receipts_root, x.state_root, x.block_hash),
            (y.tx_root, y.receipts_root, y.state_root, y.block_hash)
        );
        assert!(y.fallbacks.is_empty());
    }
    assert_eq!(a, b);
}

/// Every kernel but the verifier at workgroups of 32 and of 256 (the host sizes its grids,
/// sub-batches and tree splits by the same numbers): the CPU engine's receipts, roots and
/// state bytes, and `hash_many` equal to the `blake3` crate on multi-chunk messages.
#[test]
fn other_workgroup_sizes_give_the_cpu_bytes() {
    let cpu = common::cpu_engine();
    let (genesis, blocks) = wide_dataset();
    let mut want_state = genesis.clone();
    let want: Vec<_> = blocks
        .iter()
        .map(|b| cpu.process_block(&mut want_state, b).unwrap())
        .collect();
    let msgs: Vec<Vec<u8>> = (0..700usize)
        .map(|i| (0..(i * 13) % 3100).map(|j| (j % 251) as u8).collect())
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    for size in [32, 256] {
        let mut tunables = GpuTunables::default();
        for kernel in Kernel::ALL.into_iter().filter(|k| *k != Kernel::Verify) {
            tunables.set_workgroup_size(kernel, size);
        }
        let Some(gpu) = common::gpu_engine_with(Backend::Gpu, tunables) else {
            return;
        };
        let mut state = genesis.clone();
        for (i, (block, x)) in blocks.iter().zip(&want).enumerate() {
            let y = gpu.process_block(&mut state, block).unwrap();
            assert_eq!(y.devices.execute, Device::Gpu, "size {size}, block {i}");
            assert_eq!(y.devices.commit, Device::Gpu, "size {size}, block {i}");
            assert_eq!(x.receipts, y.receipts, "size {size}, block {i}");
            assert_eq!(
                (x.tx_root, x.receipts_root, x.state_root, x.block_hash),
                (y.tx_root, y.receipts_root, y.state_root, y.block_hash),
                "size {size}, block {i}"
            );
        }
        assert_eq!(state, want_state, "size {size}");
        let got = gpu.hash_many(&refs).unwrap();
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(
                got[i],
                *blake3::hash(m).as_bytes(),
                "size {size}, message {i}"
            );
        }
    }
}

#[test]
fn gpu_hash_many_matches_blake3() {
    let Some(gpu) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let msgs: Vec<Vec<u8>> = (0..3000usize)
        .map(|i| (0..(i * 7) % 2100).map(|j| (j % 251) as u8).collect())
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let got = gpu.hash_many(&refs).unwrap();
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            got[i],
            *blake3::hash(m).as_bytes(),
            "message {i} ({} bytes)",
            m.len()
        );
    }
}

#[test]
fn device_error_fails_gpu_backend_and_leaves_state_unchanged() {
    let Some(gpu) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    let (genesis, blocks) = dataset();
    let mut state = genesis.clone();
    gpu.gpu_context().unwrap().inject_fault();
    match gpu.process_block(&mut state, &blocks[0]) {
        Err(Error::Gpu { .. }) => {}
        other => panic!("expected a GPU error, got {other:?}"),
    }
    assert_eq!(state, genesis);
    // The next call works again.
    gpu.process_block(&mut state, &blocks[0]).unwrap();
}

#[test]
fn auto_falls_back_to_the_cpu_for_the_failed_stage() {
    let Some(auto) = common::gpu_engine(Backend::Auto) else {
        return;
    };
    assert_eq!(auto.backend(), Backend::Gpu);
    let (genesis, blocks) = dataset();
    let mut reference = genesis.clone();
    let expected =
        txwave::internal::exec::reference::execute_block(&mut reference, &blocks[0]).unwrap();
    let mut state = genesis;
    auto.gpu_context().unwrap().inject_fault();
    let out = auto.process_block(&mut state, &blocks[0]).unwrap();
    assert_eq!(out.devices.hash, Device::CpuFallback);
    common::assert_one_gpu_fallback(&out.fallbacks, "hash");
    assert_eq!(
        out.devices.commit,
        Device::Gpu,
        "only the failed stage falls back"
    );
    assert_eq!(out.state_root, expected.state_root);
    assert_eq!(out.receipts, expected.receipts);
    assert_eq!(state, reference);
}

#[test]
fn auto_passes_over_software_adapters_unless_named() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let auto = Engine::new(EngineConfig::default()).unwrap();
    if ctx.adapter.is_software() {
        assert_eq!(auto.backend(), Backend::Cpu);
        assert!(auto.backend_note().unwrap().contains("software renderer"));
    }
}

#[test]
fn gpu_commit_keeps_account_leaves_on_the_device() {
    let Some(gpu) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    common::commit_cache_scenario(&gpu);
}

#[test]
fn gpu_account_leaves_of_one_two_and_three_chunks() {
    let Some(gpu) = common::gpu_engine(Backend::Gpu) else {
        return;
    };
    // Leaf messages are 41 + 8·tokens bytes: 1017 (one chunk), 1025 (two), 2089 (three).
    for tokens in [122, 123, 256] {
        let cfg = GenConfig {
            tokens,
            ..GenConfig::sized(40, 3, 2, 60, tokens as u64)
        };
        let g = generate(&cfg, |_, _| {}).unwrap();
        let mut state = State::from_genesis(&g.genesis).unwrap();
        for block in &g.blocks {
            // The blocks carry the reference executor's roots: a wrong leaf is an error.
            let out = gpu.process_block(&mut state, block).unwrap();
            assert_eq!(out.devices.commit, Device::Gpu);
            assert_eq!(out.state_root, state.state_root(), "{tokens} tokens");
        }
        assert_eq!(state, g.final_state, "{tokens} tokens");
    }
}

#[test]
fn gpu_account_lookups_match_the_state_index() {
    let Some(ctx) = txwave::internal::gpu::test_context() else {
        return;
    };
    let resident = txwave::internal::gpu::resident::ResidentState::new(&ctx);
    let resolver =
        txwave::internal::resolve::gpu::GpuResolver::new(&ctx, &Default::default()).unwrap();
    let g = generate(&GenConfig::sized(3000, 16, 1, 10, 1), |_, _| {}).unwrap();
    let state = State::from_genesis(&g.genesis).unwrap();
    // Every account, then keys no account has (one differs from a real key in one bit).
    let mut keys: Vec<[u8; 32]> = state.pubkeys().to_vec();
    let mut near = keys[17];
    near[31] ^= 0x80;
    keys.push(near);
    keys.extend((0..500u32).map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes()));
    let (found, _) = resident
        .with_columns(&ctx, &state, |cols, table| {
            resolver.lookup(&ctx, cols.pubkeys, table, &keys)
        })
        .unwrap();
    let want: Vec<u32> = keys
        .iter()
        .map(|k| state.account_index(k).unwrap_or(u32::MAX))
        .collect();
    assert_eq!(found, want);
}
