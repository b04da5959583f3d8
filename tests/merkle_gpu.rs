//! GPU Merkle roots against `txwave::internal::merkle::merkle_root` and the CPU twin, and the
//! hash-then-reduce path against hashing and reducing on the CPU. GPU tests skip without
//! an adapter unless `TXWAVE_REQUIRE_GPU=1`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use txwave::Error;
use txwave::internal::commit::gpu_merkle::GpuMerkle;
use txwave::internal::commit::twin;
use txwave::internal::gpu::pool::BatchLimits;
use txwave::internal::gpu::test_context;
use txwave::internal::gpu::tunables::GpuTunables;
use txwave::internal::hash::gpu::GpuHasher;
use txwave::internal::merkle::merkle_root;

fn leaves(n: u32) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
        .collect()
}

/// 0 and 1 (no GPU work), 2, 3 and 5 (odd nodes at one and two levels), 1000, and
/// 65537 = 2^16 + 1 (the last leaf moves up alone through sixteen levels).
const COUNTS: [u32; 7] = [0, 1, 2, 3, 5, 1000, 65537];

#[test]
fn twin_matches_cpu_root() {
    for n in COUNTS {
        let l = leaves(n);
        assert_eq!(twin::merkle_root(&l), merkle_root(&l), "{n} leaves");
    }
}

#[test]
fn gpu_root_matches_cpu_root() {
    let Some(ctx) = test_context() else { return };
    let merkle = GpuMerkle::new(&ctx, &GpuTunables::default()).expect("pipeline compiles");
    for n in COUNTS {
        let l = leaves(n);
        let (root, _) = merkle.merkle_root(&ctx, &l).expect("root");
        assert_eq!(root, merkle_root(&l), "{n} leaves");
    }
    let (_, t) = merkle.merkle_root(&ctx, &leaves(1000)).expect("root");
    assert!(t.upload_ns > 0 && t.dispatch_ns > 0 && t.readback_ns > 0);
    assert_eq!(t.gpu_pass_ns.is_some(), ctx.timestamps);
}

/// With 1 KiB bindings a pass reduces 32 leaves, so larger trees are cut into aligned
/// subtrees of 32 and their roots reduced again (twice for 65537 leaves).
#[test]
fn gpu_root_over_split_subtrees_matches_cpu_root() {
    let Some(ctx) = test_context() else { return };
    let mut merkle = GpuMerkle::new(&ctx, &GpuTunables::default()).expect("pipeline compiles");
    merkle.set_limits(BatchLimits {
        max_binding_bytes: 1024,
        max_workgroups_per_dim: 1,
    });
    for n in [33, 64, 65, 1000, 1025, 5000] {
        let l = leaves(n);
        let (root, _) = merkle.merkle_root(&ctx, &l).expect("root");
        assert_eq!(root, merkle_root(&l), "{n} leaves");
    }
}

fn tx_like(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = if i % 3 == 0 { 134 } else { 155 };
            (0..len).map(|_| rng.r#gen()).collect()
        })
        .collect()
}

#[test]
fn hashing_then_reducing_on_device_matches_cpu() {
    let Some(ctx) = test_context() else { return };
    let hasher = GpuHasher::new(&ctx, &GpuTunables::default()).expect("hash pipelines compile");
    let merkle = GpuMerkle::new(&ctx, &GpuTunables::default()).expect("merkle pipeline compiles");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for n in [0usize, 1, 2, 3, 1000, 4097] {
        let owned = tx_like(&mut rng, n);
        let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let ids: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
        let want = merkle_root(&ids);
        let (root, _) = merkle.root_of_messages(&ctx, &hasher, &msgs).expect("root");
        assert_eq!(root, want, "root_of_messages, {n} messages");
        let (got_ids, root, _) = merkle.hash_and_root(&ctx, &hasher, &msgs).expect("root");
        assert_eq!(got_ids, ids, "hash_and_root ids, {n} messages");
        assert_eq!(root, want, "hash_and_root root, {n} messages");
    }
}

/// When the hasher must split the batch, the hashes come back and the tree is reduced
/// from them (and split itself): same root.
#[test]
fn hashing_then_reducing_over_split_batches_matches_cpu() {
    let Some(ctx) = test_context() else { return };
    let mut hasher = GpuHasher::new(&ctx, &GpuTunables::default()).expect("hash pipelines compile");
    let mut merkle =
        GpuMerkle::new(&ctx, &GpuTunables::default()).expect("merkle pipeline compiles");
    let small = BatchLimits {
        max_binding_bytes: 4096,
        max_workgroups_per_dim: 2,
    };
    hasher.set_limits(small);
    merkle.set_limits(small);
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let owned = tx_like(&mut rng, 777);
    let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let ids: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
    let (got_ids, root, _) = merkle.hash_and_root(&ctx, &hasher, &msgs).expect("root");
    assert_eq!(got_ids, ids);
    assert_eq!(root, merkle_root(&ids));
}

/// Hash and Merkle kernels at workgroups of 32 and 256 under limits of two workgroups per
/// dimension, so that grids are 2D and the shader's invocation index must use the size the
/// pipeline was built with: the CPU's ids and roots.
#[test]
fn other_workgroup_sizes_over_2d_grids_match_cpu() {
    let Some(ctx) = test_context() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let owned = tx_like(&mut rng, 1500);
    let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let ids: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
    let l = leaves(3000);
    for size in [32, 256] {
        let tunables = GpuTunables {
            hash_workgroup_size: size,
            merkle_workgroup_size: size,
            ..Default::default()
        };
        let mut hasher = GpuHasher::new(&ctx, &tunables).expect("hash pipelines compile");
        let mut merkle = GpuMerkle::new(&ctx, &tunables).expect("merkle pipeline compiles");
        let small = BatchLimits {
            max_workgroups_per_dim: 2,
            ..hasher.limits()
        };
        hasher.set_limits(small);
        merkle.set_limits(small);
        let (got_ids, root, _) = merkle.hash_and_root(&ctx, &hasher, &msgs).expect("root");
        assert_eq!(got_ids, ids, "size {size}");
        assert_eq!(root, merkle_root(&ids), "size {size}");
        let (root, _) = merkle.merkle_root(&ctx, &l).expect("root");
        assert_eq!(root, merkle_root(&l), "size {size}");
    }
}

#[test]
fn injected_fault_is_an_error_and_the_next_call_works() {
    let Some(ctx) = test_context() else { return };
    let hasher = GpuHasher::new(&ctx, &GpuTunables::default()).expect("hash pipelines compile");
    let merkle = GpuMerkle::new(&ctx, &GpuTunables::default()).expect("merkle pipeline compiles");
    let l = leaves(100);
    ctx.inject_fault();
    assert!(matches!(
        merkle.merkle_root(&ctx, &l),
        Err(Error::Gpu { .. })
    ));
    assert_eq!(
        merkle.merkle_root(&ctx, &l).expect("one-shot").0,
        merkle_root(&l)
    );
    let msgs: Vec<&[u8]> = vec![b"a", b"b", b"c"];
    ctx.inject_fault();
    assert!(matches!(
        merkle.root_of_messages(&ctx, &hasher, &msgs),
        Err(Error::Gpu { .. })
    ));
    let ids: Vec<[u8; 32]> = msgs.iter().map(|m| *blake3::hash(m).as_bytes()).collect();
    assert_eq!(
        merkle
            .root_of_messages(&ctx, &hasher, &msgs)
            .expect("works")
            .0,
        merkle_root(&ids)
    );
}
