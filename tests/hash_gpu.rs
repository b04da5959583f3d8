//! GPU BLAKE3 against the `blake3` crate, the official test vectors and the CPU twin.
//! GPU tests skip without an adapter unless `TXWAVE_REQUIRE_GPU=1`.

use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use txwave::Error;
use txwave::internal::gpu::pool::BatchLimits;
use txwave::internal::gpu::test_context;
use txwave::internal::gpu::tunables::{DEFAULT_WORKGROUP_SIZE, GpuTunables};
use txwave::internal::hash::gpu::{GpuHasher, plan_sub_batches};
use txwave::internal::hash::twin;

/// `hash` entries of BLAKE3-team/BLAKE3 `test_vectors/test_vectors.json` at commit
/// 77b257eee7da, read from tests/vectors (see its README). Input byte i is i % 251;
/// the first 32 bytes of the extended output are the hash.
fn official_vectors() -> Vec<(usize, Vec<u8>, [u8; 32])> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/blake3_official.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("vector file is JSON");
    let cases = json["cases"].as_array().expect("cases array");
    assert_eq!(cases.len(), 35, "the file at that commit has 35 cases");
    cases
        .iter()
        .map(|case| {
            let len = case["input_len"].as_u64().expect("input_len") as usize;
            let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let xof = hex::decode(case["hash"].as_str().expect("hash")).expect("hex");
            let hash: [u8; 32] = xof[..32].try_into().expect("at least 32 bytes");
            (len, input, hash)
        })
        .collect()
}

fn expect_vectors(vectors: &[(usize, Vec<u8>, [u8; 32])], got: &[[u8; 32]]) {
    assert_eq!(got.len(), vectors.len());
    for (i, ((len, _, want), h)) in vectors.iter().zip(got).enumerate() {
        assert_eq!(h, want, "vector {i} (input_len {len})");
    }
}

/// The test adapter and a hasher on it at the default workgroup size.
fn gpu_hasher() -> Option<(txwave::internal::gpu::GpuContext, GpuHasher)> {
    let ctx = test_context()?;
    let hasher = GpuHasher::new(&ctx, &GpuTunables::default()).expect("pipelines compile");
    Some((ctx, hasher))
}

fn random_bytes(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.r#gen()).collect()
}

fn expect_blake3(msgs: &[&[u8]], got: &[[u8; 32]], what: &str) {
    assert_eq!(got.len(), msgs.len(), "{what}: one hash per message");
    for (i, (m, h)) in msgs.iter().zip(got).enumerate() {
        assert_eq!(
            h,
            blake3::hash(m).as_bytes(),
            "{what}: message {i}, {} bytes",
            m.len()
        );
    }
}

#[test]
fn twin_passes_official_vectors() {
    let vectors = official_vectors();
    let msgs: Vec<&[u8]> = vectors.iter().map(|(_, m, _)| m.as_slice()).collect();
    expect_vectors(&vectors, &twin::hash_many(&msgs).expect("fits"));
}

#[test]
fn gpu_passes_official_vectors() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    let vectors = official_vectors();
    let msgs: Vec<&[u8]> = vectors.iter().map(|(_, m, _)| m.as_slice()).collect();
    expect_vectors(&vectors, &hasher.hash_many(&ctx, &msgs).expect("hash").0);
}

/// Every length 0..=4200 (one to five chunks: every block boundary, and the chunk
/// boundaries at 1024, 2048, 3072 and 4096 with a byte either side), random bytes,
/// shuffled so that neighbours in the batch have unrelated lengths.
#[test]
fn gpu_matches_blake3_and_twin_on_every_length_to_4200_in_one_batch() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut owned: Vec<Vec<u8>> = (0..=4200).map(|n| random_bytes(&mut rng, n)).collect();
    owned.shuffle(&mut rng);
    let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let (got, timings) = hasher.hash_many(&ctx, &msgs).expect("hash");
    expect_blake3(&msgs, &got, "every length");
    assert_eq!(
        got,
        twin::hash_many(&msgs).expect("fits"),
        "GPU and twin disagree"
    );
    assert!(timings.upload_ns > 0 && timings.dispatch_ns > 0 && timings.readback_ns > 0);
    assert_eq!(
        timings.gpu_pass_ns.is_some(),
        ctx.timestamps,
        "pass timed iff the device can"
    );
}

#[test]
fn gpu_matches_blake3_on_long_and_transaction_sized_messages() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Transaction sizes (134 = swap, 155 = transfer), long trees (up to 100 chunks, with
    // odd chunk counts at several levels), and lengths exactly on chunk boundaries.
    let mut lens: Vec<usize> = (0..3000)
        .map(|i| if i % 2 == 0 { 134 } else { 155 })
        .collect();
    lens.extend([
        0,
        1,
        64,
        1024,
        2048,
        3072 + 1,
        5 * 1024,
        7 * 1024 + 1,
        31 * 1024,
        33 * 1024 - 1,
    ]);
    lens.extend((0..40).map(|_| rng.gen_range(4201..102_401)));
    lens.shuffle(&mut rng);
    let owned: Vec<Vec<u8>> = lens.iter().map(|&n| random_bytes(&mut rng, n)).collect();
    let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let (got, _) = hasher.hash_many(&ctx, &msgs).expect("hash");
    expect_blake3(&msgs, &got, "mixed batch");
}

/// Small limits force what huge batches would meet on a real device: many sub-batches
/// (8 KiB per binding) and 2D dispatches (two workgroups per dimension, so at most 256
/// chunks per dispatch, laid out 2 x 2).
#[test]
fn gpu_splits_batches_over_binding_and_dispatch_limits() {
    let Some((ctx, mut hasher)) = gpu_hasher() else {
        return;
    };
    let limits = BatchLimits {
        max_binding_bytes: 8192,
        max_workgroups_per_dim: 2,
    };
    hasher.set_limits(limits);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let owned: Vec<Vec<u8>> = (0..2000)
        .map(|i| {
            let n = if i % 50 == 0 {
                rng.gen_range(1025..7000)
            } else {
                rng.gen_range(0..200)
            };
            random_bytes(&mut rng, n)
        })
        .collect();
    let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let plan =
        plan_sub_batches(&msgs, &limits, DEFAULT_WORKGROUP_SIZE).expect("every message fits alone");
    assert!(
        plan.len() > 10,
        "expected many sub-batches, got {}",
        plan.len()
    );
    assert_eq!(limits.grid(256, 64).expect("fits"), [2, 2], "2D grid used");
    let (got, _) = hasher.hash_many(&ctx, &msgs).expect("hash");
    expect_blake3(&msgs, &got, "split batch");

    // Dispatch-bound only: 1 workgroup per dimension caps a dispatch at 64 chunks.
    hasher.set_limits(BatchLimits {
        max_binding_bytes: limits.max_binding_bytes * 64,
        max_workgroups_per_dim: 1,
    });
    let (got, _) = hasher.hash_many(&ctx, &msgs[..500]).expect("hash");
    expect_blake3(&msgs[..500], &got, "dispatch-bound batch");

    // A message larger than one binding cannot be hashed by this device.
    hasher.set_limits(limits);
    let big = vec![0u8; 8193];
    assert!(matches!(
        hasher.hash_many(&ctx, &[&big]),
        Err(Error::Gpu {
            kind: txwave::internal::error::GpuErrorKind::LimitExceeded,
            ..
        })
    ));
}

/// Buffers are kept between calls: a large call, then smaller ones, must not see stale
/// words, chaining values or hashes of the earlier call.
#[test]
fn reused_buffers_leak_nothing_between_calls() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for round in 0..6 {
        let count = [3000, 1, 17, 2500, 0, 64][round];
        let owned: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let n = rng.gen_range(0..2100);
                random_bytes(&mut rng, n)
            })
            .collect();
        let msgs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let (got, _) = hasher.hash_many(&ctx, &msgs).expect("hash");
        expect_blake3(&msgs, &got, &format!("round {round}"));
    }
}

#[test]
fn injected_fault_is_an_error_and_the_next_call_works() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    let msgs: [&[u8]; 2] = [b"abc", &[7u8; 1500]];
    ctx.inject_fault();
    match hasher.hash_many(&ctx, &msgs) {
        Err(Error::Gpu { stage, what, .. }) => {
            assert!(what.contains("injected"), "{stage}: {what}");
        }
        other => panic!("expected Error::Gpu, got {other:?}"),
    }
    let (got, _) = hasher.hash_many(&ctx, &msgs).expect("fault is one-shot");
    expect_blake3(&msgs, &got, "after fault");
}

#[test]
fn destroyed_device_is_an_error_not_a_panic() {
    let Some((ctx, hasher)) = gpu_hasher() else {
        return;
    };
    ctx.device.destroy();
    let msgs: [&[u8]; 1] = [b"abc"];
    let result = hasher.hash_many(&ctx, &msgs);
    assert!(matches!(result, Err(Error::Gpu { .. })), "got {result:?}");
    assert!(
        matches!(hasher.hash_many(&ctx, &msgs), Err(Error::Gpu { .. })),
        "stays lost"
    );
}
