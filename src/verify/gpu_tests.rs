//! Layout and naga validation tests of the GPU verifier (no GPU needed), its pipeline
//! cache, and the limits it splits batches at; the parity tests of its building blocks
//! are in `gpu_parity_tests.rs`.

use super::*;
use crate::gpu::cache::{cache_file_name, read_cache_file, write_cache_file};
use crate::gpu::shaders;
use crate::gpu::tunables::DEFAULT_WORKGROUP_SIZE;
use crate::verify::layout::{ITEM_HEADER_WORDS, RULE_STRICT, RULE_ZIP215};
use crate::verify::twin;

#[test]
fn layouts_match_the_shaders() {
    assert_eq!(std::mem::size_of::<ItemDesc>(), 8);
    assert_eq!(std::mem::offset_of!(ItemDesc, offset_words), 0);
    assert_eq!(std::mem::offset_of!(ItemDesc, message_len), 4);
    assert_eq!(std::mem::size_of::<VerifyParams>(), 16);
    assert_eq!(std::mem::offset_of!(VerifyParams, count), 0);
    assert_eq!(std::mem::offset_of!(VerifyParams, rule), 4);
    for module in [&shaders::VERIFY, &shaders::VERIFY_STRAIGHT] {
        let src = module.source();
        let has = |text: &str| assert!(src.contains(text), "{}: no {text:?}", module.name);
        has(&format!("const RULE_STRICT: u32 = {RULE_STRICT}u;"));
        has(&format!("const RULE_ZIP215: u32 = {RULE_ZIP215}u;"));
        has(&format!(
            "const ITEM_HEADER_WORDS: u32 = {}u;",
            ITEM_HEADER_WORDS
        ));
        // The host sets both overrides by these names; their defaults are the default
        // variant's.
        has(&format!(
            "override {WORKGROUP_SIZE_CONSTANT}: u32 = {DEFAULT_WORKGROUP_SIZE}u;"
        ));
        has(&format!("@workgroup_size({WORKGROUP_SIZE_CONSTANT})"));
        has(&format!(
            "override {BASEPOINT_TABLE_CONSTANT}: bool = false;"
        ));
        has("@group(0) @binding(4) var<storage, read> basepoint_table: array<EdwardsPoint, 8>;");
        // POINT_WORDS is the size of the shaders' EdwardsPoint.
        has(
            "struct EdwardsPoint {\n    x: FieldElement13x20,\n    y: FieldElement13x20,\n    z: FieldElement13x20,\n    t: FieldElement13x20,\n}",
        );
        has("alias FieldElement13x20 = array<u32, 20>;");
    }
    assert_eq!(POINT_WORDS, 4 * 20);
    assert_eq!(basepoint_table_words().len(), 8 * POINT_WORDS);
    // Every variant sets both overrides, by name.
    for variant in VerifyVariant::all(&[64, 32]) {
        let names: Vec<&str> = pipeline_constants(&variant).iter().map(|c| c.0).collect();
        assert_eq!(names, [WORKGROUP_SIZE_CONSTANT, BASEPOINT_TABLE_CONSTANT]);
    }
    // The straight-line shape has no interpreter and no register file.
    let straight = shaders::VERIFY_STRAIGHT.source();
    for absent in ["fe_reg", "fe_run", "FE_PROGRAM", "set_point("] {
        assert!(!straight.contains(absent), "verify_straight holds {absent}");
    }
    // The test kernels keep a literal size, the one the parity tests dispatch with.
    let test_src = shaders::VERIFY_TEST.source();
    assert!(test_src.contains(&format!("@compute @workgroup_size({TEST_WORKGROUP_SIZE})")));
    assert_eq!(
        plan_chunks(&[], &wgpu::Limits::default(), DEFAULT_WORKGROUP_SIZE).expect("empty"),
        vec![]
    );
}

/// Invocations per workgroup of the test entry points (`@workgroup_size(64)` in
/// `shaders/test/verify_test.wgsl`).
pub(super) const TEST_WORKGROUP_SIZE: u32 = 64;

#[test]
fn basepoint_table_is_the_multiples_of_b() {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::scalar::Scalar;
    use twin::field::{FieldRegs, equal, mul};
    let mut regs = FieldRegs::new();
    let table = basepoint_table();
    let words = basepoint_table_words();
    for (j, p) in table.iter().enumerate() {
        // Each entry is (x Z : y Z : Z : x y Z) for the affine point of (j + 1)B, with x
        // and y from curve25519-dalek's encoding of (j + 1)B.
        let expected = ED25519_BASEPOINT_POINT * Scalar::from(j as u64 + 1);
        let enc = expected.compress().to_bytes();
        let enc_words: [u32; 8] =
            std::array::from_fn(|i| u32::from_le_bytes(enc[4 * i..4 * i + 4].try_into().unwrap()));
        let affine = twin::curve::decompress(&mut regs, enc_words).expect("(j + 1)B decompresses");
        assert!(equal(p.x, mul(affine.x, p.z)), "entry {j}: X");
        assert!(equal(p.y, mul(affine.y, p.z)), "entry {j}: Y");
        assert!(equal(mul(p.t, p.z), mul(p.x, p.y)), "entry {j}: T");
        assert_eq!(twin::curve::compress(&mut regs, *p), enc_words, "entry {j}");
        // Tight limbs, as every shader function expects of its inputs.
        for f in [p.x, p.y, p.z, p.t] {
            assert!(f.0[1] <= 8320 && f.0.iter().enumerate().all(|(i, l)| i == 1 || *l < 8192));
        }
        let at = j * POINT_WORDS;
        let limbs: Vec<u32> = [p.x, p.y, p.z, p.t].iter().flat_map(|f| f.0).collect();
        assert_eq!(&words[at..at + POINT_WORDS], &limbs[..], "entry {j} words");
    }
    // Entry 0 is B itself, with Z = 1.
    assert_eq!(table[0], twin::curve::BASEPOINT);
}

#[test]
fn every_module_passes_naga_validation() {
    for (name, src) in [
        shaders::VERIFY,
        shaders::VERIFY_STRAIGHT,
        shaders::VERIFY_TEST,
    ]
    .map(|m| (m.name, m.source()))
    {
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
    }
}

#[test]
fn cache_files_are_checked_before_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sub").join("cache.bin");
    assert_eq!(read_cache_file(&file), None, "missing file");
    write_cache_file(&file, b"pipeline bytes");
    assert_eq!(
        read_cache_file(&file).as_deref(),
        Some(&b"pipeline bytes"[..])
    );
    let mut bytes = std::fs::read(&file).expect("written");
    *bytes.last_mut().expect("nonempty") ^= 1;
    std::fs::write(&file, &bytes).expect("rewrite");
    assert_eq!(read_cache_file(&file), None, "damaged data");
    std::fs::write(&file, &bytes[..20]).expect("rewrite");
    assert_eq!(read_cache_file(&file), None, "truncated file");
}

#[test]
fn verifier_uses_and_refills_a_pipeline_cache() {
    use ed25519_dalek::{Signer, SigningKey};
    let Some(ctx) = crate::gpu::test_context() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let variant = VerifyVariant::default();
    let first =
        GpuVerifier::with_pipeline_cache_dir(&ctx, variant, Some(dir.path())).expect("compiles");
    let supported = ctx
        .device
        .features()
        .contains(wgpu::Features::PIPELINE_CACHE);
    let file = dir.path().join(cache_file_name(
        &ctx,
        &shaders::VERIFY,
        &pipeline_constants(&variant),
    ));
    assert_eq!(file.exists(), supported, "cache file written iff supported");
    let second =
        GpuVerifier::with_pipeline_cache_dir(&ctx, variant, Some(dir.path())).expect("compiles");
    assert_eq!(second.variant(), variant);
    eprintln!(
        "pipeline cache supported: {supported}; compile {:?} cold, {:?} from the cache",
        first.compile_time(),
        second.compile_time()
    );
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let msg = b"cached pipeline".to_vec();
    let sig = key.sign(&msg).to_bytes();
    let mut bad = sig;
    bad[40] ^= 1;
    let items = [sig, bad].map(|signature| SigCheck {
        public_key: key.verifying_key().to_bytes(),
        signature,
        message: &msg,
    });
    for rule in [VerifyRule::Strict, VerifyRule::Zip215] {
        let (out, _) = second.verify(&ctx, &items, rule).expect("verifies");
        assert_eq!(out, vec![true, false], "{rule:?}");
    }
    let (out, _) = second
        .verify(&ctx, &[], VerifyRule::Strict)
        .expect("empty batch");
    assert!(out.is_empty());
}

#[test]
fn long_messages_verify_or_are_refused() {
    use ed25519_dalek::{Signer, SigningKey};
    let Some(ctx) = crate::gpu::test_context() else {
        return;
    };
    let verifier = GpuVerifier::with_pipeline_cache_dir(&ctx, VerifyVariant::default(), None)
        .expect("compiles");
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let limit = message_len_limit(&ctx);
    for len in [
        LLVMPIPE_MAX_MESSAGE_LEN,
        LLVMPIPE_MAX_MESSAGE_LEN + 1,
        200_000,
    ] {
        let msg: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let sig = key.sign(&msg).to_bytes();
        let mut bad = sig;
        bad[1] ^= 4;
        let items = [sig, bad].map(|signature| SigCheck {
            public_key: key.verifying_key().to_bytes(),
            signature,
            message: &msg,
        });
        let result = verifier.verify(&ctx, &items, VerifyRule::Strict);
        match limit {
            Some(limit) if len > limit => {
                assert!(
                    matches!(
                        result,
                        Err(Error::Gpu {
                            kind: GpuErrorKind::LimitExceeded,
                            ..
                        })
                    ),
                    "length {len}"
                )
            }
            _ => assert_eq!(
                result.expect("verifies").0,
                vec![true, false],
                "length {len}"
            ),
        }
    }
}

#[test]
fn batches_split_at_the_adapter_limits() {
    let msgs: Vec<Vec<u8>> = (0..10).map(|i| vec![0u8; i * 10]).collect();
    let items: Vec<SigCheck<'_>> = msgs
        .iter()
        .map(|m| SigCheck {
            public_key: [0; 32],
            signature: [0; 64],
            message: m,
        })
        .collect();
    let limits = wgpu::Limits {
        // Records are 96 + padded message bytes: 96, 108, 116, 128, ... 188.
        max_storage_buffer_binding_size: 300,
        max_compute_workgroups_per_dimension: 65535,
        ..wgpu::Limits::default()
    };
    let chunks = plan_chunks(&items, &limits, 64).expect("every record fits");
    let mut next = 0;
    for &(start, count) in &chunks {
        assert_eq!(start, next);
        assert!(count >= 1);
        let bytes: usize = items[start..start + count]
            .iter()
            .map(|it| 4 * record_words(it.message.len()))
            .sum();
        assert!(bytes <= 300, "chunk at {start} holds {bytes} bytes");
        next = start + count;
    }
    assert_eq!(next, items.len());
    assert_eq!(chunks[0], (0, 2), "96 + 108 fit, + 116 does not");
    // A record larger than a whole binding cannot be split: an error, not a panic.
    let big = vec![0u8; 400];
    let too_big = [SigCheck {
        public_key: [0; 32],
        signature: [0; 64],
        message: &big,
    }];
    assert!(matches!(
        plan_chunks(&too_big, &limits, 64),
        Err(Error::Gpu {
            kind: GpuErrorKind::LimitExceeded,
            ..
        })
    ));
    // The dispatch-size limit splits too: 64 items per workgroup, one workgroup allowed.
    let many: Vec<SigCheck<'_>> = (0..200).map(|_| items[0]).collect();
    let one_group = wgpu::Limits {
        max_compute_workgroups_per_dimension: 1,
        ..wgpu::Limits::default()
    };
    let chunks = plan_chunks(&many, &one_group, 64).expect("fits");
    assert_eq!(chunks, vec![(0, 64), (64, 64), (128, 64), (192, 8)]);
    // ... at the verifier's own workgroup size.
    let chunks = plan_chunks(&many, &one_group, 128).expect("fits");
    assert_eq!(chunks, vec![(0, 128), (128, 72)]);
    let chunks = plan_chunks(&many[..70], &one_group, 32).expect("fits");
    assert_eq!(chunks, vec![(0, 32), (32, 32), (64, 6)]);
}
